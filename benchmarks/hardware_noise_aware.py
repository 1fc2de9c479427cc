"""Does training under the target's noise help on the target? Two SQDR-CNN 2b-9q runs of the same
recipe, one noiseless and one under ``--noise-backend fake_torino`` (device noise: the packed light
cones on the qubits fake_torino's jobs use), evaluated on the 2,000 validation images of the 8k/2k
MNIST split: exact without noise, exact under the device noise (torch engine, no shots), and through
`qsnn submit --target fake_torino --pack cones` (the cone-by-cone preview of local testing mode,
4,096 shots per execution). Writes benchmarks/results/hardware_noise_aware.{md,json}; submit results
land in each run's submit/fake_torino/ and a rerun fetches the chunks already done.

    PYTHONPATH=. python benchmarks/hardware_noise_aware.py NOISELESS_RUN DEVICE_RUN
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from qsnn_qiskit._atomic import atomic_write_text
from qsnn_qiskit.analysis.provenance import machine
from qsnn_qiskit.data import BatchLoader
from qsnn_qiskit.hardware import submit_run
from qsnn_qiskit.training import evaluate, load_run, run_dataset, rundir

TARGET, LIMIT, CHUNK, SEED = "fake_torino", 2000, 32, 1
OUT = Path(__file__).resolve().parent / "results" / "hardware_noise_aware"


def _se(p: float, n: int) -> float:
    """Binomial standard error of an accuracy ``p`` over ``n`` images (points of percent)."""
    return 100 * math.sqrt(p * (1 - p) / n)


def _measure(run_dir: Path) -> dict:
    """The run's accuracies: exact noiseless, exact under device noise, on the target (with shots)."""
    config = rundir.read_config(run_dir)
    data = run_dataset(config)
    n = min(LIMIT, len(data.val))
    loader = BatchLoader(data.val, CHUNK)   # even batches: sample i runs in slot i mod 2, as submit packs it
    device, _ = load_run(run_dir, noise=f"device:{TARGET}")
    under_device = evaluate(device, loader).accuracy
    result = submit_run(run_dir, TARGET, limit=n, chunk_size=CHUNK, seed=SEED, pack="cones", log=lambda _: None)
    return {"run": str(run_dir), "trained_noise": config["model_config"].get("noise"), "images": n,
            "data": f"{data.name}: {len(data.train)} training / {len(data.val)} validation images",
            "exact_noiseless": result.exact_accuracy, "exact_device_noise": under_device,
            "target": result.hardware_accuracy, "pack": result.pack,
            "correct_exact": (result.exact_pred == result.labels).tolist(),
            "correct_target": (result.hardware_pred == result.labels).tolist()}


def _paired_se(a: list[bool], b: list[bool]) -> float:
    """Standard error (points) of the difference of two accuracies on the same images (McNemar)."""
    a_, b_ = np.asarray(a), np.asarray(b)
    n = len(a_)
    d = a_.astype(float) - b_.astype(float)
    return 100 * float(np.sqrt(((d - d.mean()) ** 2).sum() / (n - 1) / n))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("noiseless", type=Path, help="run directory trained without noise")
    p.add_argument("device", type=Path, help=f"run directory trained with --noise-backend {TARGET}")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = [_measure(args.noiseless), _measure(args.device)]
    gain = 100 * (rows[1]["target"] - rows[0]["target"])
    gain_se = _paired_se(rows[1]["correct_target"], rows[0]["correct_target"])
    record = {"date": datetime.date.today().isoformat(), "command": "python " + " ".join(sys.argv),
              "machine": machine(1), "target": TARGET, "shots": 4096, "rows": rows,
              "target_gain_points": gain, "target_gain_se": gain_se}
    lines = ["# Noise-aware training on the target: fake_torino, SQDR-CNN 2b-9q", "",
             f"- date: {record['date']}; machine: {record['machine']['cpu']}, {record['machine']['cores']} cores",
             f"- command: `{record['command']}`",
             f"- data: {rows[0]['data']}; the first {rows[0]['images']} validation images evaluated",
             "- on the target: `qsnn submit --target fake_torino --pack cones --seed 1` (the cone-by-cone preview "
             "of local testing mode, 4,096 shots per circuit execution)", "",
             "| trained under | exact, noiseless (%) | exact, device noise (%) | fake_torino, shots (%) |",
             "| --- | ---: | ---: | ---: |"]
    for r in rows:
        n = r["images"]
        lines.append(f"| {r['trained_noise'] or 'no noise'} | {100 * r['exact_noiseless']:.2f} "
                     f"| {100 * r['exact_device_noise']:.2f} "
                     f"| {100 * r['target']:.2f} +- {_se(r['target'], n):.2f} |")
    lines += ["", f"On the target, the noise-aware model minus the noiseless one: {gain:+.2f} points "
                  f"(paired standard error {gain_se:.2f}).", ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    atomic_write_text(OUT.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
