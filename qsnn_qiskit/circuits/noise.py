"""Noise descriptions: `NoiseSpec`, the one meaning of noise that every engine reads.

`NoiseSpec` holds the channels of PAPER.md (Section 5.2) and where they go, as data:

- ``placement="gates"``: the 1-qubit channels follow every gate named in ``gates``; with the
  channels that follow the entanglers (``two_qubit_gates``), this is a gate-attached Aer
  ``NoiseModel`` (`NoiseSpec.to_noise_model`);
- ``placement="runs"``: they follow each qubit's run of single-qubit gates once (`placement`: in
  the re-upload circuit, after each qubit's encoding Rot and trainable Rot per block, the
  reference code's placement);
- ``after_entanglers``: bit flip and depolarizing once after each entangling layer, on all of its
  wires or on its last wire only (the reference code's quirk);
- ``damping="input"``: amplitude damping gamma = sigmoid(the qubit's first input angle), per
  sample (the reference code's data-dependent rate), instead of a fixed ``amplitude_damping``.

The positional channels (runs, layers, input damping) are instructions in the circuit
(`channels`): `noisy_circuit` gives an engine the circuit with them and the gate-attached model.
An engine that cannot express one refuses it: Aer applies the fixed ``kraus`` instructions but
not `channels.InputDamping`; the runtime engine (hardware) adds no noise at all.

The channels, as Kraus operators:

- bit flip p:            sqrt(1 - p) I, sqrt(p) X
- depolarizing p:        sqrt(1 - p) I, sqrt(p / 3) X, sqrt(p / 3) Y, sqrt(p / 3) Z
- amplitude damping g:   [[1, 0], [0, sqrt(1 - g)]], [[0, sqrt(g)], [0, 0]]
- two-qubit depolarizing p: sqrt(1 - p) II and sqrt(p / 15) P for the 15 other two-qubit Paulis P

Aer's ``depolarizing_error(lam, n)`` is (1 - lam) rho + lam I / 2^n, that is a non-identity Pauli
with probability lam (4^n - 1) / 4^n; so ``depolarizing = p`` is built as ``lam = 4 p / 3`` (one
qubit) and ``lam = 16 p / 15`` (two qubits). p in [0, 1] covers Aer's whole range lam in
[0, 4^n / (4^n - 1)].

`noise_from_backend` takes the calibrated noise of a fake IBM backend instead.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Sequence

from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Gate, Instruction, Parameter
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Kraus

from .._providers import FAKE_BACKENDS, fake_backend
from . import channels
from .placement import first_inputs, insert_channels

if TYPE_CHECKING:   # qiskit-aer is imported where a noise model is built: it is slow to load
    from qiskit_aer.noise import NoiseModel, QuantumError

#: Gates of the package's ansätze: always in a NoiseSpec model's basis, so circuits run as built.
ANSATZ_GATES = ("rx", "ry", "rz", "h", "cx", "cz")

#: ``NoiseSpec.placement``: where the 1-qubit channels go.
PLACEMENTS = {
    "gates": "after every gate named in `gates`",
    "runs": "once after each run of single-qubit gates on a qubit (the gates between two of its "
            "two-qubit gates) that holds a gate named in `gates`",
}
#: ``NoiseSpec.damping``: the amplitude damping rate.
DAMPINGS = {
    "fixed": "gamma = amplitude_damping",
    "input": "gamma = sigmoid(the qubit's first input angle), per sample",
}
#: ``NoiseSpec.after_entanglers``: bit flip and depolarizing after each entangling layer, on which wires.
AFTER_ENTANGLERS = {
    "none": "nothing after entangling layers",
    "all_wires": "on every qubit of each entangling layer, once after the layer",
    "last_wire": "on the highest-numbered qubit of each entangling layer only, once after the layer",
}


def _gate_names(value: Any, field: str, n_qubits: int) -> tuple[str, ...]:
    """``value`` as a tuple of standard gate names acting on ``n_qubits`` qubits, or ValueError."""
    names = (value,) if isinstance(value, str) else tuple(value)
    standard = get_standard_gate_name_mapping()
    allowed = sorted(n for n, g in standard.items() if isinstance(g, Gate) and g.num_qubits == n_qubits)
    for name in names:
        if not isinstance(name, str) or name not in allowed:
            raise ValueError(f"NoiseSpec.{field}: {name!r} is not a standard {n_qubits}-qubit gate "
                             f"name; allowed: {', '.join(allowed)}")
    return names


def _choice(value: Any, field: str, allowed: dict[str, str]) -> None:
    if not isinstance(value, str):
        raise TypeError(f"NoiseSpec.{field} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    if value not in allowed:
        raise ValueError(f"unknown NoiseSpec.{field} {value!r}; allowed: "
                         + "; ".join(f"{k!r} ({v})" for k, v in allowed.items()))


@dataclass(frozen=True)
class NoiseSpec:
    """Noise channels and where they go. Defaults: no noise; the 1-qubit channels after every gate.

    Args:
        bit_flip: bit-flip probability p in [0, 1].
        depolarizing: probability p in [0, 1] of an X, Y or Z error (p / 3 each) (PAPER.md's
            convention; Aer's ``depolarizing_error`` parameter is 4 p / 3).
        amplitude_damping: damping rate gamma in [0, 1] (``damping="fixed"``; 0 with ``"input"``).
        two_qubit_depolarizing: probability p in [0, 1] of one of the 15 non-identity two-qubit
            Paulis (p / 15 each) after each gate of ``two_qubit_gates``.
        gates: single-qubit gate names the 1-qubit channels follow (``placement="gates"``) or whose
            runs they follow (``"runs"``); default: the rotations and H of the package's ansätze.
        two_qubit_gates: entangler names the channels of the next two flags and the two-qubit
            depolarizing follow.
        local_after_two_qubit: apply bit flip then depolarizing to each qubit of every
            ``two_qubit_gates`` gate, after it.
        damping_after_two_qubit: then amplitude damping (the fixed ``amplitude_damping``) on each
            qubit of every ``two_qubit_gates`` gate, so that every gate carries all three channels.
        placement: where the 1-qubit channels bit flip -> depolarizing -> amplitude damping go:
            ``"gates"``, after every gate named in ``gates``; ``"runs"``, once after each run of
            single-qubit gates on a qubit that holds one of them (`placement`; in the re-upload
            circuit: after each qubit's encoding Rot and trainable Rot in every block).
        damping: ``"fixed"``, gamma = ``amplitude_damping``; ``"input"``, gamma = sigmoid(x) with x
            the qubit's first input angle (`placement.first_inputs`: x[3i] on qubit i of re-upload
            and hea, x[i] in sqnn), sample by sample (needs ``placement="runs"``).
        after_entanglers: bit flip then depolarizing once after each entangling layer (a block's CZ
            or CNOT ring): ``"none"``; ``"all_wires"``, on every qubit of the layer; ``"last_wire"``,
            on its highest-numbered qubit only (the reference code's quirk).

    The 1-qubit channels compose in the order bit flip -> depolarizing -> amplitude damping; after
    an entangler, the local channels come before the two-qubit depolarizing. `describe` says in
    words what a spec applies; `paper` and `reference` are the presets.
    """

    bit_flip: float = 0.0
    depolarizing: float = 0.0
    amplitude_damping: float = 0.0
    two_qubit_depolarizing: float = 0.0
    gates: tuple[str, ...] = ("rz", "ry", "rx", "h")
    two_qubit_gates: tuple[str, ...] = ("cz", "cx")
    local_after_two_qubit: bool = True
    damping_after_two_qubit: bool = False
    placement: str = "gates"
    damping: str = "fixed"
    after_entanglers: str = "none"

    PROBABILITIES: ClassVar[tuple[str, ...]] = (
        "bit_flip", "depolarizing", "amplitude_damping", "two_qubit_depolarizing")
    FLAGS: ClassVar[tuple[str, ...]] = ("local_after_two_qubit", "damping_after_two_qubit")
    CHOICES: ClassVar[dict[str, dict[str, str]]] = {
        "placement": PLACEMENTS, "damping": DAMPINGS, "after_entanglers": AFTER_ENTANGLERS}
    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "reference")

    def __post_init__(self) -> None:
        for name in self.PROBABILITIES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"NoiseSpec.{name} must be a number in [0, 1]; got {value!r}")
            if not (0.0 <= value <= 1.0):   # also refuses NaN
                extra = (" (the probability of an X, Y or Z error; Aer's depolarizing_error "
                         "parameter is 4p/3, allowed range [0, 4/3])" if name == "depolarizing" else
                         " (the probability of a non-identity two-qubit Pauli; Aer's parameter is "
                         "16p/15, allowed range [0, 16/15])" if name == "two_qubit_depolarizing" else "")
                raise ValueError(f"NoiseSpec.{name} must be in [0, 1]{extra}; got {value!r}")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "gates", _gate_names(self.gates, "gates", 1))
        object.__setattr__(self, "two_qubit_gates", _gate_names(self.two_qubit_gates, "two_qubit_gates", 2))
        for name in self.FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"NoiseSpec.{name} must be True or False; got {getattr(self, name)!r}")
        for name, allowed in self.CHOICES.items():
            _choice(getattr(self, name), name, allowed)
        if self.damping == "input":
            for wrong, why in ((self.placement != "runs", f"placement='runs' (got {self.placement!r})"),
                               (self.amplitude_damping != 0.0,
                                f"amplitude_damping=0, the rate being the input's (got {self.amplitude_damping!r})"),
                               (self.damping_after_two_qubit, "damping_after_two_qubit=False")):
                if wrong:
                    raise ValueError(f"NoiseSpec.damping='input' (gamma = sigmoid(the qubit's first input "
                                     f"angle), once after each run) needs {why}")

    @classmethod
    def paper(cls) -> "NoiseSpec":
        """PAPER.md, Section 5.2, "p ~ 2-3% for all quantum gates": bit flip 0.02 -> depolarizing
        0.03 -> amplitude damping 0.02 after every gate of the package's ansätze, on each qubit it
        acts on: after each rz, ry, rx and h, and on both qubits of each cz and cx. A Rot is three
        gates, so a re-upload block puts the three channels 6 times on each qubit, plus twice per
        CZ of the ring. Bit flip 2% and depolarizing 3% are the reference code's rates (within the
        paper's 2-3%); the damping, data-dependent in the reference, is fixed at 2% here, the
        paper stating one p ~ 2-3% for every gate."""
        return cls(bit_flip=0.02, depolarizing=0.03, amplitude_damping=0.02, damping_after_two_qubit=True)

    @classmethod
    def reference(cls) -> "NoiseSpec":
        """The reference code's noisy circuit: after each qubit's run of single-qubit gates (in the
        re-upload circuit its encoding Rot and trainable Rot of a block) bit flip 0.02 ->
        depolarizing 0.03 -> amplitude damping gamma = sigmoid(the qubit's first input angle: x[3i]
        on qubit i, x[i] in sqnn), per sample; and bit flip 0.02 -> depolarizing 0.03 once after each entangling
        layer, on its last wire only.

        Kept from the reference: the data-dependent damping (gamma >= 0.5 for spike rates in
        [0, 1], the strongest channel by far) and the post-entangler channels on the last wire
        only, because the preset exists to reproduce the reference's numbers. Not kept: PAPER.md's
        "one randomly chosen input angle" for the damping is the first one, x[3i], as in the rebuilt
        anchor (a deterministic rule, the same on every engine and every run); and the circuit is
        not the preset's business: ``reupload(entangler="chain", between_blocks_only=True)`` is the
        reference's CZ chain between blocks, the default a CZ ring after every block (whose last
        layer is then followed by the last-wire channels too).
        """
        return cls(bit_flip=0.02, depolarizing=0.03, placement="runs", damping="input",
                   local_after_two_qubit=False, after_entanglers="last_wire")

    @classmethod
    def parse(cls, text: str) -> "NoiseSpec":
        """The ``--noise`` flag -> NoiseSpec: a preset (``paper``, ``reference``) and/or
        comma-separated KEY=VALUE pairs, which override the preset's fields when one comes first,
        e.g. ``"bit_flip=0.02,depolarizing=0.03,amplitude_damping=0.02"`` or
        ``"reference,bit_flip=0.01"``. Keys: the probabilities (numbers), ``placement``,
        ``damping``, ``after_entanglers`` (names), ``local_after_two_qubit``,
        ``damping_after_two_qubit`` (true/false); ``-`` may stand for ``_``."""
        keys = ", ".join((*cls.PROBABILITIES, *cls.CHOICES, *cls.FLAGS))
        usage = (f"a preset ({', '.join(cls.PRESETS)}) and/or KEY=VALUE pairs separated by commas, "
                 f"keys: {keys}")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"noise spec must be {usage}; got {text!r}")
        items = [item.strip() for item in text.split(",")]
        base = getattr(cls, items.pop(0))() if items[0] in cls.PRESETS else cls()
        values: dict[str, Any] = {}
        for item in items:
            key, sep, value = item.partition("=")
            key, value = key.strip().replace("-", "_"), value.strip()
            if not sep or key not in (*cls.PROBABILITIES, *cls.CHOICES, *cls.FLAGS):
                hint = " (a preset comes first)" if item in cls.PRESETS else ""
                raise ValueError(f"noise spec item {item!r} is not KEY=VALUE with a known key{hint}; {usage}")
            if key in values:
                raise ValueError(f"noise spec gives {key} twice: {text!r}")
            values[key] = _parse_value(key, value, cls)
        return dataclasses.replace(base, **values)

    def describe(self) -> str:
        """What this spec applies and where, in one line (the --help text, the README, reports)."""
        fmt = "{:g}".format
        parts = []
        fixed_damping = self.amplitude_damping if self.damping == "fixed" else 0.0
        local = _chain([("bit flip", self.bit_flip), ("depolarizing", self.depolarizing),
                        ("amplitude damping", fixed_damping)], fmt)
        if self.damping == "input":
            local = _join(local, "amplitude damping gamma = sigmoid(the qubit's first input angle)")
        gates = "/".join(self.gates)
        if local and self.gates:
            parts.append(f"{local} after every {gates} gate" if self.placement == "gates" else
                         f"{local} once after each qubit's run of single-qubit ({gates}) gates between its "
                         "two-qubit gates (re-upload: after each qubit's two Rot gates in every block)")
        two = "/".join(self.two_qubit_gates)
        entangler = _chain([("bit flip", self.bit_flip if self.local_after_two_qubit else 0.0),
                            ("depolarizing", self.depolarizing if self.local_after_two_qubit else 0.0),
                            ("amplitude damping", fixed_damping if self.damping_after_two_qubit else 0.0)], fmt)
        if self.two_qubit_depolarizing:
            entangler = _join(entangler, f"two-qubit depolarizing {fmt(self.two_qubit_depolarizing)}")
        if entangler and self.two_qubit_gates:
            parts.append(f"{entangler} on the qubits of every {two} gate")
        layer = _chain([("bit flip", self.bit_flip), ("depolarizing", self.depolarizing)], fmt)
        if layer and self.after_entanglers != "none":
            wires = ("every qubit of the layer" if self.after_entanglers == "all_wires"
                     else "the layer's last (highest-numbered) qubit only")
            parts.append(f"{layer} once after each entangling layer, on {wires}")
        return "; ".join(parts) or "no noise"

    def is_noiseless(self) -> bool:
        return self.damping == "fixed" and all(getattr(self, name) == 0.0 for name in self.PROBABILITIES)

    def single_qubit_error(self) -> QuantumError | None:
        """bit flip -> depolarizing -> fixed amplitude damping on one qubit; None if all are zero."""
        from qiskit_aer.noise import amplitude_damping_error

        parts = self._local_errors() + (
            [amplitude_damping_error(self.amplitude_damping)] if self.amplitude_damping else [])
        return _compose(parts)

    def two_qubit_error(self) -> QuantumError | None:
        """The error after each entangler: local bit flip -> depolarizing on both qubits (if
        ``local_after_two_qubit``) -> amplitude damping (if ``damping_after_two_qubit``), then
        two-qubit depolarizing; None if there is none."""
        from qiskit_aer.noise import amplitude_damping_error, depolarizing_error

        local = _compose((self._local_errors() if self.local_after_two_qubit else []) + (
            [amplitude_damping_error(self.amplitude_damping)]
            if self.damping_after_two_qubit and self.amplitude_damping else []))
        parts = [] if local is None else [local.tensor(local)]
        if self.two_qubit_depolarizing:
            parts.append(depolarizing_error(16.0 * self.two_qubit_depolarizing / 15.0, 2))
        return _compose(parts)

    def to_noise_model(self) -> NoiseModel:
        """An Aer ``NoiseModel`` with these channels after the named gates on all qubits.

        Its basis gates hold the package's ansatz gates and every named gate, so circuits are
        simulated as built (nothing is unrolled into other gates that would carry other noise).
        ``ValueError`` for a spec with positional channels (``placement="runs"``, input damping,
        ``after_entanglers``), which a gate-attached model cannot express: `noisy_circuit` puts
        those into the circuit.
        """
        if self._positional():
            raise ValueError(f"this NoiseSpec places channels by their position in the circuit ({self.describe()}), "
                             "which a gate-attached Aer NoiseModel cannot express; use "
                             "qsnn_qiskit.circuits.noise.noisy_circuit(circuit, spec, input_params), which "
                             "puts them into the circuit as instructions")
        return self._gate_model()

    def _local_errors(self) -> list[QuantumError]:
        """Aer's bit flip -> depolarizing errors, the non-zero ones."""
        from qiskit_aer.noise import depolarizing_error, pauli_error

        return ([pauli_error([("X", self.bit_flip), ("I", 1.0 - self.bit_flip)])] if self.bit_flip else []) + (
            [depolarizing_error(4.0 * self.depolarizing / 3.0, 1)] if self.depolarizing else [])

    def _gate_model(self) -> NoiseModel:
        """The gate-attached channels (all of them for ``placement="gates"``) as an Aer model."""
        from qiskit_aer.noise import NoiseModel

        model = NoiseModel(basis_gates=sorted(set(ANSATZ_GATES) | set(self.gates) | set(self.two_qubit_gates)))
        one = self.single_qubit_error() if self.placement == "gates" else None
        two = self.two_qubit_error()
        if one is not None and self.gates:
            model.add_all_qubit_quantum_error(one, list(self.gates))
        if two is not None and self.two_qubit_gates:
            model.add_all_qubit_quantum_error(two, list(self.two_qubit_gates))
        return model

    def _run_channels(self) -> list[Kraus]:
        """The fixed 1-qubit channels after each run (``placement="runs"``), the non-zero ones."""
        if self.placement != "runs":
            return []
        return [make(p) for make, p in ((channels.bit_flip, self.bit_flip),
                                        (channels.depolarizing, self.depolarizing),
                                        (channels.amplitude_damping, self.amplitude_damping)) if p]

    def _layer_channels(self) -> list[Kraus]:
        """The channels after each entangling layer, the non-zero ones."""
        if self.after_entanglers == "none":
            return []
        return [make(p) for make, p in ((channels.bit_flip, self.bit_flip),
                                        (channels.depolarizing, self.depolarizing)) if p]

    def _positional(self) -> bool:
        return bool(self._run_channels() or self._layer_channels()) or self.damping == "input"

    def place(self, circuit: QuantumCircuit, inputs: Sequence[Parameter] = ()) -> QuantumCircuit:
        """``circuit`` with this spec's positional channels as instructions: a ``kraus`` per run and
        per layer wire, and an `channels.InputDamping` of the qubit's first input angle among
        ``inputs`` (``ValueError`` for a qubit that has none). ``circuit`` itself if there are none;
        the gate-attached channels are not included (`to_noise_model`)."""
        run, layer = self._run_channels(), self._layer_channels()
        if not (run or layer or self.damping == "input"):
            return circuit
        fixed = [channels.kraus_instruction(run)] if run else []
        first = first_inputs(circuit, inputs) if self.damping == "input" else {}

        def after_run(q: int) -> list[Instruction]:
            if self.damping == "fixed":
                return fixed
            if q not in first:
                raise ValueError(f"NoiseSpec.damping='input' takes gamma = sigmoid(the first input angle "
                                 f"of each qubit), but no gate on qubit {q} uses one of the circuit's "
                                 f"{len(inputs)} input parameters; use damping='fixed'")
            return fixed + [channels.InputDamping(first[q])]

        return insert_channels(circuit, set(self.gates) if self.placement == "runs" else set(), after_run,
                               [channels.kraus_instruction(layer)] if layer else [],
                               self.after_entanglers if layer else None)


def _chain(named: list[tuple[str, float]], fmt: Callable[[float], str]) -> str:
    """``"bit flip 0.02 -> depolarizing 0.03"`` for the non-zero entries."""
    return " -> ".join(f"{name} {fmt(p)}" for name, p in named if p)


def _join(first: str, then: str) -> str:
    return f"{first} -> {then}" if first else then


def _parse_value(key: str, value: str, cls: type[NoiseSpec]) -> Any:
    """One ``--noise`` VALUE as the type of field ``key`` (validated by NoiseSpec itself)."""
    if key in cls.PROBABILITIES:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"noise spec {key}={value!r} is not a number") from None
    if key in cls.FLAGS:
        if value.lower() not in ("true", "false"):
            raise ValueError(f"noise spec {key}={value!r} must be true or false")
        return value.lower() == "true"
    return value


