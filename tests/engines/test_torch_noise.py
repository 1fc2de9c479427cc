"""engine="torch" with noise: product errors split off cz / cx (per-qubit channels, Pauli ones
joining the gate's gather), Pauli errors as gathers, the dense fallback, light cones traced out
as they shrink, and their gradients, against Aer's density_matrix method."""
import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.noise import NoiseModel, amplitude_damping_error, depolarizing_error, pauli_error
from qiskit_aer.primitives import EstimatorV2

import qsnn_qiskit.engines._torch_circuit as torch_circuit
import qsnn_qiskit.engines.torch_engine as torch_engine
from qsnn_qiskit import NoiseSpec, build_ansatz
from qsnn_qiskit.engines.torch_engine import TorchEngine

#: after every rotation, and bit flip, depolarizing on each qubit after cz / cx: a product
PRODUCT = NoiseSpec(bit_flip=0.02, depolarizing=0.03, amplitude_damping=0.02)
PAULI = NoiseSpec(bit_flip=0.02, depolarizing=0.03, amplitude_damping=0.02, two_qubit_depolarizing=0.02)


def _two_qubit_error(correlated: bool):
    """The reference 1-qubit errors, and after cz / cx amplitude damping and bit flip on each qubit,
    followed (``correlated``) by a two-qubit depolarizing error: not a product, not a Pauli channel."""
    local = amplitude_damping_error(0.05).compose(pauli_error([("X", 0.03), ("I", 0.97)]))
    error = local.tensor(local)
    if correlated:
        error = error.compose(depolarizing_error(0.04, 2))
    nm = NoiseModel(basis_gates=["rx", "ry", "rz", "h", "cx", "cz"])
    nm.add_all_qubit_quantum_error(PRODUCT.single_qubit_error(), ["rz", "ry", "rx", "h"])
    nm.add_all_qubit_quantum_error(error, ["cz", "cx"])
    return nm


#: noise -> the program steps it must compile to: a product error splits into the gate and per-qubit
#: channels (Pauli ones join the gate's gather); a Pauli error after a Clifford gate is a signed
#: permutation of Pauli coefficients, so it is a gather too; anything else is a dense stage.
NOISES = {"product": (PRODUCT, False), "pauli": (PAULI, False), "damped": (_two_qubit_error(False), False),
          "correlated": (_two_qubit_error(True), True)}
CASES = [  # (ansatz, qubits, blocks): every ansatz, blocks 1 to 4, up to 10 qubits
    ("reupload", 3, 1), ("reupload", 5, 3), ("reupload", 9, 4), ("reupload", 10, 2),
    ("hea", 2, 4), ("hea", 5, 2), ("hea", 8, 1),
    ("sqnn", 4, 3), ("sqnn", 6, 4), ("sqnn", 10, 1),
]


def _random(a, batch, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, a.n_inputs, generator=g, dtype=torch.float64) * 2 * np.pi
    return x, torch.rand(a.n_weights, generator=g, dtype=torch.float64) * 2 * np.pi


def _aer(noise):
    """Aer's EstimatorV2 with the density_matrix method and a NoiseSpec's or NoiseModel's noise, exact."""
    model = noise.to_noise_model() if isinstance(noise, NoiseSpec) else noise
    return EstimatorV2(options={"backend_options": {"method": "density_matrix", "noise_model": model}})


def _aer_density(a, x: torch.Tensor, w: torch.Tensor, spec) -> np.ndarray:
    """(batch, n_outputs) expectation values of ``a`` under ``spec`` from Aer."""
    pubs = [(_bind(a, a.circuit, x[i], w), [[o] for o in a.observables]) for i in range(len(x))]
    return np.stack([r.data.evs[:, 0] for r in _aer(spec).run(pubs, precision=0.0).result()])


def _bind(a, circuit: QuantumCircuit, x: torch.Tensor, w: torch.Tensor) -> QuantumCircuit:
    values = dict(zip(a.input_params, x.tolist())) | dict(zip(a.weight_params, w.tolist()))
    return circuit.assign_parameters({p: values[p] for p in circuit.parameters})


def _kinds(engine: TorchEngine) -> set[str]:
    return {step[0] for st in engine._stacks for step in st.program._steps}


#: every case under the product noise (the new path); the other noises on the cheaper cases
RUNS = [(c, "product") for c in CASES] + [(c, noise) for c in CASES if c[1] <= 6
                                          for noise in ("pauli", "damped", "correlated")]


@pytest.mark.parametrize("case,noise", RUNS, ids=lambda v: v if isinstance(v, str) else f"{v[0]}-{v[1]}q-{v[2]}b")
def test_noisy_outputs_match_aer_density_matrix(case, noise):
    name, n, b = case
    spec, dense = NOISES[noise]
    a = build_ansatz(name, n, b)
    engine = TorchEngine(a, noise=spec)
    assert ("dense" in _kinds(engine)) == dense
    x, w = _random(a, 2, seed=3 * n + b)
    assert np.abs(engine(x, w).numpy() - _aer_density(a, x, w, spec)).max() < 1e-6


