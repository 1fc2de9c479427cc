"""Unpacked and light-cone packed execution side by side: two-qubit gates and estimated success
probability per output (each output's light cone in the ISA circuit that actually runs), depth,
circuit executions and shots per image."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp

from ..backends.cones import cone_of, z_qubit
from .report import success_probability


@dataclass(frozen=True)
class ExecutionCost:
    """One way to run a circuit's outputs. Per-output figures are (mean, worst) over outputs."""

    images_per_execution: int
    depth: int
    two_qubit_gates_per_output: tuple[float, int]
    success_probability_per_output: tuple[float, float] | None
    executions_per_image: float
    shots_per_image: float


def execution_cost(isa: QuantumCircuit, observables: list[SparsePauliOp], backend: BackendV2, images: int,
                   shots: int) -> ExecutionCost:
    """Cost of ``isa`` evaluating ``images`` images per execution, ``shots`` shots per execution."""
    gates, probs = [], []
    for o in observables:
        q = z_qubit(o)
        cone = cone_of(isa, q)
        gates.append(sum(1 for inst in cone.data if inst.operation.num_qubits == 2))
        probs.append(success_probability(cone, backend, [q]))
    p = None if any(v is None for v in probs) else (float(np.mean(probs)), float(min(probs)))
    return ExecutionCost(images, isa.depth(), (float(np.mean(gates)), int(max(gates))), p, 1.0 / images, shots / images)


@dataclass(frozen=True)
class PackingComparison:
    """``unpacked`` and ``packed`` (None with the reason in ``packed_error`` when cones do not pack);
    ``swaps``: whether some cone needs SWAPs; ``default``: what `qsnn submit` picks."""

    unpacked: ExecutionCost
    packed: ExecutionCost | None
    swaps: bool | None
    default: str
    packed_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        def col(c: ExecutionCost | None) -> list[str]:
            if c is None:
                return ["n/a"] * 6
            p = c.success_probability_per_output
            return [str(c.images_per_execution), str(c.depth),
                    f"{c.two_qubit_gates_per_output[0]:.1f} (max {c.two_qubit_gates_per_output[1]})",
                    "n/a" if p is None else f"{p[0]:.4f} (min {p[1]:.4f})",
                    f"{c.executions_per_image:.3g}", f"{c.shots_per_image:.0f}"]
        names = ["images per circuit execution", "depth", "two-qubit gates per output",
                 "estimated success probability per output", "circuit executions per image", "shots per image"]
        lines = ["## Unpacked vs light-cone packed", "", "| quantity | unpacked | packed (cones) |", "| --- | --- | --- |"]
        lines += [f"| {n} | {u} | {p} |" for n, u, p in zip(names, col(self.unpacked), col(self.packed))]
        note = (f"packing not possible: {self.packed_error}" if self.packed is None else
                "every cone embeds without SWAPs" if not self.swaps else "some cone needs SWAPs")
        lines += ["", f"Per output: that output's light cone in the ISA circuit that runs (mean, and the worst "
                      f"output). {note}; `qsnn submit` defaults to `--pack {self.default}`."]
        return "\n".join(lines) + "\n"
