"""NoiseSpec -> Aer NoiseModel: validation, the channels' Kraus operators against PAPER.md, noisy
Aer layers against a DensityMatrix evolved by hand, shot sampling, Aer GPU errors, backend noise."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix, Kraus, Pauli, SparsePauliOp, SuperOp
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel

from qsnn_qiskit import NoiseSpec, QuantumLayer
from qsnn_qiskit._providers import FAKE_BACKENDS
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.circuits.noise import as_noise_model, fit_to_noise_model, noise_from_backend, restrict_noise_model
from qsnn_qiskit.engines.aer import ShotEstimator

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)
SPEC = NoiseSpec(bit_flip=0.05, depolarizing=0.1, amplitude_damping=0.2, two_qubit_depolarizing=0.06)


# PAPER.md, Section 5.2, written out independently of Aer
def bit_flip(p):
    return Kraus([np.sqrt(1 - p) * I2, np.sqrt(p) * X])


def depolarizing(p):
    return Kraus([np.sqrt(1 - p) * I2] + [np.sqrt(p / 3) * P for P in (X, Y, Z)])


def amplitude_damping(g):
    return Kraus([np.array([[1, 0], [0, np.sqrt(1 - g)]]), np.array([[0, np.sqrt(g)], [0, 0]])])


def depolarizing_2q(p):
    paulis = [np.kron(a, b) for a, b in itertools.product((I2, X, Y, Z), repeat=2)]
    return Kraus([np.sqrt(1 - p) * paulis[0]] + [np.sqrt(p / 15) * P for P in paulis[1:]])


def local(spec):
    return SuperOp(bit_flip(spec.bit_flip)).compose(SuperOp(depolarizing(spec.depolarizing)))


# --- validation and parsing ---------------------------------------------------------------------
@pytest.mark.parametrize("field, value, words", [
    ("bit_flip", -0.1, ["bit_flip", "[0, 1]", "-0.1"]),
    ("amplitude_damping", 1.5, ["amplitude_damping", "[0, 1]", "1.5"]),
    ("depolarizing", 1.2, ["depolarizing", "[0, 1]", "4/3", "1.2"]),
    ("two_qubit_depolarizing", 2.0, ["two_qubit_depolarizing", "16/15", "2.0"]),
    ("bit_flip", float("nan"), ["bit_flip", "nan"]),
])
def test_spec_rejects_out_of_range_values(field, value, words):
    with pytest.raises(ValueError) as err:
        NoiseSpec(**{field: value})
    for word in words:
        assert word in str(err.value)


def test_spec_rejects_bad_types_and_gates():
    with pytest.raises(TypeError, match="depolarizing"):
        NoiseSpec(depolarizing="0.1")
    with pytest.raises(ValueError, match="NoiseSpec.gates: 'cz' is not a standard 1-qubit gate"):
        NoiseSpec(gates=("rz", "cz"))
    with pytest.raises(ValueError, match="two_qubit_gates: 'rz'"):
        NoiseSpec(two_qubit_gates=("rz",))


def test_parse():
    assert NoiseSpec.parse("bit_flip=0.02, depolarizing=0.03,amplitude-damping=0.02") == NoiseSpec(
        bit_flip=0.02, depolarizing=0.03, amplitude_damping=0.02)
    assert NoiseSpec.parse("reference") == NoiseSpec.reference()
    assert NoiseSpec.parse(" paper ") == NoiseSpec.paper()
    with pytest.raises(ValueError, match="keys: bit_flip, depolarizing, amplitude_damping, two_qubit_depolarizing"):
        NoiseSpec.parse("bitflip=0.1")
    with pytest.raises(ValueError, match="not a number"):
        NoiseSpec.parse("bit_flip=abc")
    with pytest.raises(ValueError, match="twice"):
        NoiseSpec.parse("bit_flip=0.1,bit_flip=0.2")
    with pytest.raises(ValueError, match=r"bit_flip must be in \[0, 1\]"):
        NoiseSpec.parse("bit_flip=3")
    assert isinstance(as_noise_model("depolarizing=0.1"), NoiseModel)


# --- channels against PAPER.md's Kraus operators -----------------------------------------------
@pytest.mark.parametrize("field, kraus", [("bit_flip", bit_flip), ("depolarizing", depolarizing),
                                          ("amplitude_damping", amplitude_damping)])
@pytest.mark.parametrize("p", [0.03, 0.4, 1.0])
def test_single_channel_matches_paper_kraus(field, kraus, p):
    error = NoiseSpec(**{field: p}).single_qubit_error()
    assert SuperOp(error) == SuperOp(kraus(p))


def test_composed_channels_in_order_bit_flip_depolarizing_damping():
    expected = local(SPEC).compose(SuperOp(amplitude_damping(SPEC.amplitude_damping)))
    assert SuperOp(SPEC.single_qubit_error()) == expected
    # the order matters for these channels, so the check above can tell orders apart
    assert SuperOp(amplitude_damping(0.2)).compose(local(SPEC)) != expected


def test_two_qubit_error_is_local_channels_then_two_qubit_depolarizing():
    expected = local(SPEC).tensor(local(SPEC)).compose(SuperOp(depolarizing_2q(SPEC.two_qubit_depolarizing)))
    assert SuperOp(SPEC.two_qubit_error()) == expected
    only_2q = NoiseSpec(two_qubit_depolarizing=0.3, bit_flip=0.1, local_after_two_qubit=False)
    assert SuperOp(only_2q.two_qubit_error()) == SuperOp(depolarizing_2q(0.3))


def test_noise_model_follows_the_named_gates():
    model = NoiseSpec(bit_flip=0.1, gates=("ry",), two_qubit_gates=()).to_noise_model()
    assert set(model.noise_instructions) == {"ry"}
    assert {"rx", "ry", "rz", "h", "cx", "cz"} <= set(model.basis_gates)
    assert NoiseSpec().is_noiseless() and not SPEC.is_noiseless()


# --- noisy execution ----------------------------------------------------------------------------
def _by_hand(ansatz, spec, x, w):
    """Z expectations of the bound circuit, evolved gate by gate with PAPER.md's channels."""
    bound = ansatz.circuit.assign_parameters(
        {**dict(zip(ansatz.input_params, x)), **dict(zip(ansatz.weight_params, w))})
    one = local(spec).compose(SuperOp(amplitude_damping(spec.amplitude_damping)))
    two = local(spec).tensor(local(spec)).compose(SuperOp(depolarizing_2q(spec.two_qubit_depolarizing)))
    rho = DensityMatrix.from_label("0" * bound.num_qubits)
    for inst in bound.data:
        qubits = [bound.find_bit(q).index for q in inst.qubits]
        rho = rho.evolve(inst.operation, qubits)
        if inst.operation.name in spec.gates:
            rho = rho.evolve(one, qubits)
        elif inst.operation.name in spec.two_qubit_gates:
            rho = rho.evolve(two, qubits)
    return np.array([rho.expectation_value(o).real for o in ansatz.observables])


