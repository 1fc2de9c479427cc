"""The noise a target's jobs see, as something to train under: the circuit that `qsnn submit` runs
(the light-cone packed circuit when cones pack without SWAPs, else the routed ISA circuit), cut into
its image slots, on the physical qubits it runs on, with the backend's calibrated gate and thermal
relaxation errors there and each measured qubit's readout error as an exact affine map of <Z>.

Spelled ``"device:NAME"`` wherever noise is a string (``qsnn train --noise-backend NAME``, a run's
config): NAME is a shipped target (``fake_torino``) or a fake backend name, whose target is then the
default one (`default_target`). A bare fake backend name as noise means something else: that
backend's gate errors on the logical qubits 0..n-1 of the untranspiled circuit
(``circuits.noise.noise_from_backend``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from .._providers import FAKE_BACKENDS
from ..circuits.noise import noise_from_backend, restrict_noise_model
from .backends import get_backend
from .calibration import readout_map
from .cones import z_qubit
from .isa import transpile_for
from .packing import MIN_SUCCESS, choose_packing
from .targets import BackendSpec, Target, TranspileSpec, load_target, target_names

if TYPE_CHECKING:
    from qiskit_aer.noise import NoiseModel

    from ..circuits import Ansatz

DEVICE_PREFIX = "device:"
#: the transpilation of a fake backend that has no shipped target (that of ``fake_torino.toml``)
_DEFAULT_TRANSPILE = TranspileSpec(optimization_level=2, layout_method="sabre", routing_method="sabre", seed=20200626)


def device_target_name(noise: Any) -> str | None:
    """NAME of a ``"device:NAME"`` noise string; None for any other noise."""
    if isinstance(noise, str) and noise.lower().startswith(DEVICE_PREFIX):
        return noise[len(DEVICE_PREFIX):]
    return None


def default_target(name: str) -> Target:
    """The shipped target ``name``, or for a fake backend without one, that backend under the
    default transpilation (`_DEFAULT_TRANSPILE`); ``ValueError`` naming both lists otherwise."""
    if name in target_names():
        return load_target(name)
    if name.lower() in FAKE_BACKENDS:
        return Target(name.lower(), BackendSpec(kind="fake", name=FAKE_BACKENDS[name.lower()]), _DEFAULT_TRANSPILE,
                      description=f"{FAKE_BACKENDS[name.lower()]} under the default transpilation")
    raise ValueError(f"unknown device {name!r} for device noise; shipped targets: {', '.join(target_names())}; "
                     f"fake backends: {', '.join(sorted(FAKE_BACKENDS))}")


@dataclass(frozen=True)
class DeviceSlot:
    """One image slot of a target's circuit.

    ``circuit``: its ISA gates on the backend's qubits, fed by the ansatz's own input and weight
    parameters; ``observables``: Z on the physical qubit each output is read from (n_outputs);
    ``readout``: (n_outputs, 2), the <Z> read is ``readout[j, 0] * <Z> + readout[j, 1]``.
    """

    circuit: QuantumCircuit
    observables: list[SparsePauliOp]
    readout: np.ndarray


@dataclass(frozen=True)
class DeviceNoise:
    """The circuit a target runs, slot by slot, and the backend's gate errors on its qubits.

    ``pack``: ``"cones"`` (several images per execution, one slot each) or ``"none"`` (one slot:
    the routed circuit); ``noise_model``: gate and thermal relaxation errors on the qubits used,
    without readout (that is in each slot's ``readout``).
    """

    target: str
    backend: str
    pack: str
    slots: list[DeviceSlot]
    noise_model: NoiseModel

    def describe(self) -> str:
        qubits = sorted({q for s in self.slots for o in s.observables for q in [z_qubit(o)]})
        return (f"target {self.target} (backend {self.backend}): the circuit its jobs run (--pack {self.pack}, {len(self.slots)} "
                f"image slot(s)), calibrated gate, relaxation and readout errors on physical qubits "
                f"{', '.join(map(str, qubits))} (measured)")


def _slot_circuit(isa: QuantumCircuit, qubits: set[int], rename: dict) -> QuantumCircuit:
    """The gates of ``isa`` on ``qubits`` (every one of them inside), parameters renamed."""
    out = QuantumCircuit(isa.num_qubits)
    for inst in isa.data:
        on = [isa.find_bit(q).index for q in inst.qubits]
        if inst.operation.name != "barrier" and set(on) <= qubits:
            out.append(inst.operation, on)
    return out.assign_parameters(rename, strict=False) if rename else out


def device_noise(ansatz: Ansatz, target: str | Target, pack: str | None = None,
                 min_success: float = MIN_SUCCESS) -> DeviceNoise:
    """What ``ansatz`` runs as on ``target`` (a name as `default_target` takes, or a `Target`):
    packed or not as `qsnn submit --pack` chooses (`choose_packing`; None: its default)."""
    spec = target if isinstance(target, Target) else default_target(target)
    backend = get_backend(spec)
    full = noise_from_backend(backend, readout_error=True)
    packed, mode = choose_packing(ansatz, spec, backend, pack, None, min_success)
    if packed is None:
        isa, observables = transpile_for(ansatz, spec, backend)
        slots = [DeviceSlot(isa, list(observables), _readout(full, observables))]
    else:
        n_out, slots = packed.n_outputs, []
        for i, row in enumerate(packed.placement.groups):
            rename = {p: ansatz.input_params[k] for p, (kind, slot, k) in zip(packed.isa.parameters, packed.columns)
                      if kind == "x" and slot == i}
            observables = packed.observables[i * n_out:(i + 1) * n_out]
            circuit = _slot_circuit(packed.isa, {q for group in row for q in group}, rename)
            slots.append(DeviceSlot(circuit, observables, _readout(full, observables)))
    used = {s.circuit.find_bit(q).index for s in slots for inst in s.circuit.data for q in inst.qubits}
    return DeviceNoise(spec.name, backend.name, mode, slots, restrict_noise_model(full, used, readout=False))


def _readout(noise_model: NoiseModel, observables: list[SparsePauliOp]) -> np.ndarray:
    return np.array([readout_map(noise_model, z_qubit(o)) for o in observables])
