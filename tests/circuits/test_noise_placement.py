"""NoiseSpec's placements as data: the presets' fields and descriptions, the --noise grammar for
them, refusal of bad values, and where `noisy_circuit` puts the positional channels of each ansatz."""
from __future__ import annotations

import dataclasses

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Kraus, SuperOp

from qsnn_qiskit import NoiseSpec
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.circuits.channels import INPUT_DAMPING, amplitude_damping, bit_flip, depolarizing
from qsnn_qiskit.circuits.noise import as_noise_model, noisy_circuit


# --- presets ------------------------------------------------------------------------------------
def test_paper_preset_is_all_three_channels_after_every_gate():
    spec = NoiseSpec.paper()
    assert (spec.bit_flip, spec.depolarizing, spec.amplitude_damping) == (0.02, 0.03, 0.02)
    assert spec.placement == "gates" and spec.damping == "fixed" and spec.after_entanglers == "none"
    assert spec.local_after_two_qubit and spec.damping_after_two_qubit and spec.two_qubit_depolarizing == 0
    assert set(spec.gates) | set(spec.two_qubit_gates) == {"rz", "ry", "rx", "h", "cz", "cx"}
    local = SuperOp(bit_flip(0.02)).compose(depolarizing(0.03)).compose(amplitude_damping(0.02))
    assert SuperOp(spec.single_qubit_error()) == local
    assert SuperOp(spec.two_qubit_error()) == local.tensor(local)
    model = spec.to_noise_model()
    assert set(model.noise_instructions) == {"rz", "ry", "rx", "h", "cz", "cx"}


def test_reference_preset_fields():
    spec = NoiseSpec.reference()
    assert (spec.bit_flip, spec.depolarizing, spec.amplitude_damping) == (0.02, 0.03, 0.0)
    assert (spec.placement, spec.damping, spec.after_entanglers) == ("runs", "input", "last_wire")
    assert not spec.local_after_two_qubit and not spec.damping_after_two_qubit
    assert not spec.is_noiseless()


def test_descriptions_say_what_each_preset_applies():
    assert NoiseSpec.paper().describe() == (
        "bit flip 0.02 -> depolarizing 0.03 -> amplitude damping 0.02 after every rz/ry/rx/h gate; "
        "bit flip 0.02 -> depolarizing 0.03 -> amplitude damping 0.02 on the qubits of every cz/cx gate")
    assert NoiseSpec.reference().describe() == (
        "bit flip 0.02 -> depolarizing 0.03 -> amplitude damping gamma = sigmoid(the qubit's first input "
        "angle) once after each qubit's run of single-qubit (rz/ry/rx/h) gates between its two-qubit gates "
        "(re-upload: after each qubit's two Rot gates in every block); bit flip 0.02 -> depolarizing 0.03 "
        "once after each entangling layer, on the layer's last (highest-numbered) qubit only")
    assert NoiseSpec().describe() == "no noise"
    assert NoiseSpec(two_qubit_depolarizing=0.1).describe() == "two-qubit depolarizing 0.1 on the qubits of every cz/cx gate"


def test_positional_specs_have_no_gate_attached_model():
    for spec in (NoiseSpec.reference(), NoiseSpec(bit_flip=0.1, placement="runs"),
                 NoiseSpec(depolarizing=0.1, after_entanglers="all_wires")):
        with pytest.raises(ValueError, match="cannot express.*noisy_circuit"):
            spec.to_noise_model()
    with pytest.raises(ValueError, match="cannot express"):
        as_noise_model("reference")
    assert NoiseSpec(placement="runs").to_noise_model() is not None      # no channels: nothing positional


# --- the --noise grammar -------------------------------------------------------------------------
def test_parse_presets_overrides_and_placement_keys():
    assert NoiseSpec.parse("reference,bit_flip=0.01") == dataclasses.replace(NoiseSpec.reference(), bit_flip=0.01)
    assert NoiseSpec.parse("bit_flip=0.1,placement=runs,after-entanglers=all_wires,local_after_two_qubit=False,"
                           "damping_after_two_qubit=true") == NoiseSpec(
        bit_flip=0.1, placement="runs", after_entanglers="all_wires", local_after_two_qubit=False,
        damping_after_two_qubit=True)
    assert NoiseSpec.parse("paper,damping_after_two_qubit=false") == NoiseSpec(
        bit_flip=0.02, depolarizing=0.03, amplitude_damping=0.02)


@pytest.mark.parametrize("text, words", [
    ("placement=everywhere", ["placement", "'everywhere'", "'gates'", "'runs'"]),
    ("damping=sigmoid", ["damping", "'sigmoid'", "'fixed'", "'input'"]),
    ("after_entanglers=last", ["after_entanglers", "'last'", "'none'", "'all_wires'", "'last_wire'"]),
    ("local_after_two_qubit=maybe", ["local_after_two_qubit", "'maybe'", "true or false"]),
    ("bit_flip=0.1,reference", ["'reference'", "a preset comes first"]),
    ("papers", ["'papers'", "paper, reference"]),
    ("paper,damping=input", ["damping='input'", "placement='runs'", "'gates'"]),
    ("reference,amplitude_damping=0.1", ["damping='input'", "amplitude_damping=0", "0.1"]),
    ("bit_flip=-0.5", ["bit_flip", "[0, 1]", "-0.5"]),
    ("depolarizing=x", ["depolarizing", "'x'", "not a number"]),
])
def test_parse_refuses_bad_text_naming_the_value_and_what_is_allowed(text, words):
    with pytest.raises(ValueError) as err:
        NoiseSpec.parse(text)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


