"""Whole-model training speed as a user meets it: `qsnn train` epochs on the 8k/2k MNIST split with
1 or 2 threads and 1 or 2 processes, peak memory at batch 16 and 64, and no memory growth over 20
epochs of a tiny model. Writes benchmarks/results/training_speed.{json,md}.

    python benchmarks/training_speed.py            # about 5 minutes on 2 cores
    python benchmarks/training_speed.py --quick    # tiny sizes, seconds: a smoke test

The step table beside the reference stack is `qsnn bench --sections training` (its own results
folder, benchmarks/results/training/). Time on a quiet machine: this script runs one training
at a time, and nothing else should run beside it.
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qsnn_qiskit._atomic import atomic_write_text  # noqa: E402
from qsnn_qiskit.analysis.provenance import machine  # noqa: E402
from qsnn_qiskit.training import rundir  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist-test-10k"
#: (processes, threads) of each timed `qsnn train`
LAYOUTS = ((1, 1), (1, 2), (2, 1))
#: growth of resident memory from epoch 2 to epoch 20 allowed before the check fails, MiB
GROWTH_LIMIT_MIB = 8.0


def _train(flags: list[str], run_dir: Path, processes: int, threads: int) -> list[dict[str, float]]:
    command = [sys.executable, "-m", "qsnn_qiskit.cli", "train", *flags, "--run-dir", str(run_dir),
               "--no-progress", "--processes", str(processes), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed:\n{done.stderr[-2000:]}")
    return rundir.read_metrics(run_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not figures to report")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder for training_speed.json and .md (default benchmarks/results)")
    args = parser.parse_args(argv)
    data = ["--dataset", "default", "--limit", "64"] if args.quick else ["--dataset", f"idx:{MNIST}"]
    if not args.quick and not MNIST.is_dir():
        raise SystemExit(f"{MNIST} is missing: the 8k/2k MNIST split lives in ../shared/data")
    tiny = ["--qubits", "2", "--blocks", "1", "--classes", "0,1,2", "--limit", "24", "--batch-size", "8"]
    epochs_memory = 3 if args.quick else 20
    results: dict = {"command": shlex.join(["python", "benchmarks/training_speed.py", *(argv or sys.argv[1:])]),
                     "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "machine": machine(1), "data": data, "epochs": [], "memory": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for batch in (16, 64):
            for processes, threads in LAYOUTS:
                run = Path(tmp) / f"b{batch}-p{processes}-t{threads}"
                (row,) = _train([*data, "--epochs", "1", "--batch-size", str(batch)], run, processes, threads)
                results["epochs"].append({"batch": batch, "processes": processes, "threads": threads,
                                          "train_images_per_s": row["train_images_per_s"],
                                          "epoch_seconds": row["seconds"], "peak_rss_mib": row["peak_rss_mib"]})
                print(results["epochs"][-1], flush=True)
        rows = _train([*tiny, "--epochs", str(epochs_memory)], Path(tmp) / "memory", 1, 1)
    rss = [r["rss_mib"] for r in rows]
    growth = rss[-1] - rss[1]
    results["memory"] = {"flags": tiny, "epochs": len(rows), "rss_mib": rss, "growth_mib": growth,
                         "limit_mib": GROWTH_LIMIT_MIB, "ok": growth <= GROWTH_LIMIT_MIB}
    args.out.mkdir(parents=True, exist_ok=True)
    name = "training_speed_quick" if args.quick else "training_speed"
    atomic_write_text(args.out / f"{name}.json", json.dumps(results, indent=2) + "\n")
    atomic_write_text(args.out / f"{name}.md", _markdown(results))
    print(_markdown(results))
    return 0 if results["memory"]["ok"] else 1


def _markdown(r: dict) -> str:
    m = r["machine"]
    lines = ["# `qsnn train` speed and memory", "",
             f"Command: `{r['command']}` ({r['date_utc']}). Machine: {m['cpu']}, {m['cores']} cores; "
             f"torch {m['versions']['torch']}.", "",
             f"One epoch of SQDR-CNN 2b-9q (the defaults) on `{' '.join(r['data'])}`: training images/s of the "
             "training pass (from metrics.csv), the whole epoch with validation, and rank 0's peak resident "
             "memory. Nothing else ran beside it.", "",
             "| batch | processes | threads | training images/s | epoch (s) | peak RSS (MiB) |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in r["epochs"]:
        lines.append(f"| {e['batch']} | {e['processes']} | {e['threads']} | {e['train_images_per_s']:,.0f} | "
                     f"{e['epoch_seconds']:.1f} | {e['peak_rss_mib']:,.0f} |")
    for batch in sorted({e["batch"] for e in r["epochs"]}):
        best = max((e for e in r["epochs"] if e["batch"] == batch), key=lambda e: e["train_images_per_s"])
        lines.append(f"\nFastest at batch {batch}: {best['processes']} process(es) x {best['threads']} thread(s).")
    mem = r["memory"]
    lines += ["", f"Memory over {mem['epochs']} epochs of `qsnn train {' '.join(mem['flags'])}`: resident "
              f"{mem['rss_mib'][0]:.0f} MiB after epoch 1, {mem['rss_mib'][1]:.0f} after epoch 2, "
              f"{mem['rss_mib'][-1]:.0f} after the last; growth from epoch 2 {mem['growth_mib']:+.1f} MiB "
              f"(limit {mem['limit_mib']:g}): {'no growth' if mem['ok'] else 'GROWS'}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
