"""engine="torch" against Qiskit's Statevector / DensityMatrix, Aer's EstimatorV2 and the Aer engine."""
import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import DensityMatrix, Kraus, SparsePauliOp, Statevector
from qiskit_aer.noise import NoiseModel, ReadoutError, amplitude_damping_error, depolarizing_error, pauli_error
from qiskit_aer.primitives import EstimatorV2

from qsnn_qiskit import QuantumLayer, build_ansatz
from qsnn_qiskit.circuits import Ansatz, z_observables
from qsnn_qiskit.circuits.noise import fit_to_noise_model
from qsnn_qiskit.engines import engine_class, make_engine
from qsnn_qiskit.engines.torch_engine import TorchEngine

CASES = [  # (ansatz, qubits, blocks, options): every ansatz, 1..10 qubits, 1..4 blocks
    ("reupload", 1, 1, {}), ("reupload", 2, 3, {}), ("reupload", 4, 2, {}), ("reupload", 9, 2, {}),
    ("reupload", 10, 4, {}), ("reupload", 6, 2, {"entangler": "chain", "between_blocks_only": True}),
    ("reupload", 3, 4, {"entangler": "chain"}),
    ("hea", 1, 2, {}), ("hea", 3, 1, {}), ("hea", 7, 3, {}), ("hea", 10, 2, {"entangler": "chain"}),
    ("sqnn", 1, 1, {}), ("sqnn", 2, 4, {}), ("sqnn", 5, 3, {}), ("sqnn", 8, 2, {"entangler": "chain"}),
]


def _ids(case):
    name, n, b, opts = case
    return f"{name}-{n}q-{b}b" + "".join(f"-{v}" for v in opts.values())


def _random(a, batch, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, a.n_inputs, generator=g, dtype=dtype) * 2 * np.pi
    w = torch.rand(a.n_weights, generator=g, dtype=dtype) * 2 * np.pi
    return x, w


def _statevector(a, x, w):
    sv = Statevector(a.assign(x, w))
    return np.array([sv.expectation_value(o).real for o in a.observables])


def _density(a, x, w, noise_model):
    """Gate by gate: each gate, then the Kraus channel of the noise model's error on it. The circuit
    is first written in the noise model's basis gates, as the engines run it."""
    fitted = fit_to_noise_model(a.circuit, noise_model)
    qc = fitted.assign_parameters(dict(zip(a.input_params, x)) | dict(zip(a.weight_params, w)))
    rho = DensityMatrix.from_label("0" * qc.num_qubits)
    for inst in qc.data:
        qubits = tuple(qc.find_bit(q).index for q in inst.qubits)
        rho = rho.evolve(inst.operation, list(qubits))
        name = inst.operation.name
        error = noise_model._local_quantum_errors.get(name, {}).get(
            qubits, noise_model._default_quantum_errors.get(name))
        if error is not None:
            rho = rho.evolve(Kraus(error), list(qubits))
    return np.array([rho.expectation_value(o).real for o in a.observables])


def _aer_density(a, x, w, noise_model):
    """Aer's EstimatorV2, density_matrix method, exact (precision 0)."""
    est = EstimatorV2(options={"backend_options": {"method": "density_matrix", "noise_model": noise_model}})
    columns = list(a.input_params) + list(a.weight_params)
    order = [columns.index(p) for p in a.circuit.parameters]
    values = np.concatenate([x, np.broadcast_to(w, (len(x), len(w)))], 1)[:, order]
    result = est.run([(a.circuit, [[o] for o in a.observables], values)], precision=0.0).result()
    return result[0].data.evs.T


def _noise_model():
    """Bit flip, depolarizing and amplitude damping after 1-qubit gates; a product error on cz,
    a 2-qubit depolarizing error on cx; a qubit-specific error overriding the all-qubit one."""
    nm = NoiseModel()
    one = (pauli_error([("X", 0.02), ("I", 0.98)]).compose(depolarizing_error(0.03, 1))
           .compose(amplitude_damping_error(0.02)))
    nm.add_all_qubit_quantum_error(one, ["rz", "ry", "rx", "h"])
    nm.add_all_qubit_quantum_error(amplitude_damping_error(0.1).tensor(pauli_error([("X", 0.1), ("I", 0.9)])),
                                   ["cz"])
    nm.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    nm.add_quantum_error(amplitude_damping_error(0.3), ["ry"], [1], warnings=False)
    return nm