def _compose(errors: list[QuantumError]) -> QuantumError | None:
    """errors[0] first, then errors[1], ...; None for an empty list."""
    if not errors:
        return None
    out = errors[0]
    for error in errors[1:]:
        out = out.compose(error)
    return out


def noise_from_backend(name_or_backend: Any, thermal_relaxation: bool = True,
                       readout_error: bool = False) -> NoiseModel:
    """The calibrated gate noise of an IBM backend (a `FAKE_BACKENDS` name or a backend object).

    Wraps ``NoiseModel.from_backend``: depolarizing plus thermal relaxation per gate and qubit, on
    the backend's basis gates (``sx``, ``x``, ``cz``/``ecr``, ...; ``rz`` is virtual and exact).
    Readout errors are left out by default: expectation values are computed without measurement,
    so only the shot-based path would see them. Circuits must be in the backend's basis for the
    errors to apply: see `fit_to_noise_model`. Errors sit on physical qubits; a circuit's qubit i
    is physical qubit i unless it was transpiled with a layout.
    """
    from qiskit_aer.noise import NoiseModel

    backend = fake_backend(name_or_backend) if isinstance(name_or_backend, str) else name_or_backend
    if not hasattr(backend, "target") and not hasattr(backend, "properties"):
        raise TypeError(f"noise_from_backend needs a backend name or a backend object; "
                        f"got {type(backend).__name__}")
    return NoiseModel.from_backend(backend, thermal_relaxation=thermal_relaxation,
                                   readout_error=readout_error)


