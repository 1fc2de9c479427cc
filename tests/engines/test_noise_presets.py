"""engine="torch" under each NoiseSpec placement and preset against independent computations:
Qiskit's DensityMatrix evolved with PAPER.md's Kraus channels put where the spec's documentation
says (written out here, not taken from the package), the reference code's loop transcribed
literally, and Aer's density_matrix method where Aer can express the spec; gradients against
finite differences and Aer's parameter shift; engines that cannot express a spec refuse it."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from qiskit.quantum_info import DensityMatrix, Kraus, Operator, SparsePauliOp, SuperOp
from qiskit_aer.primitives import EstimatorV2

from qsnn_qiskit import NoiseSpec, QuantumLayer, build_ansatz
from qsnn_qiskit.circuits.noise import noisy_circuit
from qsnn_qiskit.engines.torch_engine import TorchEngine

I2, X = np.eye(2), np.array([[0, 1], [1, 0]])
Y, Z = np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])


def bit_flip(p):
    return SuperOp(Kraus([np.sqrt(1 - p) * I2, np.sqrt(p) * X]))


def depolarizing(p):
    return SuperOp(Kraus([np.sqrt(1 - p) * I2] + [np.sqrt(p / 3) * P for P in (X, Y, Z)]))


def damping(g):
    return SuperOp(Kraus([np.array([[1, 0], [0, np.sqrt(1 - g)]]), np.array([[0, np.sqrt(g)], [0, 0]])]))


def depolarizing_2q(p):
    paulis = [np.kron(a, b) for a in (I2, X, Y, Z) for b in (I2, X, Y, Z)]
    return SuperOp(Kraus([np.sqrt(1 - p) * paulis[0]] + [np.sqrt(p / 15) * P for P in paulis[1:]]))


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


SPECS = {
    "paper": NoiseSpec.paper(),
    "reference": NoiseSpec.reference(),
    "reference_fixed": dataclasses.replace(NoiseSpec.reference(), damping="fixed", amplitude_damping=0.1),
    "runs_all_wires": NoiseSpec(bit_flip=0.03, depolarizing=0.05, amplitude_damping=0.1, placement="runs",
                                after_entanglers="all_wires"),
    "runs_correlated": NoiseSpec(bit_flip=0.03, two_qubit_depolarizing=0.04, local_after_two_qubit=False,
                                 placement="runs", after_entanglers="last_wire"),
}
CASES = [  # every ansatz with 1 to 4 blocks on 3 to 5 qubits
    ("reupload", 3, 1), ("reupload", 5, 2), ("reupload", 4, 3), ("reupload", 3, 4),
    ("hea", 4, 1), ("hea", 3, 2), ("hea", 5, 3), ("hea", 3, 4),
    ("sqnn", 5, 1), ("sqnn", 4, 2), ("sqnn", 3, 3), ("sqnn", 4, 4),
]
#: the presets on every case; the other specs on one case per ansatz too
RUNS = [(c, spec) for c in CASES for spec in ("paper", "reference", "runs_all_wires")] + [
    (c, "runs_correlated") for c in (CASES[1], CASES[6], CASES[11])]
AER_RUNS = [(c, spec) for c in CASES for spec in ("paper", "reference_fixed", "runs_all_wires")] + [
    (c, "runs_correlated") for c in (CASES[2], CASES[5], CASES[9])]


def _id(value) -> str:
    return value if isinstance(value, str) else f"{value[0]}-{value[1]}q-{value[2]}b"


def _random(a, batch, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, a.n_inputs, generator=g, dtype=torch.float64) * 2 * np.pi
    return x, torch.rand(a.n_weights, generator=g, dtype=torch.float64) * 2 * np.pi


class _ByHand:
    """<observables> of ``a`` bound to (x, w) under ``spec``: a DensityMatrix evolved gate by gate, with
    the channels where NoiseSpec's documentation puts them: per gate (placement "gates" and the
    entangler flags), once after each qubit's run of single-qubit gates (placement "runs"), after
    each entangling layer (consecutive two-qubit gates) on all its wires or its highest one; input
    damping at sigmoid of the first input parameter any gate on the qubit uses."""

    def __init__(self, a, spec: NoiseSpec, x: np.ndarray, w: np.ndarray) -> None:
        self.spec, self.n = spec, a.n_qubits
        values = dict(zip(a.input_params, x))
        self.first: dict[int, float] = {}
        for inst in a.circuit.data:
            for v in inst.operation.params:
                used = sorted((p for p in getattr(v, "parameters", ()) if p in values), key=list(values).index)
                for q in inst.qubits:
                    if used:
                        self.first.setdefault(a.circuit.find_bit(q).index, values[used[0]])
        self.circuit = a.assign(x, w)
        self.observables = a.observables

    def _fixed(self, channels) -> list[SuperOp]:
        return [make(p) for make, p in channels if p]

    def run(self) -> np.ndarray:
        s, rho = self.spec, DensityMatrix.from_label("0" * self.n)
        local = self._fixed([(bit_flip, s.bit_flip), (depolarizing, s.depolarizing),
                             (damping, s.amplitude_damping if s.damping == "fixed" else 0)])
        after_2q = self._fixed([(bit_flip, s.bit_flip * s.local_after_two_qubit),
                                (depolarizing, s.depolarizing * s.local_after_two_qubit),
                                (damping, s.amplitude_damping * s.damping_after_two_qubit)])
        after_layer = self._fixed([(bit_flip, s.bit_flip), (depolarizing, s.depolarizing)])
        in_run, layer = [False] * self.n, []

        def end_run(q):
            nonlocal rho
            if in_run[q] and s.placement == "runs":
                for c in local + ([damping(sigmoid(self.first[q]))] if s.damping == "input" else []):
                    rho = rho.evolve(c, [q])
            in_run[q] = False

        def end_layer():
            nonlocal rho
            if layer and s.after_entanglers != "none":
                for q in (sorted(layer) if s.after_entanglers == "all_wires" else [max(layer)]):
                    for c in after_layer:
                        rho = rho.evolve(c, [q])
            layer.clear()

        for inst in self.circuit.data:
            qs = [self.circuit.find_bit(q).index for q in inst.qubits]
            name = inst.operation.name
            if len(qs) == 1:
                end_layer()
                rho = rho.evolve(inst.operation, qs)
                in_run[qs[0]] = in_run[qs[0]] or name in s.gates
                if s.placement == "gates" and name in s.gates:
                    for c in local:
                        rho = rho.evolve(c, qs)
                continue
            for q in qs:
                end_run(q)
            rho = rho.evolve(inst.operation, qs)
            if name in s.two_qubit_gates:
                for q in qs:
                    for c in after_2q:
                        rho = rho.evolve(c, [q])
                if s.two_qubit_depolarizing:
                    rho = rho.evolve(depolarizing_2q(s.two_qubit_depolarizing), qs)
            layer.extend(q for q in qs if q not in layer)
        end_layer()
        for q in range(self.n):
            end_run(q)
        return np.array([rho.expectation_value(o).real for o in self.observables])


def _by_hand(a, spec, x, w) -> np.ndarray:
    return np.stack([_ByHand(a, spec, xi, w.numpy()).run() for xi in x.numpy()])


@pytest.mark.parametrize("case, spec", RUNS, ids=_id)
def test_torch_matches_density_matrix_with_channels_placed_by_hand(case, spec):
    a = build_ansatz(*case)
    x, w = _random(a, 2, seed=sum(case[1:]))
    got = TorchEngine(a, noise=SPECS[spec])(x, w).numpy()
    assert np.abs(got - _by_hand(a, SPECS[spec], x, w)).max() < 1e-6


def test_eight_qubit_reference_matches_density_matrix_by_hand():
    a = build_ansatz("reupload", 8, 2)
    x, w = _random(a, 1, seed=8)
    assert np.abs(TorchEngine(a, noise="reference")(x, w).numpy() - _by_hand(a, SPECS["reference"], x, w)).max() < 1e-6


def _rot(phi, theta, omega):
    """PennyLane's Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi), as a matrix."""
    rz = lambda t: np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])     # noqa: E731
    ry = np.array([[np.cos(theta / 2), -np.sin(theta / 2)], [np.sin(theta / 2), np.cos(theta / 2)]])
    return rz(omega) @ ry @ rz(phi)


