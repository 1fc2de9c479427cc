"""Transpile an ansatz to a target's ISA, report its cost, and reach the backend that runs it.

``transpile_for(ansatz, "fake_torino")`` -> (isa_circuit, isa_observables): the circuit in the
backend's instructions on qubits (and edges) that support them, and the observables mapped through
the circuit's final layout. A circuit wider than the backend is refused before anything is sent.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any, Callable

from qiskit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import CouplingMap, generate_preset_pass_manager

from .circuits import Ansatz
from .targets import BackendSpec, Target, load_target

TOKEN_ENV = "QISKIT_IBM_TOKEN"
INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
SAVE_ACCOUNT_HELP = (
    "save your IBM Quantum account once with\n"
    "    from qiskit_ibm_runtime import QiskitRuntimeService\n"
    "    QiskitRuntimeService.save_account(token=\"<API key>\", instance=\"<CRN or instance name>\", "
    "set_as_default=True)\n"
    f"or set the environment variables {TOKEN_ENV} (and {INSTANCE_ENV})"
)


class CredentialsError(ValueError):
    """No usable IBM Quantum account; the message says how to save one (never shows a token)."""


def runtime_service(instance: str | None = None) -> Any:
    """``QiskitRuntimeService`` from ``QISKIT_IBM_TOKEN``/``QISKIT_IBM_INSTANCE`` or the saved account.

    Raises `CredentialsError` with instructions when neither gives a working account. The token is
    passed straight to the service and never printed, logged or stored.
    """
    from qiskit_ibm_runtime import QiskitRuntimeService

    token = os.environ.get(TOKEN_ENV)
    instance = instance or os.environ.get(INSTANCE_ENV)
    kwargs: dict[str, Any] = {"instance": instance} if instance else {}
    if token:
        kwargs.update(channel="ibm_quantum_platform", token=token)
    try:
        return QiskitRuntimeService(**kwargs)
    except Exception as err:   # any failure: the message must never echo the token
        source = f"the token in ${TOKEN_ENV}" if token else "the saved account"
        raise CredentialsError(f"cannot connect to IBM Quantum with {source} ({type(err).__name__}); "
                               f"{SAVE_ACCOUNT_HELP}") from None


def _fake(spec: BackendSpec) -> BackendV2:
    from qiskit_ibm_runtime import fake_provider

    return getattr(fake_provider, spec.name)()


def _ibm(spec: BackendSpec) -> BackendV2:
    return runtime_service(spec.instance).backend(spec.name)


def _aer(spec: BackendSpec) -> BackendV2:
    from qiskit_aer import AerSimulator

    available = AerSimulator().available_devices()
    if spec.device not in available:
        raise ValueError(f"backend.device {spec.device!r} is not available here (Aer devices: "
                         f"{', '.join(available)}); the GPU needs qiskit-aer-gpu and an NVIDIA GPU")
    return AerSimulator(device=spec.device)


def _generic(spec: BackendSpec) -> BackendV2:
    from qiskit.providers.fake_provider import GenericBackendV2

    n = spec.num_qubits
    coupling = {"line": CouplingMap.from_line, "ring": CouplingMap.from_ring,
                "full": CouplingMap.from_full}[spec.coupling](n, bidirectional=True)
    return GenericBackendV2(n, list(spec.basis_gates), coupling_map=coupling, seed=spec.calibration_seed)


#: backend kind -> builder of the backend
BACKENDS: dict[str, Callable[[BackendSpec], BackendV2]] = {
    "fake": _fake, "ibm": _ibm, "aer": _aer, "generic": _generic,
}


def get_backend(target: str | Target) -> BackendV2:
    """The backend a target names (a real one needs IBM Quantum credentials)."""
    target = load_target(target)
    return BACKENDS[target.backend.kind](target.backend)


def _width(backend: BackendV2) -> int | None:
    n = backend.num_qubits
    return None if n is None or n <= 0 else n


def check_width(ansatz: Ansatz, backend: BackendV2) -> None:
    """``ValueError`` if the ansatz needs more qubits than the backend has (before anything runs)."""
    width = _width(backend)
    if width is not None and ansatz.n_qubits > width:
        raise ValueError(f"ansatz {ansatz.name!r} needs {ansatz.n_qubits} qubits but backend "
                         f"{backend.name!r} has {width}; choose a smaller ansatz or a larger backend")


def transpile_for(ansatz: Ansatz, target: str | Target, backend: BackendV2 | None = None
                  ) -> tuple[QuantumCircuit, list[SparsePauliOp]]:
    """The ansatz as an ISA circuit of ``target`` and its observables mapped to the physical qubits.

    ``backend`` (optional) is the target's backend if already built. Returns (isa_circuit,
    isa_observables): one ``SparsePauliOp`` on ``isa_circuit.num_qubits`` qubits per output.
    """
    target = load_target(target)
    backend = backend if backend is not None else get_backend(target)
    check_width(ansatz, backend)
    t = target.transpile
    pass_manager = generate_preset_pass_manager(
        optimization_level=t.optimization_level, backend=backend,
        layout_method=None if t.layout_method == "default" else t.layout_method,
        routing_method=None if t.routing_method == "default" else t.routing_method,
        seed_transpiler=t.seed)
    isa = pass_manager.run(ansatz.circuit)
    observables = [o.apply_layout(isa.layout) for o in ansatz.observables]
    return isa, observables


@dataclass(frozen=True)
class TranspileReport:
    """What a transpiled circuit costs on a backend.

    ``layout``: physical qubit of each virtual qubit at the end of the circuit. ``success_probability``:
    product of (1 - error) over every gate and over the readout of each used qubit, from the
    backend's calibration (``None`` when the backend reports no error rates).
    """

    target: str
    backend: str
    num_qubits: int
    backend_qubits: int | None
    depth: int
    two_qubit_depth: int
    two_qubit_gates: int
    gate_counts: dict[str, int]
    layout: list[int]
    success_probability: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        p = self.success_probability
        rows = [
            ("target", self.target), ("backend", f"{self.backend} ({self.backend_qubits or 'any'} qubits)"),
            ("circuit qubits", self.num_qubits), ("depth", self.depth),
            ("two-qubit depth", self.two_qubit_depth), ("two-qubit gates", self.two_qubit_gates),
            ("gates", ", ".join(f"{k}: {v}" for k, v in self.gate_counts.items())),
            ("layout (virtual -> physical)", ", ".join(f"{v}->{q}" for v, q in enumerate(self.layout))),
            ("estimated success probability", "n/a (no calibration)" if p is None else f"{p:.4f}"),
        ]
        lines = ["# Transpilation report", "", "| quantity | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        lines += ["", "The success probability is the product of (1 - error rate) over every gate and the "
                      "readout of each used qubit, from the backend's calibration: a rough figure of merit, "
                      "not a prediction of accuracy."]
        return "\n".join(lines) + "\n"


def _error(backend: BackendV2, name: str, qubits: tuple[int, ...]) -> float | None:
    target = backend.target
    if name not in target.operation_names:
        return None
    props = target[name].get(qubits)
    return None if props is None or props.error is None else float(props.error)


def success_probability(isa: QuantumCircuit, backend: BackendV2, measured: list[int]) -> float | None:
    """Product of (1 - error) over the gates of ``isa`` and the readout of qubits ``measured``;
    ``None`` if the backend has no error rates at all."""
    log_p, seen = 0.0, False
    for inst in isa.data:
        if inst.operation.name == "barrier":
            continue
        err = _error(backend, inst.operation.name, tuple(isa.find_bit(q).index for q in inst.qubits))
        if err is not None:
            seen = True
            log_p += math.log1p(-min(err, 1.0 - 1e-12))
    for q in measured:
        err = _error(backend, "measure", (q,))
        if err is not None:
            seen = True
            log_p += math.log1p(-min(err, 1.0 - 1e-12))
    return math.exp(log_p) if seen else None


def transpile_report(isa: QuantumCircuit, backend: BackendV2, target: str | Target) -> TranspileReport:
    """Depth, two-qubit gate count, layout and estimated success probability of ``isa``."""
    target = load_target(target)
    layout = list(isa.layout.final_index_layout()) if isa.layout is not None else list(range(isa.num_qubits))
    counts = {k: int(v) for k, v in isa.count_ops().items()}
    two_qubit = sum(1 for inst in isa.data if inst.operation.num_qubits == 2)
    return TranspileReport(
        target=target.name, backend=backend.name, num_qubits=len(layout), backend_qubits=_width(backend),
        depth=isa.depth(), two_qubit_depth=isa.depth(lambda inst: inst.operation.num_qubits == 2),
        two_qubit_gates=two_qubit, gate_counts=counts, layout=layout,
        success_probability=success_probability(isa, backend, layout))
