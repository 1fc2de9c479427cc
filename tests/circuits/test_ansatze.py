"""Ansätze: structure, parameter counts, and expectation values against Qiskit's Statevector."""
import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator, Statevector

from qsnn_qiskit.circuits import ANSATZE, build_ansatz

CASES = [("reupload", 1, 1), ("reupload", 3, 2), ("hea", 2, 1), ("hea", 4, 2), ("sqnn", 1, 2), ("sqnn", 3, 3)]


def _rot(phi, theta, omega):
    rz = lambda a: np.diag([np.exp(-0.5j * a), np.exp(0.5j * a)])
    ry = np.array([[np.cos(theta / 2), -np.sin(theta / 2)], [np.sin(theta / 2), np.cos(theta / 2)]])
    return rz(omega) @ ry @ rz(phi)


@pytest.mark.parametrize("name,n,blocks", CASES)
def test_shapes_and_observables(name, n, blocks):
    a = build_ansatz(name, n, blocks)
    assert a.n_qubits == n and a.n_outputs == n
    expected_weights = {"reupload": 3 * n * blocks, "hea": 3 * n * (blocks + 1), "sqnn": n * blocks}[name]
    expected_inputs = {"reupload": 3 * n, "hea": 3 * n, "sqnn": n}[name]
    assert (a.n_weights, a.n_inputs) == (expected_weights, expected_inputs)
    assert set(a.circuit.parameters) == set(a.input_params) | set(a.weight_params)
    for j, obs in enumerate(a.observables):
        assert obs.paulis[0].to_label() == "".join("Z" if q == j else "I" for q in reversed(range(n)))


def test_reupload_one_qubit_matches_hand_computed_rotations():
    rng = np.random.default_rng(0)
    x, w = rng.uniform(-3, 3, 3), rng.uniform(-3, 3, 6)
    a = build_ansatz("reupload", 1, 2)
    state = np.array([1, 0], dtype=complex)
    for b in range(2):
        state = _rot(*w[3 * b:3 * b + 3]) @ _rot(*x) @ state
    z = abs(state[0]) ** 2 - abs(state[1]) ** 2
    sv = Statevector(a.assign(x, w))
    assert sv.expectation_value(a.observables[0]).real == pytest.approx(z, abs=1e-12)


def test_reupload_entanglers_ring_and_reference_chain():
    ring = build_ansatz("reupload", 4, 2)
    chain = build_ansatz("reupload", 4, 2, entangler="chain", between_blocks_only=True)
    assert ring.circuit.count_ops()["cz"] == 8          # 4 ring edges x 2 blocks
    assert chain.circuit.count_ops()["cz"] == 3         # 3 chain edges, between the 2 blocks only
    two = build_ansatz("reupload", 2, 1)
    assert two.circuit.count_ops()["cz"] == 1           # a 2-qubit "ring" is one edge, not a cancelling pair


@pytest.mark.parametrize("name,n,blocks", CASES)
def test_expectations_match_an_independent_unitary_product(name, n, blocks):
    """Bound circuit through Statevector vs. the same gates multiplied as matrices by Operator."""
    a = build_ansatz(name, n, blocks)
    rng = np.random.default_rng(n * 10 + blocks)
    x, w = rng.uniform(-np.pi, np.pi, a.n_inputs), rng.uniform(0, 2 * np.pi, a.n_weights)
    bound = a.assign(x, w)
    psi = Operator(bound).data[:, 0]
    probs = np.abs(psi) ** 2
    for j, obs in enumerate(a.observables):
        signs = np.array([1 - 2 * ((k >> j) & 1) for k in range(2 ** n)])
        assert Statevector(bound).expectation_value(obs).real == pytest.approx(signs @ probs, abs=1e-10)


def test_weights_change_the_outputs_of_every_ansatz():
    for name in ANSATZE:
        a = build_ansatz(name, 3, 2)
        x = np.full(a.n_inputs, 0.3)
        outs = [np.array([Statevector(a.assign(x, np.full(a.n_weights, v))).expectation_value(o).real
                          for o in a.observables]) for v in (0.1, 1.3)]
        assert np.abs(outs[0] - outs[1]).max() > 1e-3, name


def test_bad_requests_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match=r"unknown ansatz 'foo'; known: hea, product, reupload, sqnn"):
        build_ansatz("foo", 2, 1)
    with pytest.raises(ValueError, match="n_qubits of ansatz 'reupload' must be an integer >= 1; got 0"):
        build_ansatz("reupload", 0, 1)
    with pytest.raises(ValueError, match="blocks of ansatz 'hea' must be an integer >= 1; got 0"):
        build_ansatz("hea", 2, 0)
    with pytest.raises(TypeError, match="n_qubits of ansatz 'sqnn' must be an integer"):
        build_ansatz("sqnn", 2.5, 1)
    with pytest.raises(ValueError, match="no option depth"):
        build_ansatz("reupload", 2, 1, depth=3)
    with pytest.raises(ValueError, match="unknown entangler 'star'"):
        build_ansatz("reupload", 2, 1, entangler="star")
    a = build_ansatz("reupload", 2, 1)
    with pytest.raises(ValueError, match="feature vectors of length 6; got length 5"):
        a.assign(np.zeros(5), np.zeros(a.n_weights))
    with pytest.raises(ValueError, match="has 6 weights; got 4"):
        a.assign(np.zeros(6), np.zeros(4))


def test_assign_binds_every_parameter():
    a = build_ansatz("hea", 2, 1)
    bound = a.assign(np.zeros(a.n_inputs), np.zeros(a.n_weights))
    assert isinstance(bound, QuantumCircuit) and not bound.parameters
