"""The product ansatz (re-upload without entanglers): no two-qubit gate, and each <Z_j> is that of
qubit j's own one-qubit re-upload circuit, on Qiskit's Statevector and on both engines."""
import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qsnn_qiskit import QuantumLayer
from qsnn_qiskit.circuits import build_ansatz


def _rot(phi: float, theta: float, omega: float) -> np.ndarray:
    """Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi) as a 2x2 matrix, written out by hand."""
    rz = lambda a: np.diag([np.exp(-0.5j * a), np.exp(0.5j * a)])
    ry = np.array([[np.cos(theta / 2), -np.sin(theta / 2)], [np.sin(theta / 2), np.cos(theta / 2)]])
    return rz(omega) @ ry @ rz(phi)


def _one_qubit_z(x: np.ndarray, w: np.ndarray) -> float:
    """<Z> of one qubit after blocks x [Rot(x) Rot(w_b)]: x (3,), w (blocks, 3)."""
    state = np.array([1, 0], dtype=complex)
    for wb in w:
        state = _rot(*wb) @ _rot(*x) @ state
    return abs(state[0]) ** 2 - abs(state[1]) ** 2


@pytest.mark.parametrize("n,blocks", [(1, 1), (3, 2), (4, 3)])
def test_shape_is_reupload_without_two_qubit_gates(n, blocks):
    product, reupload = build_ansatz("product", n, blocks), build_ansatz("reupload", n, blocks)
    assert (product.n_inputs, product.n_weights, product.n_outputs) == \
        (reupload.n_inputs, reupload.n_weights, reupload.n_outputs)
    assert all(inst.operation.num_qubits == 1 for inst in product.circuit.data)
    assert product.name == "product" and product.options == {}


@pytest.mark.parametrize("n,blocks", [(2, 1), (3, 2), (4, 3)])
def test_each_output_is_its_own_qubits_one_qubit_circuit(n, blocks):
    a = build_ansatz("product", n, blocks)
    rng = np.random.default_rng(10 * n + blocks)
    x, w = rng.uniform(0, np.pi, a.n_inputs), rng.uniform(0, 2 * np.pi, a.n_weights)
    weights = w.reshape(blocks, n, 3)   # (block, qubit, angle), the order of the weight vector
    expected = np.array([_one_qubit_z(x[3 * j:3 * j + 3], weights[:, j]) for j in range(n)])
    sv = Statevector(a.assign(x, w))
    qiskit = np.array([sv.expectation_value(o).real for o in a.observables])
    np.testing.assert_allclose(qiskit, expected, atol=1e-12)
    for engine in ("torch", "aer"):
        layer = QuantumLayer(a, engine=engine)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
            out = layer(torch.from_numpy(x).unsqueeze(0)).double().numpy()[0]
        np.testing.assert_allclose(out, expected, atol=1e-6, err_msg=engine)


def test_an_output_ignores_the_other_qubits_features():
    a = build_ansatz("product", 3, 2)
    rng = np.random.default_rng(1)
    x, w = rng.uniform(0, np.pi, 9), rng.uniform(0, 2 * np.pi, 18)
    moved = x.copy()
    moved[3:] = rng.uniform(0, np.pi, 6)   # the features of qubits 1 and 2
    z0 = [Statevector(a.assign(v, w)).expectation_value(a.observables[0]).real for v in (x, moved)]
    assert z0[0] == pytest.approx(z0[1], abs=1e-12)


def test_product_takes_no_entangler_option():
    with pytest.raises(ValueError, match="ansatz 'product' has no option entangler; its options: none"):
        build_ansatz("product", 2, 1, entangler="ring")