@pytest.mark.parametrize("fields, error, words", [
    ({"placement": "everywhere"}, ValueError, ["placement", "'everywhere'", "'gates'", "'runs'"]),
    ({"placement": 1}, TypeError, ["placement", "1"]),
    ({"damping": None}, TypeError, ["damping", "None"]),
    ({"after_entanglers": "all"}, ValueError, ["after_entanglers", "'all'", "'last_wire'"]),
    ({"damping_after_two_qubit": "yes"}, TypeError, ["damping_after_two_qubit", "'yes'"]),
    ({"gates": ("rz", "rot")}, ValueError, ["gates", "'rot'", "allowed"]),
    ({"two_qubit_gates": ("cz", "zz")}, ValueError, ["two_qubit_gates", "'zz'"]),
    ({"bit_flip": [0.1]}, TypeError, ["bit_flip", "[0.1]"]),
    ({"damping": "input", "damping_after_two_qubit": True, "placement": "runs"}, ValueError,
     ["damping='input'", "damping_after_two_qubit=False"]),
])
def test_spec_refuses_bad_fields(fields, error, words):
    with pytest.raises(error) as err:
        NoiseSpec(**fields)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


# --- where the channels go -----------------------------------------------------------------------
def _layout(circuit: QuantumCircuit) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, qubits, its parameter, if any) of every instruction."""
    return [(inst.operation.name, tuple(circuit.find_bit(q).index for q in inst.qubits),
             ",".join(str(p) for p in inst.operation.params if hasattr(p, "parameters")))
            for inst in circuit.data]


def _previous_on(layout, k: int, q: int) -> str:
    """The name of the last instruction before position k that acts on qubit q."""
    return next(n for n, qs, _ in reversed(layout[:k]) if q in qs)


@pytest.mark.parametrize("name, runs_per_qubit", [("reupload", 3), ("hea", 4), ("sqnn", 3)])
def test_reference_channels_after_each_run_and_on_the_last_wire_after_each_layer(name, runs_per_qubit):
    """4 qubits, 3 blocks, so 3 entangling rings; hea's first run is its encoding and capping layer."""
    a = build_ansatz(name, 4, 3)
    circuit, model = noisy_circuit(a.circuit, NoiseSpec.reference(), a.input_params)
    assert model is not None and not model.noise_instructions        # nothing gate-attached
    layout = _layout(circuit)
    first = [f"x[{3 * q if name != 'sqnn' else q}]" for q in range(4)]
    assert [(qs, p) for n, qs, p in layout if n == INPUT_DAMPING] == [
        ((q,), first[q]) for _ in range(runs_per_qubit) for q in range(4)]
    kraus = [k for k, (n, _, _) in enumerate(layout) if n == "kraus"]
    after_layer = [k for k in kraus if _previous_on(layout, k, layout[k][1][0]) in ("cz", "cx")]
    assert len(after_layer) == 3 and all(layout[k][1] == (3,) for k in after_layer)
    for k in set(kraus) - set(after_layer):   # a run's: after a rotation of its qubit, then the damping
        (q,) = layout[k][1]
        assert _previous_on(layout, k, q) in ("rz", "rx") and layout[k + 1][:2] == (INPUT_DAMPING, (q,))
    assert len(kraus) == runs_per_qubit * 4 + 3


def test_reference_code_circuit_ends_on_runs():
    """The reference's CZ chain between blocks only: 2 layers for 3 blocks, and the last block's
    runs end the circuit, each with its channels."""
    a = build_ansatz("reupload", 3, 3, entangler="chain", between_blocks_only=True)
    layout = _layout(noisy_circuit(a.circuit, "reference", a.input_params)[0])
    assert sum(n == "kraus" and _previous_on(layout, k, qs[0]) == "cz" for k, (n, qs, _) in enumerate(layout)) == 2
    assert [(n, qs) for n, qs, _ in layout[-6:]] == [(n, (q,)) for q in range(3) for n in ("kraus", INPUT_DAMPING)]


def test_all_wires_with_gate_attached_channels():
    spec = NoiseSpec(bit_flip=0.1, two_qubit_depolarizing=0.05, placement="runs", after_entanglers="all_wires")
    a = build_ansatz("hea", 3, 2)
    circuit, model = noisy_circuit(a.circuit, spec, a.input_params)
    assert set(model.noise_instructions) == {"cz", "cx"}             # the two-qubit depolarizing
    layout = _layout(circuit)
    kraus = [k for k, (n, _, _) in enumerate(layout) if n == "kraus"]
    after_layer = [layout[k][1] for k in kraus if _previous_on(layout, k, layout[k][1][0]) == "cx"]
    assert sorted(after_layer) == [(0,), (0,), (1,), (1,), (2,), (2,)]   # 2 layers x 3 wires
    assert len(kraus) == 3 * 3 + 2 * 3                                   # + 3 runs per qubit
    assert SuperOp(Kraus(circuit.data[kraus[0]].operation)) == SuperOp(bit_flip(0.1))


def test_gates_placement_puts_nothing_into_the_circuit():
    a = build_ansatz("reupload", 3, 2)
    assert noisy_circuit(a.circuit, NoiseSpec.paper(), a.input_params)[0] is a.circuit


def test_input_damping_needs_an_input_angle_on_every_qubit():
    x, w = ParameterVector("x", 1), ParameterVector("w", 1)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(w[0], 1)
    with pytest.raises(ValueError, match="no gate on qubit 1 uses one of the circuit's 1 input parameters"):
        noisy_circuit(qc, NoiseSpec.reference(), list(x))
