"""`qsnn transpile RUN_DIR --target NAME`: the run's circuit as the target's ISA circuit (QPY), a
drawing (PNG) and a report (markdown and JSON: depth, two-qubit gates, layout, success probability)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..hardware import TranspileReport, get_backend, transpile_for, transpile_report
from .._atomic import atomic_write, atomic_write_text
from ..runs import load_run
from ..targets import load_target, target_names

TRANSPILED_DIR = "transpiled"


def write_transpiled(run_dir: str | Path, target: str, draw: bool = True) -> tuple[Path, TranspileReport]:
    """Transpile the quantum layer of a run for ``target``; write RUN_DIR/transpiled/<target>/
    {circuit.qpy, circuit.png, report.md, report.json}. Returns the folder and the report."""
    from qiskit import qpy

    spec = load_target(target)
    model, _ = load_run(run_dir)
    backend = get_backend(spec)
    isa, observables = transpile_for(model.quantum.ansatz, spec, backend)
    report = transpile_report(isa, backend, spec)
    out = Path(run_dir) / TRANSPILED_DIR / spec.name

    def write_qpy(tmp: str) -> None:
        with open(tmp, "wb") as f:
            qpy.dump(isa, f)

    atomic_write(out / "circuit.qpy", write_qpy)
    if draw:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        def write_png(tmp: str) -> None:
            fig = isa.draw(output="mpl", idle_wires=False, fold=40)
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
            plt.close(fig)

        atomic_write(out / "circuit.png", write_png)
    else:
        (out / "circuit.png").unlink(missing_ok=True)   # never leave a drawing of another circuit
    # each observable as (Pauli, physical qubits, coefficient) terms
    data = report.to_dict() | {"observables": [[(p, [int(q) for q in qs], float(c.real))
                                                for p, qs, c in o.to_sparse_list()] for o in observables]}
    atomic_write_text(out / "report.json", json.dumps(data, indent=2) + "\n")
    atomic_write_text(out / "report.md", report.to_markdown())
    return out, report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transpile", help="transpile a run's circuit for a hardware target; write QPY, PNG, report",
        description="Transpile the quantum layer of a `qsnn train` run to the ISA of a target in "
                    "transpile/ (or a TOML file) and write RUN_DIR/transpiled/<target>/: circuit.qpy, "
                    "circuit.png, report.md and report.json (depth, two-qubit gates, layout, estimated "
                    "success probability from the backend's calibration).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `qsnn train`")
    p.add_argument("--target", required=True,
                   help=f"a target name ({', '.join(target_names())}) or the path of a target .toml file")
    p.add_argument("--no-draw", action="store_true", help="skip the PNG drawing")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    load_target(args.target)   # a bad target fails before the run is loaded
    out, report = write_transpiled(args.run_dir, args.target, draw=not args.no_draw)
    p = report.success_probability
    print(f"{report.backend}: {report.num_qubits} qubits on physical {report.layout}, depth {report.depth}, "
          f"{report.two_qubit_gates} two-qubit gates, estimated success probability "
          f"{'n/a' if p is None else f'{p:.4f}'}")
    print(f"wrote {out}/ (circuit.qpy, {'' if args.no_draw else 'circuit.png, '}report.md, report.json)")
    return 0