@pytest.mark.parametrize("n, blocks", [(3, 3), (4, 2)])
def test_reference_preset_reproduces_the_reference_code(n, blocks):
    """The reference code's noisy loop (anchors/reference_sqdrcnn_step.py, with the post-entangler
    channels of PAPER.md on the last wire) transcribed literally, against the reference preset on
    the reference's circuit (a CZ chain between blocks)."""
    a = build_ansatz("reupload", n, blocks, entangler="chain", between_blocks_only=True)
    x, w = _random(a, 2, seed=n)
    got = TorchEngine(a, noise=NoiseSpec.reference())(x, w).numpy()
    weights = w.numpy().reshape(blocks, n, 3)
    cz = Operator(np.diag([1, 1, 1, -1]))
    for inputs, out in zip(x.numpy(), got):
        rho = DensityMatrix.from_label("0" * n)
        for b in range(blocks):
            for i in range(n):
                rho = rho.evolve(Operator(_rot(*weights[b][i]) @ _rot(*inputs[3 * i:3 * i + 3])), [i])
                for channel in (bit_flip(0.02), depolarizing(0.03), damping(sigmoid(inputs[3 * i]))):
                    rho = rho.evolve(channel, [i])
            if b < blocks - 1:
                for j in range(n - 1):
                    rho = rho.evolve(cz, [j, j + 1])
                for channel in (bit_flip(0.02), depolarizing(0.03)):
                    rho = rho.evolve(channel, [n - 1])
        expected = [rho.expectation_value(SparsePauliOp.from_sparse_list([("Z", [j], 1.0)], n)).real
                    for j in range(n)]
        assert np.abs(out - expected).max() < 1e-6


