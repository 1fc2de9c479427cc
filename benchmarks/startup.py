"""Start-up cost: ``import qsnn_qiskit`` and ``qsnn --help`` in fresh interpreters, and which of the
slow qiskit packages they load.

    python benchmarks/startup.py                        # this checkout
    python benchmarks/startup.py --baseline ../old      # beside another checkout (e.g. a worktree
                                                        # of an earlier commit), in the same run

Each figure is the median wall time of ``--repeats`` fresh processes (one untimed run first warms
the file cache; the checkouts take turns), and the package's own import time (the cumulative time
of its top-level entries in ``python -X importtime``).
Writes benchmarks/results/startup.{json,md}. Time it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from qsnn_qiskit._atomic import atomic_write_text  # noqa: E402
from qsnn_qiskit.analysis import machine  # noqa: E402

HEAVY = ("qiskit_aer", "qiskit_ibm_runtime", "qiskit_machine_learning", "torch", "qiskit")
PROBES = {
    "import qsnn_qiskit": "import qsnn_qiskit",
    "qsnn --help": "import contextlib, io\nfrom qsnn_qiskit.cli import main\n"
                   "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
                   "    main(['--help'])",
    "qsnn train --help": "import contextlib, io\nfrom qsnn_qiskit.cli import main\n"
                         "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
                         "    main(['train', '--help'])",
    # what every training process pays before its first step
    "SQDRCNN forward (torch engine)": "import torch\nfrom qsnn_qiskit import SQDRCNN\n"
                                      "SQDRCNN(n_qubits=2, blocks=1, n_classes=2)(torch.zeros(1, 1, 28, 28))",
}


def _run(checkout: Path, code: str, *flags: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that imports qsnn_qiskit from ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, cwd=checkout,
                          env=env, check=True)


def measure(checkouts: dict[str, Path], repeats: int) -> dict:
    """Per checkout and probe: median wall seconds, qsnn_qiskit's own import time, the HEAVY packages
    loaded. The checkouts take turns in every repeat, so a change of the machine's load hits all alike."""
    times: dict[tuple[str, str], list[float]] = {}
    for name, code in PROBES.items():
        for path in checkouts.values():
            _run(path, code)   # warms the file cache
        for _ in range(repeats):
            for label, path in checkouts.items():
                start = time.perf_counter()
                _run(path, code)
                times.setdefault((label, name), []).append(time.perf_counter() - start)
    out: dict = {}
    for label, path in checkouts.items():
        for name, code in PROBES.items():
            report = _run(path, code, "-X", "importtime").stderr.splitlines()
            package_us = sum(int(cumulative) for _, cumulative, module in (line.split("|") for line in report
                                                                            if "|" in line)
                             if module.startswith(" qsnn_qiskit") and cumulative.strip().isdigit())
            listing = _run(path, f"{code}\nimport json, sys\n"
                                 f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
            runs = times[(label, name)]
            out.setdefault(label, {})[name] = {
                "median_s": statistics.median(runs), "runs_s": runs, "qsnn_qiskit_import_s": package_us / 1e6,
                "loads": json.loads(listing.stdout.strip().splitlines()[-1])}
    return out


def _commit(checkout: Path) -> str:
    """The checkout's git commit (short), or "not a git checkout"."""
    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "not a git checkout"


def _markdown(results: dict) -> str:
    m = results["machine"]
    commits = ", ".join(f"{label}: {commit}" for label, commit in results["commits"].items())
    lines = ["# Start-up cost", "", f"Command: `{results['command']}` ({results['date']}).", "",
             f"Commits: {commits} (the working tree as it was when measured).", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; load average "
             f"{results['load_average']:.2f} at the start.", "",
             f"Median wall time of {results['repeats']} fresh processes after one untimed run; the package's "
             "own import time from `python -X importtime`; the slow packages each probe loads.", "",
             "| checkout | probe | wall s (median) | qsnn_qiskit import s | loads |",
             "| --- | --- | ---: | ---: | --- |"]
    for label, probes in results["checkouts"].items():
        for probe, r in probes.items():
            lines.append(f"| {label} | `{probe}` | {r['median_s']:.2f} | {r['qsnn_qiskit_import_s']:.2f} | "
                         f"{', '.join(r['loads'])} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure in the same run")
    parser.add_argument("--repeats", type=int, default=7, help="timed processes per probe (default 7)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder of startup.json and startup.md (default benchmarks/results)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1; got {args.repeats}")
    if args.baseline is not None and not (args.baseline / "qsnn_qiskit" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline} is not a qsnn-qiskit checkout (no qsnn_qiskit/__init__.py)")
    checkouts = {"this checkout": ROOT}
    if args.baseline is not None:
        checkouts = {f"baseline ({args.baseline.name})": args.baseline.resolve(), **checkouts}
    results = {"command": " ".join(["python", *sys.argv]), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "machine": machine(threads=1), "load_average": os.getloadavg()[0], "repeats": args.repeats,
               "commits": {label: _commit(path) for label, path in checkouts.items()},
               "checkouts": measure(checkouts, args.repeats)}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "startup.json", json.dumps(results, indent=2) + "\n")
    atomic_write_text(args.out / "startup.md", _markdown(results))
    print(_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
