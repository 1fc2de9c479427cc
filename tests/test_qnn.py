"""The quantum layer on Aer: outputs, gradients, state, initialisation and input checks."""
import math

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qsnn_qiskit import QuantumLayer, build_ansatz
from qsnn_qiskit.circuits import INIT_SCHEMES, init_weights


def _statevector_outputs(ansatz, x, w):
    sv = Statevector(ansatz.assign(x, w))
    return np.array([sv.expectation_value(o).real for o in ansatz.observables])


@pytest.mark.parametrize("name", ["reupload", "hea", "sqnn"])
def test_aer_outputs_match_statevector(name):
    a = build_ansatz(name, 3, 2)
    layer = QuantumLayer(a, engine="aer", seed=3)
    x = torch.rand(4, a.n_inputs, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3
    y = layer(x).detach().numpy()
    w = layer.weight.detach().double().numpy()
    for i in range(4):
        assert np.allclose(y[i], _statevector_outputs(a, x[i].numpy(), w), atol=1e-6)


def test_torch_connector_gradients_match_finite_differences():
    a = build_ansatz("reupload", 2, 1)
    layer = QuantumLayer(a, engine="aer", seed=5).double()
    x = torch.rand(2, a.n_inputs, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x.requires_grad_(True)
    coeff = torch.tensor([[0.7, -1.3], [0.4, 0.9]], dtype=torch.float64)   # a loss mixing all outputs
    (layer(x) * coeff).sum().backward()

    w0 = layer.weight.detach().numpy().copy()
    xs = x.detach().numpy()

    def loss(xv, wv):
        return sum(coeff[i].numpy() @ _statevector_outputs(a, xv[i], wv) for i in range(2))

    h = 1e-5
    for k in range(a.n_weights):
        dw = np.zeros_like(w0); dw[k] = h
        fd = (loss(xs, w0 + dw) - loss(xs, w0 - dw)) / (2 * h)
        assert layer.weight.grad[k].item() == pytest.approx(fd, abs=1e-6)
    for i in range(2):
        for k in range(a.n_inputs):
            dx = np.zeros_like(xs); dx[i, k] = h
            fd = (loss(xs + dx, w0) - loss(xs - dx, w0)) / (2 * h)
            assert x.grad[i, k].item() == pytest.approx(fd, abs=1e-6)


def test_state_dict_holds_only_the_weight_and_round_trips():
    a = build_ansatz("reupload", 2, 2)
    first, second = QuantumLayer(a, engine="aer", seed=1), QuantumLayer(a, engine="aer", seed=2)
    assert list(first.state_dict()) == ["weight"]
    assert first.weight.shape == (a.n_weights,)
    x = torch.rand(3, a.n_inputs)
    assert not torch.allclose(first(x), second(x))
    second.load_state_dict(first.state_dict())
    assert torch.allclose(first(x), second(x), atol=1e-6)


@pytest.mark.parametrize("scheme,low,high", [("normal_2pi", 0, 2 * math.pi), ("uniform_2pi", 0, 2 * math.pi),
                                             ("uniform_1", 0, 1), ("normal_1", 0, 1)])
def test_init_schemes_are_seeded_and_in_range(scheme, low, high):
    w = init_weights(4000, scheme, seed=7)
    assert torch.equal(w, init_weights(4000, scheme, seed=7))
    assert not torch.equal(w, init_weights(4000, scheme, seed=8))
    assert w.min() >= low and w.max() <= high
    if scheme == "uniform_2pi":
        assert w.mean().item() == pytest.approx(math.pi, abs=0.1)
    if scheme == "normal_2pi":   # half-normal: mean sqrt(2/pi) (truncation at 2pi is negligible)
        assert w.mean().item() == pytest.approx(math.sqrt(2 / math.pi), abs=0.05)
    assert set(INIT_SCHEMES) == {"normal_2pi", "uniform_2pi", "uniform_1", "normal_1"}


def test_bad_inputs_are_refused():
    a = build_ansatz("reupload", 2, 1)
    layer = QuantumLayer(a, engine="aer")
    with pytest.raises(ValueError, match="length 6; got length 5"):
        layer(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"shape \(batch, 6\)"):
        layer(torch.zeros(6))
    with pytest.raises(ValueError, match="NaN or Inf"):
        layer(torch.tensor([[0.0, 1.0, float("nan"), 0.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="unknown engine 'qpu'; known: .*aer"):
        QuantumLayer(a, engine="qpu")
    with pytest.raises(ValueError, match="unknown init 'zeros'; known: normal_2pi"):
        QuantumLayer(a, engine="aer", init="zeros")
    with pytest.raises(ValueError, match="engine 'aer' has no option target"):
        QuantumLayer(a, engine="aer", target="x")
