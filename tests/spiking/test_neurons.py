"""IF neuron: dynamics and the arctan surrogate gradient against their formulas."""
import math

import torch

from qsnn_qiskit.spiking import IFNeuron


def _reference_if(currents, threshold=1.0):
    v = torch.zeros_like(currents[0])
    out = []
    for x in currents:
        v = v + x
        s = (v > threshold).to(currents.dtype)
        v = v * (1 - s)
        out.append(s)
    return torch.stack(out)


def test_dynamics_integrate_without_leak_and_reset_to_zero():
    currents = torch.tensor([[0.4], [0.4], [0.4], [0.0], [2.0], [0.6], [0.5]])
    spikes = IFNeuron()(currents)
    # 0.4, 0.8, 1.2 -> spike, reset; 0, 2.0 -> spike, reset; 0.6, 1.1 -> spike
    assert spikes.flatten().tolist() == [0, 0, 1, 0, 1, 0, 1]
    random = torch.rand(20, 3, 5, generator=torch.Generator().manual_seed(1)) * 0.9
    assert torch.equal(IFNeuron()(random), _reference_if(random))


def test_membrane_starts_at_zero_every_call():
    neuron = IFNeuron()
    first = neuron(torch.full((1, 2), 0.9))
    second = neuron(torch.full((1, 2), 0.9))
    assert first.sum() == 0 and second.sum() == 0


def test_surrogate_gradient_matches_arctan_formula():
    alpha = 2.0
    x = torch.linspace(-1.5, 2.5, 41, requires_grad=True)
    spikes = IFNeuron(threshold=1.0, alpha=alpha)(x.unsqueeze(0))  # one step: v = x
    spikes.sum().backward()
    u = x.detach() - 1.0
    expected = alpha / (2 * (1 + (math.pi / 2 * alpha * u) ** 2))
    assert torch.allclose(x.grad, expected, atol=1e-6)