def fit_to_noise_model(circuit: QuantumCircuit, noise_model: NoiseModel | None) -> QuantumCircuit:
    """``circuit`` itself if its gates are all basis gates of ``noise_model`` (or there is no model);
    else the circuit translated into those basis gates (no layout, no optimisation), so that the
    model's errors follow its gates. Parameters stay free (angles may become affine expressions)."""
    if noise_model is None:
        return circuit
    basis = set(noise_model.basis_gates)
    if {inst.operation.name for inst in circuit.data} <= basis:
        return circuit
    return transpile(circuit, basis_gates=sorted(basis), optimization_level=0)


def noisy_circuit(circuit: QuantumCircuit, noise: Any, inputs: Sequence[Parameter] = ()
                  ) -> tuple[QuantumCircuit, NoiseModel | None]:
    """What an engine executes for ``circuit`` under ``noise`` (anything `as_noise_model` takes):
    the noise model cut to the circuit's qubits, and the circuit in that model's basis gates. A
    `NoiseSpec` (or a ``--noise`` string) gives its gate-attached model (possibly empty) and the
    circuit with its positional channels as instructions (`NoiseSpec.place`; ``inputs``, the
    circuit's input parameters, give the input-damping rates)."""
    spec = _as_spec(noise)
    if spec is not None:
        model = spec._gate_model()
        return spec.place(fit_to_noise_model(circuit, model), inputs), model
    noise_model = as_noise_model(noise)
    if noise_model is None:
        return circuit, None
    noise_model = restrict_noise_model(noise_model, circuit.num_qubits)
    return fit_to_noise_model(circuit, noise_model), noise_model


