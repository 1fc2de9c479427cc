"""`qsnn bench`: the speed benchmark against the anchor stacks (see `qsnn_qiskit.analysis.bench`)."""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..analysis.bench import DEFAULT_ANCHORS, PLANS, SECTIONS, run_benchmark


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The benchmark's flags; shared by `qsnn bench` and benchmarks/bench_speed.py."""
    p.add_argument("--quick", action="store_true",
                   help="small sizes and one timed run each: a smoke test of the whole pipeline, "
                        "not figures to report")
    p.add_argument("--plan", choices=sorted(PLANS), default="full",
                   help="sizes: full (the reported figures, default), quick (as --quick), gpu (the training "
                        "section on CUDA alone, for benchmarks/gpu_check.sh)")
    p.add_argument("--out", default="benchmarks/results",
                   help="folder for speed.json, speed.md and speed.png (default benchmarks/results)")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated parts to measure (default all: {','.join(SECTIONS)})")
    p.add_argument("--anchors", default=str(DEFAULT_ANCHORS),
                   help=f"folder of the anchor scripts (default {DEFAULT_ANCHORS})")
    p.add_argument("--no-anchors", action="store_true",
                   help="measure our engines only; anchors are recorded as skipped")
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads here and OMP threads of the anchor subprocesses (default 2)")


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = ("Measure forward + backward throughput of the torch and Aer "
                     "engines beside the anchor scripts in one run, and write "
                     "speed.json, speed.md and speed.png.")
    add_arguments(p)
    p.set_defaults(handler=run)


def command_line(prog: str, args: argparse.Namespace) -> str:
    """The invocation, spelled out with every option, for the results file."""
    words = [*shlex.split(prog), "--out", args.out, "--sections", args.sections, "--threads", str(args.threads)]
    words += ["--plan", args.plan] if args.plan != "full" else []
    words += ["--no-anchors"] if args.no_anchors else ["--anchors", args.anchors]
    return shlex.join(words + (["--quick"] if args.quick else []))


def run(args: argparse.Namespace, prog: str = "qsnn bench") -> int:
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    results = run_benchmark(Path(args.out), "quick" if args.quick else args.plan, sections,
                            None if args.no_anchors else Path(args.anchors), args.threads,
                            command=command_line(prog, args))
    print((Path(args.out) / "speed.md").read_text())
    print(f"wrote {args.out}/speed.json, speed.md, speed.png in {results['wall_s']:.0f} s")
    return 0
