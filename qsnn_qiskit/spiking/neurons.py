"""The integrate-and-fire neuron of every spiking layer here, on snntorch, stepped through time."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn
from torch.nn import functional as F


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
    starts at 0 every call. `max_pooled` gives the spikes pooled as ``nn.MaxPool2d(2, 2)`` would.
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

    def max_pooled(self, currents: torch.Tensor) -> torch.Tensor:
        """The spikes of ``forward``, max-pooled over 2x2 windows of the last two axes (stride 2, an
        odd last row or column dropped, as ``nn.MaxPool2d(2, 2)``), gradients included.

        currents (T, batch, C, H, W) -> pooled spikes (T, batch, C, H // 2, W // 2) in {0, 1}.
        Fused, the neurons step in window order, so the pool is a product of four contiguous
        blocks and the full-size spikes are never stored; otherwise ``F.max_pool2d`` of the spikes.
        """
        if currents.dim() != 5 or min(currents.shape[3:]) < 2:
            raise ValueError(f"max_pooled needs currents (T, batch, C, H, W) with H, W >= 2; got "
                             f"{tuple(currents.shape)}")
        if self.fused:
            return _FusedIFMaxPool.apply(currents, self.threshold, self.alpha)
        spikes = self(currents)
        return F.max_pool2d(spikes.flatten(0, 1), 2, 2).unflatten(0, spikes.shape[:2])

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, alpha={self.alpha}, fused={self.fused}"


def _integrate(v: torch.Tensor, threshold: float) -> torch.Tensor:
    """Runs the recurrence in place on v (T, ...), the currents on entry and v[t] on return; gives
    the no-spike complement q[t] = 1 - s[t] = (v[t] <= threshold), shape (T, ...)."""
    # two operations a step: q[t] = (v[t] <= threshold), v[t+1] = x[t+1] + v[t] * q[t]. The out=
    # form writes floats in place: a comparison into a bool tensor, masked_fill and where each
    # cost 5-30x an add on CPU. The threshold is a 0-d tensor of v's dtype: a Python number is
    # wrapped and converted at every call, which nearly doubles a step's comparison on CPU
    quiet, limit = torch.empty_like(v), torch.full((), threshold, dtype=v.dtype, device=v.device)
    vs, qs = v.unbind(0), quiet.unbind(0)
    for t in range(len(vs)):
        torch.le(vs[t], limit, out=qs[t])
        if t + 1 < len(vs):
            vs[t + 1].addcmul_(vs[t], qs[t])
    return quiet


def _integrate_backward(v: torch.Tensor, quiet: torch.Tensor, grad_spikes: torch.Tensor, threshold: float,
                        alpha: float) -> torch.Tensor:
    """dL/dx (T, ...) from dL/ds (T, ...), through the recurrence `_integrate` ran."""
    # dS/dv from snntorch's own arctan surrogate: its backward, called as autograd would, with
    # a 0-d upstream gradient of 1 (it broadcasts; a full tensor of ones costs two more passes)
    surrogate_ctx = SimpleNamespace(saved_tensors=(v - threshold,), alpha=alpha)
    dsdv = surrogate.ATan.backward(surrogate_ctx, torch.ones((), dtype=v.dtype, device=v.device))[0]
    local = grad_spikes * dsdv                                      # dL/dv[t] through s[t]
    carry = torch.addcmul(quiet, v, dsdv, value=-1.0)               # dm[t]/dv[t] = 1 - s - v dS/dv
    grad_v = torch.empty_like(v)
    grads, locals_, carries = grad_v.unbind(0), local.unbind(0), carry.unbind(0)
    grads[-1].copy_(locals_[-1])
    for t in range(v.shape[0] - 2, -1, -1):
        torch.addcmul(locals_[t], carries[t], grads[t + 1], out=grads[t])
    return grad_v


class _FusedIF(torch.autograd.Function):
    """currents (T, ...) -> spikes (T, ...) of `IFNeuron`, with its backward written out."""

    @staticmethod
    def forward(ctx: Any, currents: torch.Tensor, threshold: float, alpha: float) -> torch.Tensor:
        v = currents.clone()
        quiet = _integrate(v, threshold)
        ctx.save_for_backward(v, quiet)
        ctx.threshold, ctx.alpha = threshold, alpha
        return 1.0 - quiet

    @staticmethod
    def backward(ctx: Any, grad_spikes: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        v, quiet = ctx.saved_tensors
        return _integrate_backward(v, quiet, grad_spikes, ctx.threshold, ctx.alpha), None, None


def _windows(x: torch.Tensor) -> torch.Tensor:
    """(T, N, C, H, W) -> a view (T, 2, 2, N, C, H // 2, W // 2) of its even part: [:, i, j] holds
    position (i, j) of every 2x2 window."""
    h, w = x.shape[3] // 2, x.shape[4] // 2
    blocks = x[..., :2 * h, :2 * w].unflatten(4, (w, 2)).unflatten(3, (h, 2))    # T, N, C, h, 2, w, 2
    return blocks.permute(0, 4, 6, 1, 2, 3, 5)


class _FusedIFMaxPool(torch.autograd.Function):
    """currents (T, N, C, H, W) -> the 2x2 max pool of `IFNeuron`'s spikes, (T, N, C, H // 2, W // 2).

    The neurons step on a window-ordered copy of the currents, (T, 4, N, C, H // 2, W // 2), the
    copy the recurrence works on anyway. Spikes are 0 or 1, so a window's max is 1 - the product of
    its four no-spike complements. ``MaxPool2d`` sends a window's gradient to its first maximum in
    row-major order, position 0 when no neuron fired; the backward routes it the same way. Neurons
    of an odd last row or column feed nothing: their gradient is 0.
    """

    @staticmethod
    def forward(ctx: Any, currents: torch.Tensor, threshold: float, alpha: float) -> torch.Tensor:
        v = _windows(currents).clone(memory_format=torch.contiguous_format)
        quiet = _integrate(v, threshold)
        q = quiet.flatten(1, 2).unbind(1)
        all_quiet = q[0] * q[1]
        all_quiet.mul_(q[2]).mul_(q[3])
        ctx.save_for_backward(v, quiet)
        ctx.threshold, ctx.alpha, ctx.shape = threshold, alpha, currents.shape
        return 1.0 - all_quiet

    @staticmethod
    def backward(ctx: Any, grad_pooled: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        v, quiet = ctx.saved_tensors
        q = quiet.flatten(1, 2).unbind(1)
        grad_spikes = torch.empty_like(quiet)
        g = grad_spikes.flatten(1, 2).unbind(1)
        # rest[k]: the gradient of windows where positions 0..k did not fire; position k takes what
        # reaches it and fires: rest[k-1] - rest[k]; position 0 also takes the silent windows' share
        rest = grad_pooled * q[0]
        torch.sub(grad_pooled, rest, out=g[0])
        for k in (1, 2, 3):
            rest_k = rest * q[k]
            torch.sub(rest, rest_k, out=g[k])
            rest = rest_k
        g[0].add_(rest)
        grad_v = _integrate_backward(v, quiet, grad_spikes, ctx.threshold, ctx.alpha)
        odd = ctx.shape[3] % 2 or ctx.shape[4] % 2
        grad = (torch.zeros if odd else torch.empty)(ctx.shape, dtype=v.dtype, device=v.device)
        _windows(grad).copy_(grad_v)
        return grad, None, None
