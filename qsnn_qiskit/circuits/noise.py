"""Noise descriptions -> Aer `NoiseModel`: the one meaning of noise that every engine reads.

`NoiseSpec` holds the channels of PAPER.md (Section 5.2), each as the probability it is applied
after a gate, and builds an Aer ``NoiseModel`` from them. The channels, as Kraus operators:

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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Gate
from qiskit.circuit.library import get_standard_gate_name_mapping

from .._providers import FAKE_BACKENDS, fake_backend

if TYPE_CHECKING:   # qiskit-aer is imported where a noise model is built: it is slow to load
    from qiskit_aer.noise import NoiseModel, QuantumError

#: Gates of the package's ansätze: always in a NoiseSpec model's basis, so circuits run as built.
ANSATZ_GATES = ("rx", "ry", "rz", "h", "cx", "cz")

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


@dataclass(frozen=True)
class NoiseSpec:
    """Gate noise: each channel follows every gate it names, on every qubit.

    Args:
        bit_flip: bit-flip probability p in [0, 1] after each gate of ``gates``.
        depolarizing: probability p in [0, 1] of an X, Y or Z error (p / 3 each) after each gate of
            ``gates`` (PAPER.md's convention; Aer's ``depolarizing_error`` parameter is 4 p / 3).
        amplitude_damping: damping rate gamma in [0, 1] after each gate of ``gates``.
        two_qubit_depolarizing: probability p in [0, 1] of one of the 15 non-identity two-qubit
            Paulis (p / 15 each) after each gate of ``two_qubit_gates``.
        gates: single-qubit gate names the 1-qubit channels follow (default: the rotations and H of
            the package's ansätze).
        two_qubit_gates: entangler names the 2-qubit channel follows.
        local_after_two_qubit: also apply bit flip then depolarizing to each qubit of every
            ``two_qubit_gates`` gate, before the two-qubit depolarizing (what the reference code does
            after its entanglers; amplitude damping is not applied there).

    The 1-qubit channels compose in the order bit flip -> depolarizing -> amplitude damping.
    """

    bit_flip: float = 0.0
    depolarizing: float = 0.0
    amplitude_damping: float = 0.0
    two_qubit_depolarizing: float = 0.0
    gates: tuple[str, ...] = ("rz", "ry", "rx", "h")
    two_qubit_gates: tuple[str, ...] = ("cz", "cx")
    local_after_two_qubit: bool = True

    PROBABILITIES: ClassVar[tuple[str, ...]] = (
        "bit_flip", "depolarizing", "amplitude_damping", "two_qubit_depolarizing")

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
        if not isinstance(self.local_after_two_qubit, bool):
            raise TypeError(f"NoiseSpec.local_after_two_qubit must be True or False; "
                            f"got {self.local_after_two_qubit!r}")

    @classmethod
    def reference(cls) -> "NoiseSpec":
        """The reference code's noisy circuit as a static model: bit flip 0.02, depolarizing 0.03
        and amplitude damping 0.02 after every rotation, bit flip and depolarizing after entanglers.

        Differences from the reference, which a gate-attached ``NoiseModel`` cannot express: the
        reference's damping rate is gamma = sigmoid(an input angle of that qubit), data-dependent,
        so a fixed gamma = 0.02 stands in for it; and its channels follow each qubit's rotation
        pair once, whereas here they follow each rotation gate (RZ, RY, RZ of a Rot each).
        """
        return cls(bit_flip=0.02, depolarizing=0.03, amplitude_damping=0.02)

    @classmethod
    def parse(cls, text: str) -> "NoiseSpec":
        """``"bit_flip=0.02,depolarizing=0.03,amplitude_damping=0.02"`` (the ``--noise`` flag) or
        ``"reference"`` -> NoiseSpec. Keys are the probability fields; ``-`` may stand for ``_``."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"noise spec must be 'reference' or KEY=VALUE pairs separated by commas, "
                             f"keys: {', '.join(cls.PROBABILITIES)}; got {text!r}")
        if text.strip() == "reference":
            return cls.reference()
        values: dict[str, float] = {}
        for item in text.split(","):
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in cls.PROBABILITIES:
                raise ValueError(f"noise spec item {item.strip()!r} is not KEY=VALUE with a known key; "
                                 f"keys: {', '.join(cls.PROBABILITIES)} (or the preset 'reference')")
            if key in values:
                raise ValueError(f"noise spec gives {key} twice: {text!r}")
            try:
                values[key] = float(value)
            except ValueError:
                raise ValueError(f"noise spec {key}={value.strip()!r} is not a number") from None
        return cls(**values)

    def is_noiseless(self) -> bool:
        return all(getattr(self, name) == 0.0 for name in self.PROBABILITIES)

    def single_qubit_error(self) -> QuantumError | None:
        """bit flip -> depolarizing -> amplitude damping on one qubit; None if all are zero."""
        from qiskit_aer.noise import amplitude_damping_error, depolarizing_error, pauli_error

        parts = [pauli_error([("X", self.bit_flip), ("I", 1.0 - self.bit_flip)]) if self.bit_flip else None,
                 depolarizing_error(4.0 * self.depolarizing / 3.0, 1) if self.depolarizing else None,
                 amplitude_damping_error(self.amplitude_damping) if self.amplitude_damping else None]
        return _compose([p for p in parts if p is not None])

    def two_qubit_error(self) -> QuantumError | None:
        """The error after each entangler: local bit flip -> depolarizing on both qubits (if
        ``local_after_two_qubit``), then two-qubit depolarizing; None if there is none."""
        from qiskit_aer.noise import depolarizing_error, pauli_error

        parts = []
        if self.local_after_two_qubit:
            local = _compose([e for e in (
                pauli_error([("X", self.bit_flip), ("I", 1.0 - self.bit_flip)]) if self.bit_flip else None,
                depolarizing_error(4.0 * self.depolarizing / 3.0, 1) if self.depolarizing else None)
                if e is not None])
            if local is not None:
                parts.append(local.tensor(local))
        if self.two_qubit_depolarizing:
            parts.append(depolarizing_error(16.0 * self.two_qubit_depolarizing / 15.0, 2))
        return _compose(parts)

    def to_noise_model(self) -> NoiseModel:
        """An Aer ``NoiseModel`` with these channels after the named gates on all qubits.

        Its basis gates hold the package's ansatz gates and every named gate, so circuits are
        simulated as built (nothing is unrolled into other gates that would carry other noise).
        """
        from qiskit_aer.noise import NoiseModel

        model = NoiseModel(basis_gates=sorted(set(ANSATZ_GATES) | set(self.gates) | set(self.two_qubit_gates)))
        one, two = self.single_qubit_error(), self.two_qubit_error()
        if one is not None and self.gates:
            model.add_all_qubit_quantum_error(one, list(self.gates))
        if two is not None and self.two_qubit_gates:
            model.add_all_qubit_quantum_error(two, list(self.two_qubit_gates))
        return model


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