def _inputs(ansatz, batch, seed=0):
    return torch.rand(batch, ansatz.n_inputs, generator=torch.Generator().manual_seed(seed),
                      dtype=torch.float64) * 2 * np.pi


def test_aer_noisy_layer_matches_density_matrix_by_hand():
    ansatz = build_ansatz("reupload", 2, 1)
    layer = QuantumLayer(ansatz, engine="aer", noise=SPEC, seed=3)
    x = _inputs(ansatz, 3)
    out = layer(x).detach().numpy()
    w = layer.weight.detach().numpy()
    expected = np.stack([_by_hand(ansatz, SPEC, xi, w) for xi in x.numpy()])
    np.testing.assert_allclose(out, expected, atol=1e-5)
    noiseless = QuantumLayer(ansatz, engine="aer", seed=3)(x).detach().numpy()
    assert np.abs(out - noiseless).max() > 0.05     # the noise is really there


def test_aer_shots_within_four_standard_errors_of_exact():
    ansatz = build_ansatz("reupload", 2, 1)
    shots = 4000
    exact = QuantumLayer(ansatz, engine="aer", noise=SPEC, seed=5)
    sampled = QuantumLayer(ansatz, engine="aer", noise=SPEC, shots=shots, seed=11)
    sampled.load_state_dict(exact.state_dict())
    x = _inputs(ansatz, 2, seed=1)
    e, s = exact(x).detach().numpy(), sampled(x).detach().numpy()
    stderr = np.sqrt((1 - e ** 2) / shots)
    assert np.all(np.abs(s - e) < 4 * stderr), (s, e, stderr)
    assert not np.allclose(s, e, atol=1e-6)         # sampled, not exact


def test_shot_estimator_measures_x_and_y_in_their_bases():
    theta = 1.1
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)      # <X_0> = sin(theta)
    qc.rx(theta, 1)      # <Y_1> = -sin(theta)
    obs = SparsePauliOp(["IX", "YI", "ZZ"], coeffs=[1.0, 0.5, 1.0])
    shots = 20000
    result = ShotEstimator(shots, {"seed_simulator": 7}).run([(qc, [[obs], [Pauli("IX")]])]).result()[0]
    exact = [np.sin(theta) - 0.5 * np.sin(theta) + np.cos(theta) ** 2, np.sin(theta)]
    evs, stds = result.data.evs.ravel(), result.data.stds.ravel()
    assert np.all(np.abs(evs - exact) < 4 * stds) and np.all(stds < 0.02)