def _custom_ansatz():
    """Every supported kind of gate and angle, with non-diagonal observables."""
    x, w = ParameterVector("x", 2), ParameterVector("w", 4)
    qc = QuantumCircuit(3)
    qc.h(0); qc.x(1); qc.y(2); qc.s(0); qc.sdg(1); qc.t(2); qc.sx(0); qc.z(1)
    qc.rx(2 * x[0] + np.pi, 0); qc.ry(x[1] - 1, 1); qc.rz(0.3, 2); qc.p(w[0], 2); qc.u(w[1], x[0], 0.5, 1)
    qc.cx(0, 1); qc.cy(1, 2); qc.swap(0, 2); qc.ch(2, 1); qc.barrier()
    qc.rz(w[2], 0); qc.rz(-w[3] / 2, 0); qc.rx(w[2], 1); qc.cz(1, 0)
    obs = (SparsePauliOp.from_list([("IIX", 1.0)]), SparsePauliOp.from_list([("YZI", 0.7), ("ZZZ", -0.2)]),
           SparsePauliOp.from_list([("XYI", 0.5), ("IZX", 0.3), ("III", 0.1)]))
    return Ansatz("custom", qc, x, w, obs)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_outputs_match_statevector_in_both_precisions(case):
    name, n, b, opts = case
    a = build_ansatz(name, n, b, **opts)
    x, w = _random(a, 3, seed=n + 10 * b)
    expected = np.stack([_statevector(a, x[i].numpy(), w.numpy()) for i in range(3)])
    y64 = TorchEngine(a)(x, w)
    y32 = TorchEngine(a)(x.float(), w.float())                    # double arithmetic, float32 out
    single = TorchEngine(a, precision="single")(x.float(), w.float())
    assert y64.dtype == torch.float64 and y32.dtype == torch.float32 and single.dtype == torch.float32
    assert y64.shape == (3, a.n_outputs)
    assert np.abs(y64.numpy() - expected).max() < 1e-10
    assert np.abs(y32.numpy() - expected).max() < 1e-6
    assert np.abs(single.numpy() - expected).max() < 5e-6


def test_every_supported_gate_and_pauli_observables_match_qiskit():
    a = _custom_ansatz()
    x, w = _random(a, 2, seed=4)
    y = TorchEngine(a)(x, w).numpy()
    expected = np.stack([_statevector(a, x[i].numpy(), w.numpy()) for i in range(2)])
    assert np.abs(y - expected).max() < 1e-10
    nm = _noise_model()
    y = TorchEngine(a, noise=nm)(x, w).numpy()
    expected = np.stack([_density(a, x[i].numpy(), w.numpy(), nm) for i in range(2)])
    assert np.abs(y - expected).max() < 1e-10


@pytest.mark.parametrize("last", ["monomial", "local"])
def test_density_programs_read_through_their_last_stage(last):
    """A noisy program's last stage is not applied to the state: a last cx is folded into the
    coefficients read, a last layer of single-qubit gates into per-sample weights (qubit 1 has no
    gate in it; terms on 1 to 3 qubits and the identity)."""
    a = _custom_ansatz()
    qc = a.circuit.copy()
    if last == "local":
        qc.ry(a.weight_params[0], 0); qc.h(2); qc.rx(a.input_params[1], 2)
    else:
        qc.cx(0, 2)                     # its depolarizing error is a Pauli channel: a gather too
    a = Ansatz("custom", qc, a.input_params, a.weight_params, a.observables)
    x, w = _random(a, 3, seed=6)
    nm = _noise_model()
    engine = TorchEngine(a, noise=nm)
    (stack,) = engine._stacks
    program = stack.program
    assert program.stages[-1].kind == last
    applied = [st for i, st in enumerate(program.stages) if i > 0 or st.kind != "local"]
    assert len(program._steps) == len(applied) - 1
    assert (program._last is not None) == (last == "local")
    expected = np.stack([_density(a, x[i].numpy(), w.numpy(), nm) for i in range(3)])
    assert np.abs(engine(x, w).numpy() - expected).max() < 1e-10


@pytest.mark.parametrize("case", [("reupload", 4, 2, {}), ("hea", 3, 1, {}), ("sqnn", 5, 3, {}),
                                  ("reupload", 10, 4, {"entangler": "chain", "between_blocks_only": True})],
                         ids=_ids)