def _as_spec(noise: Any) -> NoiseSpec | None:
    """A NoiseSpec as is; a string that is not a fake backend name parsed; anything else None."""
    if isinstance(noise, NoiseSpec):
        return noise
    if isinstance(noise, str) and noise.lower() not in FAKE_BACKENDS:
        try:
            return NoiseSpec.parse(noise)
        except ValueError as err:
            raise ValueError(f"{err}; or a fake backend name: {', '.join(sorted(FAKE_BACKENDS))}") from None
    return None


def restrict_noise_model(noise_model: NoiseModel, qubits: int | Iterable[int], readout: bool = True) -> NoiseModel:
    """The errors of ``noise_model`` that can act on ``qubits`` (an int n: qubits 0..n-1), as a new
    model (the model itself when nothing is cut); ``readout=False`` leaves its readout errors out.

    A circuit on those qubits simulates exactly as under the full model; the smaller model is far
    quicker to hand to Aer (a 133-qubit backend model costs seconds per run). Custom noise passes
    (``from_backend``'s relaxation during delays) are kept as they are.
    """
    from qiskit_aer.noise import NoiseModel

    keep = set(range(qubits)) if isinstance(qubits, int) else set(qubits)
    has_readout = noise_model._default_readout_error is not None or noise_model._local_readout_errors
    if not noise_model._noise_qubits - keep and (readout or not has_readout):
        return noise_model
    out = NoiseModel(basis_gates=noise_model.basis_gates)
    out._custom_noise_passes = list(noise_model._custom_noise_passes)
    for name, error in noise_model._default_quantum_errors.items():
        out.add_all_qubit_quantum_error(error, name, warnings=False)
    for name, per_qubits in noise_model._local_quantum_errors.items():
        for on, error in per_qubits.items():
            if set(on) <= keep:
                out.add_quantum_error(error, name, on, warnings=False)
    if not readout:
        return out
    if noise_model._default_readout_error is not None:
        out.add_all_qubit_readout_error(noise_model._default_readout_error, warnings=False)
    for on, error in noise_model._local_readout_errors.items():
        if set(on) <= keep:
            out.add_readout_error(error, on, warnings=False)
    return out


