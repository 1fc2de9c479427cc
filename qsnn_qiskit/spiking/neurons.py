"""The integrate-and-fire neuron of every spiking layer here, on snntorch, stepped through time."""
from __future__ import annotations

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn


class IFNeuron(nn.Module):
    """Integrate-and-fire: no leak, hard reset to 0 after a spike, arctan surrogate gradient.

    v[t] = v[t-1] * (1 - s[t-1]) + x[t];  s[t] = H(v[t] - threshold)   (v[0] = 0)
    dS/dv = alpha / (2 * (1 + (pi/2 * alpha * (v - threshold))^2))  in the backward pass.

    snntorch's ``Leaky`` with ``beta=1`` and ``reset_mechanism="zero"``, ``reset_delay=False`` is
    exactly this; it fires on v > threshold (strictly).

    forward: currents (T, ...) -> spikes (T, ...) in {0, 1}. The membrane starts at 0 every call.
    """

    def __init__(self, threshold: float = 1.0, alpha: float = 2.0) -> None:
        super().__init__()
        self.threshold = threshold
        self.alpha = alpha
        self.lif = snn.Leaky(beta=1.0, threshold=threshold, spike_grad=surrogate.atan(alpha=alpha),
                             reset_mechanism="zero", reset_delay=False)

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        mem = torch.zeros_like(currents[0])
        spikes = []
        for current in currents:
            spike, mem = self.lif(current, mem)
            spikes.append(spike)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, alpha={self.alpha}"