def noisy_circuit(circuit: QuantumCircuit, noise: Any) -> tuple[QuantumCircuit, NoiseModel | None]:
    """What an engine executes for ``circuit`` under ``noise`` (anything `as_noise_model` takes):
    the noise model cut to the circuit's qubits, and the circuit in that model's basis gates."""
    noise_model = as_noise_model(noise)
    if noise_model is None:
        return circuit, None
    noise_model = restrict_noise_model(noise_model, circuit.num_qubits)
    return fit_to_noise_model(circuit, noise_model), noise_model


def restrict_noise_model(noise_model: NoiseModel, qubits: int | Iterable[int]) -> NoiseModel:
    """The errors of ``noise_model`` that can act on ``qubits`` (an int n: qubits 0..n-1), as a new model.

    A circuit on those qubits simulates exactly as under the full model; the smaller model is far
    quicker to hand to Aer (a 133-qubit backend model costs seconds per run). Custom noise passes
    (``from_backend``'s relaxation during delays) are kept as they are.
    """
    from qiskit_aer.noise import NoiseModel

    keep = set(range(qubits)) if isinstance(qubits, int) else set(qubits)
    if not noise_model._noise_qubits - keep:
        return noise_model
    out = NoiseModel(basis_gates=noise_model.basis_gates)
    out._custom_noise_passes = list(noise_model._custom_noise_passes)
    for name, error in noise_model._default_quantum_errors.items():
        out.add_all_qubit_quantum_error(error, name, warnings=False)
    for name, per_qubits in noise_model._local_quantum_errors.items():
        for on, error in per_qubits.items():
            if set(on) <= keep:
                out.add_quantum_error(error, name, on, warnings=False)
    if noise_model._default_readout_error is not None:
        out.add_all_qubit_readout_error(noise_model._default_readout_error, warnings=False)
    for on, error in noise_model._local_readout_errors.items():
        if set(on) <= keep:
            out.add_readout_error(error, on, warnings=False)
    return out


def as_noise_model(noise: Any) -> NoiseModel | None:
    """``None`` -> ``None``; an Aer ``NoiseModel`` as is; anything with ``to_noise_model()`` converted;
    a string: a `FAKE_BACKENDS` name -> `noise_from_backend`, else `NoiseSpec.parse`."""
    if noise is None:
        return None
    from qiskit_aer.noise import NoiseModel

    if isinstance(noise, NoiseModel):
        return noise
    if isinstance(noise, str):
        if noise.lower() in FAKE_BACKENDS:
            return noise_from_backend(noise)
        try:
            return NoiseSpec.parse(noise).to_noise_model()
        except ValueError as err:
            raise ValueError(f"{err}; or a fake backend name: {', '.join(sorted(FAKE_BACKENDS))}") from None
    if hasattr(noise, "to_noise_model"):
        return noise.to_noise_model()
    raise TypeError(f"noise must be a NoiseSpec, an Aer NoiseModel, a noise string or None; "
                    f"got {type(noise).__name__}")


__all__ = ["ANSATZ_GATES", "FAKE_BACKENDS", "NoiseSpec", "as_noise_model", "fake_backend",
           "fit_to_noise_model", "noise_from_backend", "noisy_circuit", "restrict_noise_model"]