def _window_circuit(circuit: QuantumCircuit, qubits: list[int]) -> QuantumCircuit:
    """The gates of ``circuit`` that act only on ``qubits``, in order, on len(qubits) qubits."""
    where = {q: i for i, q in enumerate(qubits)}
    out = QuantumCircuit(len(qubits))
    for inst in circuit.data:
        on = [circuit.find_bit(q).index for q in inst.qubits]
        if all(q in where for q in on):
            out.append(inst.operation, [where[q] for q in on])
    return out


def test_eighteen_qubit_light_cones_match_aer_on_wider_windows():
    """Each <Z_j> of the 18-qubit, 4-block re-upload circuit (light cone: 7 qubits) against Aer on
    the 9-qubit window j-4..j+4 of the ring, which holds the cone with a qubit to spare each side."""
    a = build_ansatz("reupload", 18, 4)
    engine = TorchEngine(a, noise=PRODUCT)
    assert max(st.program.n for st in engine._stacks) == 7
    x, w = _random(a, 2, seed=18)
    y = engine(x, w).numpy()
    est = _aer(PRODUCT)
    z_centre = SparsePauliOp.from_sparse_list([("Z", [4], 1.0)], 9)
    for j in (0, 1, 8, 16, 17):
        window = _window_circuit(a.circuit, [(j + k) % 18 for k in range(-4, 5)])
        pubs = [(_bind(a, window, x[i], w), z_centre) for i in range(len(x))]
        evs = [r.data.evs for r in est.run(pubs, precision=0.0).result()]
        assert np.abs(y[:, j] - np.array(evs)).max() < 1e-6, j


def _outputs_and_grads(engine: TorchEngine, x: torch.Tensor, w: torch.Tensor):
    xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    y = engine(xg, wg)
    coeff = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
    (y * coeff).sum().backward()
    return y.detach(), xg.grad, wg.grad


@pytest.mark.parametrize("noise", ["product", "damped"])
@pytest.mark.parametrize("name,n,b", [("reupload", 4, 2), ("hea", 3, 2), ("sqnn", 3, 2)])
def test_split_product_errors_equal_the_unsplit_dense_path_with_gradients(name, n, b, noise, monkeypatch):
    a = build_ansatz(name, n, b)
    spec = NOISES[noise][0]
    x, w = _random(a, 3, seed=21)
    fast = TorchEngine(a, noise=spec)
    monkeypatch.setattr(torch_circuit, "_split_product_noise", lambda gate: [gate])
    unsplit = TorchEngine(a, noise=spec)
    assert "dense" not in _kinds(fast) and ("dense" in _kinds(unsplit)) == (noise == "damped")
    for got, want in zip(_outputs_and_grads(fast, x, w), _outputs_and_grads(unsplit, x, w)):
        assert torch.allclose(got, want, atol=1e-10, rtol=0)


@pytest.mark.parametrize("noise", ["product", "damped"])
def test_split_product_errors_gradients_match_finite_differences(noise):
    a = build_ansatz("hea", 3, 2)
    engine = TorchEngine(a, noise=NOISES[noise][0])
    x, w = _random(a, 2, seed=8)
    _, _, grad = _outputs_and_grads(engine, x, w)
    h = 1e-6
    coeff = torch.linspace(-1, 1, 2 * a.n_outputs, dtype=torch.float64).reshape(2, -1)
    for k in range(a.n_weights):
        dw = torch.zeros_like(w)
        dw[k] = h
        fd = ((engine(x, w + dw) - engine(x, w - dw)) * coeff).sum() / (2 * h)
        assert grad[k].item() == pytest.approx(fd.item(), abs=1e-7)


def test_traced_out_cones_equal_one_full_density_matrix_with_gradients(monkeypatch):
    """Nine 7-qubit cones, each shrinking toward its qubit, against one 9-qubit density matrix."""
    a = build_ansatz("reupload", 9, 4)
    cones = TorchEngine(a, noise=PRODUCT)
    assert all(st.program.n == 7 for st in cones._stacks)
    monkeypatch.setattr(torch_engine, "_cones_pay_off", lambda *args: False)
    full = TorchEngine(a, noise=PRODUCT)
    assert [st.program.n for st in full._stacks] == [9]
    x, w = _random(a, 2, seed=13)
    for got, want in zip(_outputs_and_grads(cones, x, w), _outputs_and_grads(full, x, w)):
        assert torch.allclose(got, want, atol=1e-10, rtol=0)
