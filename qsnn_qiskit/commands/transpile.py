"""`qsnn transpile RUN_DIR --target NAME`: the run's circuit as the target's ISA circuit (QPY), a
drawing (PNG) and a report (markdown and JSON: depth, two-qubit gates, layout, success probability)."""
from __future__ import annotations

import argparse

from ..backends import load_target, target_names
from ..hardware.transpiled import write_transpiled


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = ("Transpile the quantum layer of a `qsnn train` run to the ISA of a target in "
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
