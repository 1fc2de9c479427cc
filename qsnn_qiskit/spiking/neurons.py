"""The integrate-and-fire neuron of every spiking layer here, on snntorch, stepped through time."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn


class IFNeuron(nn.Module):
    """Integrate-and-fire: no leak, hard reset to 0 after a spike, arctan surrogate gradient.

    v[t] = m[t-1] + x[t];  s[t] = H(v[t] - threshold);  m[t] = v[t] * (1 - s[t])   (m[-1] = 0)
    dS/dv = alpha / (2 * (1 + (pi/2 * alpha * (v - threshold))^2))  in the backward pass.

    This is snntorch's ``Leaky`` with ``beta=1``, ``reset_mechanism="zero"``, ``reset_delay=False``,
    gradients included: it fires on v > threshold (strictly), and its reset ``m = v * (1 - s)``
    passes the surrogate gradient through the spike, so dm[t]/dv[t] = 1 - s[t] - v[t] * dS/dv.

    ``fused=True`` (default) runs the recurrence over T as one autograd function: a forward loop of
    two out-of-graph tensor operations a step, and a backward loop of one ``addcmul`` a step, with
    dS/dv from snntorch's own arctan surrogate (its ``ATan.backward``) in one call over all steps.
    ``fused=False`` steps snntorch's ``Leaky`` through time (about 35 autograd nodes a step); both
    give the same spikes and gradients (tests/spiking/test_neurons.py).

    forward: currents (T, ...) -> spikes (T, ...) in {0, 1}, the currents' dtype. The membrane
    starts at 0 every call.
    """

    def __init__(self, threshold: float = 1.0, alpha: float = 2.0, fused: bool = True) -> None:
        super().__init__()
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
            raise ValueError(f"IFNeuron threshold must be a number > 0 (a neuron at rest, v = 0, must "
                             f"not fire); got {threshold!r}")
        self.threshold = float(threshold)
        self.alpha = alpha
        self.fused = fused
        self.lif = snn.Leaky(beta=1.0, threshold=threshold, spike_grad=surrogate.atan(alpha=alpha),
                             reset_mechanism="zero", reset_delay=False)

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        if self.fused:
            return _FusedIF.apply(currents, self.threshold, self.alpha)
        mem = torch.zeros_like(currents[0])
        spikes = []
        for current in currents:
            spike, mem = self.lif(current, mem)
            spikes.append(spike)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, alpha={self.alpha}, fused={self.fused}"


class _FusedIF(torch.autograd.Function):
    """currents (T, ...) -> spikes (T, ...) of `IFNeuron`, with its backward written out."""

    @staticmethod
    def forward(ctx: Any, currents: torch.Tensor, threshold: float, alpha: float) -> torch.Tensor:
        # two out-of-graph operations a step, on the complement q[t] = 1 - s[t] (no spike):
        # q[t] = (v[t] <= threshold), v[t+1] = x[t+1] + v[t] * q[t], in place on a copy of the
        # currents; the spikes are 1 - q at the end, in one pass. The out= form writes floats in
        # place: a comparison into a bool tensor, masked_fill and where each cost 5-30x an add on CPU
        v, quiet = currents.clone(), torch.empty_like(currents)
        vs, qs = v.unbind(0), quiet.unbind(0)
        for t in range(len(vs)):
            torch.le(vs[t], threshold, out=qs[t])
            if t + 1 < len(vs):
                vs[t + 1].addcmul_(vs[t], qs[t])
        ctx.save_for_backward(v, quiet)
        ctx.threshold, ctx.alpha = threshold, alpha
        return 1.0 - quiet

    @staticmethod
    def backward(ctx: Any, grad_spikes: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        v, quiet = ctx.saved_tensors
        # dS/dv from snntorch's own arctan surrogate: its backward, called as autograd would, with
        # a 0-d upstream gradient of 1 (it broadcasts; a full tensor of ones costs two more passes)
        surrogate_ctx = SimpleNamespace(saved_tensors=(v - ctx.threshold,), alpha=ctx.alpha)
        dsdv = surrogate.ATan.backward(surrogate_ctx, torch.ones((), dtype=v.dtype, device=v.device))[0]
        local = grad_spikes * dsdv                                      # dL/dv[t] through s[t]
        carry = torch.addcmul(quiet, v, dsdv, value=-1.0)               # dm[t]/dv[t] = 1 - s - v dS/dv
        grad_v = torch.empty_like(v)
        grads, locals_, carries = grad_v.unbind(0), local.unbind(0), carry.unbind(0)
        grads[-1].copy_(locals_[-1])
        for t in range(v.shape[0] - 2, -1, -1):
            torch.addcmul(locals_[t], carries[t], grads[t + 1], out=grads[t])
        return grad_v, None, None