def test_exact_noise_needs_density_matrix_and_shots_must_be_positive():
    ansatz = build_ansatz("reupload", 2, 1)
    with pytest.raises(ValueError, match="density_matrix"):
        QuantumLayer(ansatz, engine="aer", noise=SPEC, method="statevector")
    with pytest.raises(ValueError, match=r"shots \(None: exact expectation values\) must be an integer >= 1; got 0"):
        QuantumLayer(ansatz, engine="aer", shots=0)


@pytest.mark.skipif("GPU" in AerSimulator().available_devices(), reason="this Aer has a GPU")
def test_gpu_request_without_gpu_aer_names_the_package():
    with pytest.raises(ValueError, match="qiskit-aer-gpu"):
        QuantumLayer(build_ansatz("reupload", 2, 1), engine="aer", device="GPU")


@pytest.mark.skipif("GPU" not in AerSimulator().available_devices(), reason="Aer has no GPU here")
def test_gpu_matches_cpu():
    ansatz = build_ansatz("reupload", 2, 1)
    cpu = QuantumLayer(ansatz, engine="aer", noise=SPEC, seed=0)
    gpu = QuantumLayer(ansatz, engine="aer", noise=SPEC, device="GPU", seed=0)
    x = _inputs(ansatz, 2)
    np.testing.assert_allclose(gpu(x).detach().numpy(), cpu(x).detach().numpy(), atol=1e-5)


@pytest.fixture(scope="module")
def torino() -> NoiseModel:
    return noise_from_backend("fake_torino")


def test_noise_from_fake_backend(torino):
    with pytest.raises(ValueError, match="fake_torino"):
        noise_from_backend("fake_nowhere")
    assert isinstance(torino, NoiseModel)
    from qiskit_ibm_runtime import fake_provider
    assert all(hasattr(fake_provider, cls) for cls in FAKE_BACKENDS.values())
    assert {"sx", "x", "cz"} <= set(torino.noise_instructions)
    assert {"sx", "x", "cz", "rz"} <= set(torino.basis_gates)
    assert not torino._local_readout_errors and torino._default_readout_error is None
    small = restrict_noise_model(torino, 3)
    assert set(small.noise_qubits) == {0, 1, 2}
    for name, per_qubits in small._local_quantum_errors.items():
        for qubits, error in per_qubits.items():
            assert SuperOp(error) == SuperOp(torino._local_quantum_errors[name][qubits])
    assert sum(map(len, small._local_quantum_errors.values())) == sum(
        1 for per in torino._local_quantum_errors.values() for q in per if max(q) < 3)


def test_backend_noise_aer_vs_torch(torino):
    """Both engines translate the ansatz into the backend's basis so the calibrated errors apply
    (sx, x, cz; none on ry), and agree on the result."""
    ansatz = build_ansatz("reupload", 3, 1)
    fitted = fit_to_noise_model(ansatz.circuit, torino)
    assert {inst.operation.name for inst in fitted.data} <= set(torino.basis_gates)
    aer = QuantumLayer(ansatz, engine="aer", noise=torino, seed=2)
    fast = QuantumLayer(ansatz, engine="torch", noise="fake_torino")
    fast.load_state_dict(aer.state_dict())
    x = _inputs(ansatz, 2)
    noisy = aer(x).detach().numpy()
    np.testing.assert_allclose(fast(x).detach().numpy(), noisy, atol=1e-5)
    clean = QuantumLayer(ansatz, engine="aer", seed=2)(x).detach().numpy()
    assert 1e-4 < np.abs(noisy - clean).max() < 0.2


@pytest.mark.parametrize("name, qubits, blocks", [("reupload", 3, 2), ("hea", 3, 1), ("sqnn", 3, 2)])
def test_torch_and_aer_agree_under_noise(name, qubits, blocks):
    ansatz = build_ansatz(name, qubits, blocks)
    aer = QuantumLayer(ansatz, engine="aer", noise=SPEC, seed=4)
    fast = QuantumLayer(ansatz, engine="torch", noise=SPEC)
    fast.load_state_dict(aer.state_dict())
    x = _inputs(ansatz, 3, seed=2)
    np.testing.assert_allclose(fast(x).detach().numpy(), aer(x).detach().numpy(), atol=1e-5)


def test_aer_noisy_gradient_matches_torch():
    ansatz = build_ansatz("reupload", 2, 1)
    spec = NoiseSpec(bit_flip=0.05, depolarizing=0.1, amplitude_damping=0.2)
    aer = QuantumLayer(ansatz, engine="aer", noise=spec, seed=0)
    fast = QuantumLayer(ansatz, engine="torch", noise=spec)
    fast.load_state_dict(aer.state_dict())
    x = _inputs(ansatz, 2)
    aer(x).sum().backward()
    fast(x).sum().backward()
    np.testing.assert_allclose(aer.weight.grad.numpy(), fast.weight.grad.numpy(), atol=1e-5)
