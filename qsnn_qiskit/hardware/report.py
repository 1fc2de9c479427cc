"""What an ISA circuit costs on a backend: depth, two-qubit gates, layout and the success
probability estimated from the backend's calibration."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from qiskit import QuantumCircuit
from qiskit.providers import BackendV2

from ..backends import Target, load_target
from ..backends.calibration import gate_error
from ..backends.isa import backend_width


@dataclass(frozen=True)
class TranspileReport:
    """What a transpiled circuit costs on a backend.

    ``layout``: physical qubit of each virtual qubit at the end of the circuit. ``success_probability``:
    product of (1 - error) over every gate and over the readout of each used qubit, from the
    backend's calibration (``None`` when the backend reports no error rates). ``packing``: the
    comparison with light-cone packed execution, when made.
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
    packing: Any = None   # a comparison.PackingComparison (not imported: it imports this module)

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
        return "\n".join(lines) + "\n" + ("" if self.packing is None else "\n" + self.packing.to_markdown())


def success_probability(isa: QuantumCircuit, backend: BackendV2, measured: list[int]) -> float | None:
    """Product of (1 - error) over the gates of ``isa`` and the readout of qubits ``measured``;
    ``None`` if the backend has no error rates at all."""
    log_p, seen = 0.0, False
    for inst in isa.data:
        if inst.operation.name == "barrier":
            continue
        err = gate_error(backend, inst.operation.name, tuple(isa.find_bit(q).index for q in inst.qubits))
        if err is not None:
            seen = True
            log_p += math.log1p(-min(err, 1.0 - 1e-12))
    for q in measured:
        err = gate_error(backend, "measure", (q,))
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
        target=target.name, backend=backend.name, num_qubits=len(layout), backend_qubits=backend_width(backend),
        depth=isa.depth(), two_qubit_depth=isa.depth(lambda inst: inst.operation.num_qubits == 2),
        two_qubit_gates=two_qubit, gate_counts=counts, layout=layout,
        success_probability=success_probability(isa, backend, layout))