@pytest.mark.parametrize("case, spec", AER_RUNS, ids=_id)
def test_torch_matches_aer_density_matrix(case, spec):
    a = build_ansatz(*case)
    x, w = _random(a, 2, seed=sum(case[1:]) + 1)
    circuit, model = noisy_circuit(a.circuit, SPECS[spec], a.input_params)
    estimator = EstimatorV2(options={"backend_options": {"method": "density_matrix", "noise_model": model}})
    values = [dict(zip(a.input_params, xi.tolist())) | dict(zip(a.weight_params, w.tolist())) for xi in x]
    pubs = [(circuit.assign_parameters({p: v[p] for p in circuit.parameters}), [[o] for o in a.observables])
            for v in values]
    expected = np.stack([r.data.evs[:, 0] for r in estimator.run(pubs, precision=0.0).result()])
    assert np.abs(TorchEngine(a, noise=SPECS[spec])(x, w).numpy() - expected).max() < 1e-6


def test_reference_light_cones_stay_three_qubits_on_nine_and_run_as_one():
    """The last-wire channels sit in one cone only; folded into its single-qubit runs, that cone
    still stacks with the other eight, and the stack agrees with a 9-qubit density matrix."""
    a = build_ansatz("reupload", 9, 2)
    engine = TorchEngine(a, noise="reference")
    assert max(st.program.n for st in engine._stacks) == 3
    assert [len(st.members_of) for st in engine._stacks] == [9]
    x, w = _random(a, 1, seed=9)
    assert np.abs(engine(x, w).numpy() - _by_hand(a, SPECS["reference"], x, w)).max() < 1e-9


@pytest.mark.parametrize("spec, case", [("reference", ("reupload", 3, 2)), ("runs_all_wires", ("hea", 3, 2)),
                                        ("paper", ("sqnn", 3, 2))], ids=_id)
def test_gradients_match_finite_differences(spec, case):
    a = build_ansatz(*case)
    engine = TorchEngine(a, noise=SPECS[spec])
    x, w = _random(a, 1, seed=5)
    coeff = torch.linspace(-1, 1, a.n_outputs, dtype=torch.float64)
    xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    (engine(xg, wg) * coeff).sum().backward()
    h = 1e-6
    for value, grad, which in ((x, xg.grad, "input"), (w, wg.grad, "weight")):
        flat = value.reshape(-1)
        for k in range(flat.numel()):
            d = torch.zeros_like(flat)
            d[k] = h
            up, down = ((flat + d).reshape(value.shape), (flat - d).reshape(value.shape))
            args = ((up, w), (down, w)) if which == "input" else ((x, up), (x, down))
            fd = ((engine(*args[0]) - engine(*args[1])) * coeff).sum() / (2 * h)
            assert grad.reshape(-1)[k].item() == pytest.approx(fd.item(), abs=1e-7), (which, k)


def test_input_damping_is_finite_for_large_inputs():
    a = build_ansatz("reupload", 2, 1)
    x = torch.tensor([[-800.0, 1, 2, 60.0, 1, 2]], dtype=torch.float64, requires_grad=True)
    w = torch.zeros(a.n_weights, dtype=torch.float64, requires_grad=True)
    y = TorchEngine(a, noise="reference")(x, w)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all() and torch.isfinite(w.grad).all()


def test_aer_parameter_shift_gradients_match_torch_under_positional_channels():
    a = build_ansatz("reupload", 2, 2)
    aer = QuantumLayer(a, engine="aer", noise=SPECS["runs_all_wires"], seed=0)
    fast = QuantumLayer(a, engine="torch", noise=SPECS["runs_all_wires"])
    fast.load_state_dict(aer.state_dict())
    x = _random(a, 2, seed=1)[0]
    xa, xf = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    aer(xa).sum().backward()
    fast(xf).sum().backward()
    np.testing.assert_allclose(aer.weight.grad.numpy(), fast.weight.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(xa.grad.numpy(), xf.grad.numpy(), atol=1e-6)


def test_engines_that_cannot_express_a_spec_refuse_it():
    a = build_ansatz("reupload", 2, 1)
    with pytest.raises(ValueError, match="engine 'aer' cannot express amplitude damping whose rate depends on the "
                                         "inputs.*damping='input'.*Use engine 'torch'"):
        QuantumLayer(a, engine="aer", noise="reference")
    for noise in (NoiseSpec.paper(), "paper", "fake_torino"):
        with pytest.raises(ValueError, match="engine 'runtime' cannot add noise"):
            QuantumLayer(a, engine="runtime", noise=noise)
