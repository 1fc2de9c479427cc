"""`qsnn transpile RUN_DIR --target NAME`: the run's circuit as the target's ISA circuit (QPY), a
drawing (PNG) and a report (markdown and JSON: depth, two-qubit gates, layout, success probability)."""
from __future__ import annotations

import argparse

from ..backends import load_target, target_names
from ..backends.packing import MIN_SUCCESS
from ..hardware.transpiled import write_transpiled


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = ("Transpile the quantum layer of a `qsnn train` run to the ISA of a target in "
                     "transpile/ (or a TOML file) and write RUN_DIR/transpiled/<target>/: circuit.qpy, "
                     "circuit.png, report.md and report.json (depth, two-qubit gates, layout, estimated "
                     "success probability from the backend's calibration), beside light-cone packed execution "
                     "(two-qubit gates and success probability per output, images per circuit execution, "
                     "shots per image).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `qsnn train`")
    p.add_argument("--target", required=True,
                   help=f"a target name ({', '.join(target_names())}) or the path of a target .toml file")
    p.add_argument("--no-draw", action="store_true", help="skip the PNG drawing")
    p.add_argument("--min-success", type=float, default=MIN_SUCCESS,
                   help=f"least estimated success probability (calibrated gate and readout errors) of a light "
                        f"cone's qubit group when packing (default {MIN_SUCCESS}); lower packs more images per "
                        "circuit execution on worse qubits")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    load_target(args.target)   # a bad target fails before the run is loaded
    out, report = write_transpiled(args.run_dir, args.target, draw=not args.no_draw, min_success=args.min_success)
    packing = report.packing
    p = report.success_probability
    print(f"{report.backend}: {report.num_qubits} qubits on physical {report.layout}, depth {report.depth}, "
          f"{report.two_qubit_gates} two-qubit gates, estimated success probability "
          f"{'n/a' if p is None else f'{p:.4f}'}")
    if packing.packed is None:
        print(f"light-cone packing: not possible ({packing.packed_error})")
    else:
        c, p_out = packing.packed, packing.packed.success_probability_per_output
        print(f"light-cone packed: {c.images_per_execution} images per execution, "
              f"{c.two_qubit_gates_per_output[0]:.1f} two-qubit gates per output, estimated success probability "
              f"per output {'n/a' if p_out is None else f'{p_out[0]:.4f} (min {p_out[1]:.4f})'}, "
              f"{'SWAPs needed' if packing.swaps else 'no SWAPs'}; qsnn submit defaults to --pack {packing.default}")
    print(f"wrote {out}/ (circuit.qpy, {'' if args.no_draw else 'circuit.png, '}report.md, report.json)")
    return 0