def test_state_dict_moves_between_torch_and_aer(case):
    name, n, b, opts = case
    a = build_ansatz(name, n, b, **opts)
    trained = QuantumLayer(a, engine="torch", seed=1)
    x = torch.rand(4, a.n_inputs, generator=torch.Generator().manual_seed(0)) * 3
    opt = torch.optim.Adam(trained.parameters(), lr=0.1)
    trained(x).pow(2).sum().backward()
    opt.step()
    aer = QuantumLayer(a, engine="aer", seed=2)
    aer.load_state_dict(trained.state_dict())
    assert torch.allclose(trained(x), aer(x), atol=1e-6, rtol=0)
    back = QuantumLayer(a, engine="torch", seed=3)
    back.load_state_dict(aer.state_dict())
    assert torch.equal(back(x), trained(x))


@pytest.mark.parametrize("name,n,b", [("reupload", 2, 2), ("hea", 3, 1), ("sqnn", 3, 2)])
def test_gradients_match_aer_parameter_shift(name, n, b):
    a = build_ansatz(name, n, b)
    grads = {}
    for engine in ("torch", "aer"):
        layer = QuantumLayer(a, engine=engine, seed=7).double()
        x = torch.rand(3, a.n_inputs, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3
        x.requires_grad_(True)
        coeff = torch.linspace(-1, 1, 3 * a.n_outputs, dtype=torch.float64).reshape(3, -1)
        (layer(x) * coeff).sum().backward()
        grads[engine] = (x.grad.numpy(), layer.weight.grad.numpy())
    assert np.abs(grads["torch"][0] - grads["aer"][0]).max() < 1e-6
    assert np.abs(grads["torch"][1] - grads["aer"][1]).max() < 1e-6
    assert np.abs(grads["torch"][1]).max() > 1e-3          # the comparison is not between zeros


@pytest.mark.parametrize("name,n,b", [("reupload", 3, 2), ("hea", 3, 2), ("sqnn", 3, 2), ("reupload", 2, 1)])
def test_noisy_outputs_match_density_matrix_and_aer(name, n, b):
    a = build_ansatz(name, n, b)
    nm = _noise_model()
    engine = TorchEngine(a, noise=nm)
    x, w = _random(a, 2, seed=5)
    y = engine(x, w).numpy()
    by_gate = np.stack([_density(a, x[i].numpy(), w.numpy(), nm) for i in range(2)])
    aer = _aer_density(a, x.numpy(), w.numpy(), nm)
    assert np.abs(y - by_gate).max() < 1e-10
    assert np.abs(y - aer).max() < 1e-5
    single = TorchEngine(a, noise=nm, precision="single")
    assert np.abs(single(x.float(), w.float()).numpy() - by_gate).max() < 1e-5
    assert np.abs(y - TorchEngine(a)(x, w).numpy()).max() > 1e-3     # the noise does something


@pytest.mark.parametrize("name", ["reupload", "hea", "sqnn"])
def test_noisy_layer_state_dict_moves_to_aer_density_matrix(name):
    from qsnn_qiskit import NoiseSpec
    a = build_ansatz(name, 3, 2)
    spec = NoiseSpec(bit_flip=0.02, depolarizing=0.03, amplitude_damping=0.02, two_qubit_depolarizing=0.01)
    fast = QuantumLayer(a, engine="torch", noise=spec, seed=4)
    aer = QuantumLayer(a, engine="aer", noise=spec, method="density_matrix", seed=5)
    aer.load_state_dict(fast.state_dict())
    x = torch.rand(3, a.n_inputs, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 3
    assert torch.allclose(fast(x), aer(x), atol=1e-5, rtol=0)
    assert not torch.allclose(fast(x), QuantumLayer(a, engine="torch", seed=4)(x), atol=1e-3)


def test_noisy_light_cones_match_aer_on_nine_qubits():
    a = build_ansatz("reupload", 9, 2)
    nm = _noise_model()
    engine = TorchEngine(a, noise=nm)
    # one 3-qubit density matrix per <Z_j>; those alike (away from qubit 1's own error) stacked
    assert sorted(i for st in engine._stacks for m in st.members_of for i in m) == list(range(9))
    assert all(st.program.n == 3 for st in engine._stacks)
    assert max(len(st.members_of) for st in engine._stacks) >= 5
    x, w = _random(a, 2, seed=6)
    assert np.abs(engine(x, w).numpy() - _aer_density(a, x.numpy(), w.numpy(), nm)).max() < 1e-5


@pytest.mark.parametrize("noisy", [False, True], ids=["statevector", "density"])
def test_stacked_light_cones_equal_one_full_simulation_with_gradients(noisy, monkeypatch):
    import qsnn_qiskit.engines.torch_engine as torch_engine
    a = build_ansatz("reupload", 7, 2)
    noise = _noise_model() if noisy else None
    monkeypatch.setattr(torch_engine, "_cones_pay_off", lambda *args: True)
    cones = TorchEngine(a, noise=noise)
    assert all(st.program.n == 3 for st in cones._stacks)
    monkeypatch.setattr(torch_engine, "_cones_pay_off", lambda *args: False)
    full = TorchEngine(a, noise=noise)
    assert [st.program.n for st in full._stacks] == [7]
    x, w = _random(a, 3, seed=11)
    coeff = torch.linspace(-1, 1, 3 * a.n_outputs, dtype=torch.float64).reshape(3, -1)
    grads = []
    for engine in (cones, full):
        xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        y = engine(xg, wg)
        (y * coeff).sum().backward()
        grads.append((y.detach(), xg.grad, wg.grad))
    for a_, b_ in zip(*grads):
        assert torch.allclose(a_, b_, atol=1e-12, rtol=0)


def test_noisy_gradients_match_finite_differences():
    a = build_ansatz("reupload", 2, 1)
    engine = TorchEngine(a, noise=_noise_model())
    x, w = _random(a, 2, seed=8)
    w.requires_grad_(True)
    coeff = torch.tensor([[0.3, -1.1], [0.8, 0.5]], dtype=torch.float64)
    (engine(x, w) * coeff).sum().backward()
    h = 1e-6
    for k in range(a.n_weights):
        dw = torch.zeros_like(w); dw[k] = h
        with torch.no_grad():
            fd = ((engine(x, w + dw) - engine(x, w - dw)) * coeff).sum() / (2 * h)
        assert w.grad[k].item() == pytest.approx(fd.item(), abs=1e-7)


def test_registered_as_engine_torch():
    assert engine_class("torch") is TorchEngine
    assert isinstance(make_engine("torch", build_ansatz("sqnn", 2, 1)), TorchEngine)


def _circuit_ansatz(qc, inputs, weights):
    return Ansatz("custom", qc, inputs, weights, z_observables(qc.num_qubits))


def test_unsupported_instructions_and_angles_are_refused_by_name():
    x = ParameterVector("x", 2)
    qc = QuantumCircuit(3)
    qc.ry(x[0], 0)
    qc.ccx(0, 1, 2)
    with pytest.raises(ValueError, match=r"'ccx' on qubits \(0, 1, 2\) is not supported by engine 'torch'"):
        TorchEngine(_circuit_ansatz(qc, x, ParameterVector("w", 0)))
    bad = {"rzz": lambda c: c.rzz(x[0], 0, 1), "not affine": lambda c: c.rx(x[0] * x[0], 0),
           "two parameters": lambda c: c.rx(x[0] + x[1], 0), "measure": lambda c: c.measure_all()}
    for what, add in bad.items():
        qc = QuantumCircuit(2)
        add(qc)
        with pytest.raises(ValueError, match="engine 'torch'"):
            TorchEngine(_circuit_ansatz(qc, x, ParameterVector("w", 0)))


def test_wrong_shapes_and_options_are_refused():
    a = build_ansatz("sqnn", 2, 1)
    engine = TorchEngine(a)
    with pytest.raises(ValueError, match=r"inputs \(batch, 2\) and weights \(2,\)"):
        engine(torch.zeros(3, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="precision"):
        TorchEngine(a, precision="half")
    with pytest.raises(ValueError, match="no option"):
        make_engine("torch", a, method="statevector")


def test_readout_errors_and_non_hermitian_observables_are_refused():
    a = build_ansatz("reupload", 2, 1)
    nm = NoiseModel()
    nm.add_all_qubit_readout_error(ReadoutError([[0.9, 0.1], [0.1, 0.9]]))
    with pytest.raises(ValueError, match="readout"):
        TorchEngine(a, noise=nm)
    odd = Ansatz("custom", a.circuit, a.input_params, a.weight_params,
                 (SparsePauliOp.from_list([("IZ", 1j)]),))
    with pytest.raises(ValueError, match="not Hermitian"):
        TorchEngine(odd)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_requested_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        QuantumLayer(build_ansatz("reupload", 2, 1), engine="torch", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_follows_the_inputs_and_matches_cpu():
    a = build_ansatz("reupload", 5, 2)
    x, w = _random(a, 8, seed=9)
    for noise in (None, _noise_model()):
        engine = TorchEngine(a, noise=noise)
        xc, wc = x.cuda().requires_grad_(True), w.cuda().requires_grad_(True)
        y = engine(xc, wc)
        assert y.device.type == "cuda"
        y.sum().backward()
        assert torch.allclose(y.cpu(), engine(x, w), atol=1e-10)
        assert wc.grad.device.type == "cuda"
