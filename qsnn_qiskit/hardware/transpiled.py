"""A run's circuit transpiled for a target, written to RUN_DIR/transpiled/<target>/: the ISA circuit
(QPY), its drawing (PNG) and its report (markdown and JSON), which compares unpacked with light-cone
packed execution."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .._atomic import atomic_write, atomic_write_text
from .._plotting import pyplot, save_figure
from ..backends import get_backend, load_target, transpile_for
from ..backends.packing import MIN_SUCCESS, check_min_success, pack_circuit, resolve_pack
from ..training import load_run
from .circuit import quantum_layer, require_circuit
from .comparison import PackingComparison, execution_cost
from .report import TranspileReport, transpile_report

if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.providers import BackendV2
    from qiskit.quantum_info import SparsePauliOp

    from ..backends import Target
    from ..circuits import Ansatz

TRANSPILED_DIR = "transpiled"


def compare_packing(ansatz: Ansatz, spec: Target, backend: BackendV2, isa: QuantumCircuit,
                    observables: list[SparsePauliOp], min_success: float = MIN_SUCCESS) -> PackingComparison:
    """Unpacked (``isa``, ``observables``) beside light-cone packed execution of ``ansatz``."""
    shots = round(1.0 / spec.runtime.effective_precision ** 2)
    unpacked = execution_cost(isa, observables, backend, 1, shots)
    try:
        packed = pack_circuit(ansatz, spec, backend, min_success)
    except ValueError as err:
        return PackingComparison(unpacked, None, None, "none", str(err))
    cost = execution_cost(packed.isa, packed.observables, backend, packed.images, shots)
    swaps = packed.placement.swaps
    return PackingComparison(unpacked, cost, swaps, resolve_pack(None, swaps))


def write_transpiled(run_dir: str | Path, target: str, draw: bool = True,
                     min_success: float = MIN_SUCCESS) -> tuple[Path, TranspileReport]:
    """Transpile the quantum layer of a run for ``target``; write RUN_DIR/transpiled/<target>/
    {circuit.qpy, circuit.png, report.md, report.json}. Returns the folder and the report (its
    ``packing``: unpacked vs light-cone packed execution).
    ``ValueError`` before any work for a run without a circuit (``--ansatz classical|none``)."""
    from qiskit import qpy

    check_min_success(min_success)
    require_circuit(run_dir, "qsnn transpile")
    spec = load_target(target)
    model, _ = load_run(run_dir)
    backend = get_backend(spec)
    ansatz = quantum_layer(model).ansatz
    isa, observables = transpile_for(ansatz, spec, backend)
    report = transpile_report(isa, backend, spec)
    report = replace(report, packing=compare_packing(ansatz, spec, backend, isa, observables, min_success))
    out = Path(run_dir) / TRANSPILED_DIR / spec.name

    def write_qpy(tmp: str) -> None:
        with open(tmp, "wb") as f:
            qpy.dump(isa, f)

    atomic_write(out / "circuit.qpy", write_qpy)
    if draw:
        pyplot()   # the Agg backend before Qiskit's drawer makes the figure
        save_figure(isa.draw(output="mpl", idle_wires=False, fold=40), out / "circuit.png", dpi=110,
                    tight_box=True)
    else:
        (out / "circuit.png").unlink(missing_ok=True)   # never leave a drawing of another circuit
    # each observable as (Pauli, physical qubits, coefficient) terms
    data = report.to_dict() | {"observables": [[(p, [int(q) for q in qs], float(c.real))
                                                for p, qs, c in o.to_sparse_list()] for o in observables]}
    atomic_write_text(out / "report.json", json.dumps(data, indent=2) + "\n")
    atomic_write_text(out / "report.md", report.to_markdown())
    return out, report
