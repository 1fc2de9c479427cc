"""Batched parameter-shift gradient: exactness against independent computations, one estimator call."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient

from qsnn_qiskit import QuantumLayer, build_ansatz
from qsnn_qiskit.engines.param_shift import BatchedParamShiftGradient, _shift_plan

CASES = [(name, n, b) for name in ("reupload", "hea", "sqnn") for n, b in ((2, 1), (3, 2))]
BATCH = 3


def _expvals(circuit: QuantumCircuit, observables, values: np.ndarray) -> np.ndarray:
    """<O_k> for every row of ``values`` (rows, n_params) in ``circuit.parameters`` order -> (rows, K)."""
    return np.array([[Statevector(circuit.assign_parameters(row)).expectation_value(o).real
                      for o in observables] for row in values])


def _fd_jacobian(circuit: QuantumCircuit, observables, values: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central finite differences of Statevector expectations: (rows, K, n_params)."""
    jac = np.zeros((len(values), len(observables), values.shape[1]))
    for p in range(values.shape[1]):
        step = np.zeros(values.shape[1])
        step[p] = h
        jac[:, :, p] = (_expvals(circuit, observables, values + step)
                        - _expvals(circuit, observables, values - step)) / (2 * h)
    return jac


def _layer_grads(layer: QuantumLayer, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of sum(c * layer(x)) with respect to x (batch, n_inputs) and the weights."""
    x = x.clone().requires_grad_(True)
    layer.weight.grad = None
    (layer(x) * c).sum().backward()
    return x.grad.detach().clone(), layer.weight.grad.detach().clone()


def _setup(name: str, n: int, blocks: int):
    ansatz = build_ansatz(name, n, blocks)
    layer = QuantumLayer(ansatz, engine="aer", seed=1).double()
    g = torch.Generator().manual_seed(2)
    x = torch.rand(BATCH, ansatz.n_inputs, generator=g, dtype=torch.float64) * 2 * np.pi
    c = torch.randn(BATCH, ansatz.n_outputs, generator=g, dtype=torch.float64)
    return ansatz, layer, x, c


@pytest.mark.parametrize("name,n,blocks", CASES)
def test_layer_backward_matches_statevector_finite_differences(name, n, blocks):
    ansatz, layer, x, c = _setup(name, n, blocks)
    gx, gw = _layer_grads(layer, x, c)
    qc = ansatz.circuit
    ordered = list(ansatz.input_params) + list(ansatz.weight_params)
    position = [list(qc.parameters).index(p) for p in ordered]
    values = np.zeros((BATCH, qc.num_parameters))
    values[:, position] = np.concatenate([x.numpy(), np.tile(layer.weight.detach().numpy(), (BATCH, 1))], 1)
    jac = _fd_jacobian(qc, ansatz.observables, values)[:, :, position]   # (B, K, n_in + n_w)
    expected = np.einsum("bk,bkp->bp", c.numpy(), jac)
    np.testing.assert_allclose(gx.numpy(), expected[:, :ansatz.n_inputs], atol=1e-6)
    np.testing.assert_allclose(gw.numpy(), expected[:, ansatz.n_inputs:].sum(0), atol=1e-6)


@pytest.mark.parametrize("name,n,blocks", CASES)
def test_matches_qiskit_ml_param_shift(name, n, blocks):
    """The EstimatorQNN request pattern (sample x observable), all parameters and weights only."""
    ansatz = build_ansatz(name, n, blocks)
    qc, obs = ansatz.circuit, list(ansatz.observables)
    values = np.random.default_rng(3).uniform(0, 2 * np.pi, (BATCH, qc.num_parameters))
    circuits = [qc] * (BATCH * len(obs))
    observables = [o for o in obs for _ in range(BATCH)]
    params = np.tile(values, (len(obs), 1))
    estimator = AerEstimatorV2()
    for subset in (None, [qc.parameters[ansatz.n_inputs:]] * len(circuits)):
        ours = BatchedParamShiftGradient(estimator).run(circuits, observables, params, subset).result()
        ref = ParamShiftEstimatorGradient(estimator).run(circuits, observables, params, subset).result()
        np.testing.assert_allclose(np.array(ours.gradients), np.array(ref.gradients), atol=1e-9)


@pytest.mark.parametrize("name,n,blocks", CASES)
def test_layer_backward_matches_torch_engine_autograd(name, n, blocks):
    ansatz, layer, x, c = _setup(name, n, blocks)
    exact = QuantumLayer(ansatz, engine="torch").double()
    exact.load_state_dict(layer.state_dict())
    gx, gw = _layer_grads(layer, x, c)
    ex, ew = _layer_grads(exact, x, c)
    torch.testing.assert_close(gx, ex, atol=1e-6, rtol=0)
    torch.testing.assert_close(gw, ew, atol=1e-6, rtol=0)


def test_one_estimator_call_with_one_pub_per_backward():
    ansatz = build_ansatz("reupload", 3, 2)
    layer = QuantumLayer(ansatz, engine="aer", seed=0)
    estimator = layer._engine.estimator
    calls: list[list] = []
    run = estimator.run

    def counting_run(pubs, **kwargs):
        pubs = list(pubs)
        calls.append(pubs)
        return run(pubs, **kwargs)

    estimator.run = counting_run
    batch = 5
    x = torch.rand(batch, ansatz.n_inputs, requires_grad=True)
    y = layer(x)
    assert len(calls) == 1                       # forward
    y.sum().backward()
    assert len(calls) == 2                       # backward: one more call
    (pub,) = calls[1]                            # ... holding one PUB
    circuit, observables, values = pub
    # one angle per gate occurrence (inputs are uploaded twice), less the rz(x) rz(w) pairs joined
    n_angles = circuit.num_parameters
    assert n_angles == 2 * ansatz.n_inputs + ansatz.n_weights - ansatz.n_qubits * 2
    assert np.shape(values) == (batch * 2 * n_angles, n_angles)
    assert [len(row) for row in observables] == [1] * ansatz.n_outputs
    assert x.grad.shape == x.shape and torch.isfinite(x.grad).all()


def _scaled_circuit() -> tuple[QuantumCircuit, list[SparsePauliOp]]:
    """Scaled and offset angles, a parameter in three gates, and a gate that must be translated."""
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.rx(2 * a + 0.3, 0)
    qc.ry(a, 1)
    qc.crx(b, 0, 1)
    qc.rzz(-0.5 * b + a, 0, 1)
    qc.ry(b, 0)
    return qc, [SparsePauliOp("ZI"), SparsePauliOp("XY") + 0.5 * SparsePauliOp("IZ")]


def test_scaled_shared_and_translated_parameters_match_finite_differences():
    qc, obs = _scaled_circuit()
    values = np.random.default_rng(4).uniform(-3, 3, (4, qc.num_parameters))
    circuits = [qc] * 8
    observables = [o for o in obs for _ in range(4)]
    result = BatchedParamShiftGradient(AerEstimatorV2()).run(
        circuits, observables, np.tile(values, (2, 1))).result()
    got = np.array(result.gradients).reshape(2, 4, -1).transpose(1, 0, 2)   # (rows, K, n_params)
    np.testing.assert_allclose(got, _fd_jacobian(qc, obs, values), atol=1e-6)


def test_with_finite_precision_it_stays_the_unbiased_shift_rule():
    """Each expectation gets N(0, precision^2) noise: the gradient is exact on average, and its
    spread is precision / sqrt(2) (a finite difference with step h would have precision / (sqrt(2) h))."""
    qc, obs = _scaled_circuit()
    values = np.array([[0.7, -1.1]])
    exact = _fd_jacobian(qc, obs[:1], values)[0, 0]
    precision, repeats = 0.05, 300
    gradient = BatchedParamShiftGradient(AerEstimatorV2(options={"default_precision": precision}))
    draws = np.array([gradient.run([qc], obs[:1], values).result().gradients[0] for _ in range(repeats)])
    # dE/dtheta_k = sum_j J[j, k] (E_j+ - E_j-) / 2 over gate occurrences j, all draws independent
    spread = precision / np.sqrt(2) * np.sqrt((_shift_plan(qc).jacobian ** 2).sum(0))
    np.testing.assert_array_less(np.abs(draws.mean(0) - exact), 5 * spread / np.sqrt(repeats))
    np.testing.assert_allclose(draws.std(0), spread, rtol=0.2)


def test_non_affine_angle_is_refused_by_name():
    t = Parameter("t")
    qc = QuantumCircuit(1)
    qc.rx(t * t, 0)
    with pytest.raises(ValueError, match="not affine"):
        BatchedParamShiftGradient(AerEstimatorV2()).run([qc], [SparsePauliOp("Z")], [[0.4]]).result()