def as_noise_model(noise: Any) -> NoiseModel | None:
    """``None`` -> ``None``; an Aer ``NoiseModel`` as is; anything with ``to_noise_model()`` converted;
    a string: a `FAKE_BACKENDS` name -> `noise_from_backend`, else `NoiseSpec.parse`. A spec with
    positional channels has no such model (``ValueError``): engines take it through `noisy_circuit`."""
    if noise is None:
        return None
    from qiskit_aer.noise import NoiseModel

    if isinstance(noise, NoiseModel):
        return noise
    if isinstance(noise, str) and noise.lower() in FAKE_BACKENDS:
        return noise_from_backend(noise)
    spec = _as_spec(noise)
    if spec is not None:
        return spec.to_noise_model()
    if hasattr(noise, "to_noise_model"):
        return noise.to_noise_model()
    raise TypeError(f"noise must be a NoiseSpec, an Aer NoiseModel, a noise string or None; "
                    f"got {type(noise).__name__}")


__all__ = ["AFTER_ENTANGLERS", "ANSATZ_GATES", "DAMPINGS", "FAKE_BACKENDS", "NoiseSpec", "PLACEMENTS", "as_noise_model",
           "fake_backend",
           "fit_to_noise_model", "noise_from_backend", "noisy_circuit", "restrict_noise_model"]
