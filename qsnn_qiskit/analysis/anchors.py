"""The anchor stacks (../shared/anchors: PennyLane, TorchQuantum, qiskit-ml scripts) run as
subprocesses beside our engines, each printing its own samples/s."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any


def run_anchor(anchors: Path | None, script: str, args: list[Any], needs: str, batch: int, threads: int,
               timeout_s: float) -> dict[str, Any]:
    """Run anchor ``script`` of the folder ``anchors`` (None: skipped) on ``batch`` samples with
    ``threads`` threads; its printed ``... N samples/s`` (or ``images/s``) is the figure, or the
    finer times it prints beside it. ``needs``: the package it imports."""
    if anchors is None:
        return {"skipped": "anchors not run (--no-anchors)"}
    if find_spec(needs) is None:
        return {"skipped": f"{needs} is not installed (pip install 'qsnn-qiskit[bench]')"}
    cmd = [sys.executable, str(anchors / script), *map(str, args)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    shown = shlex.join(["python", script, *map(str, args)])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"command": shown, "error": f"timed out after {timeout_s:.0f} s"}
    found = re.findall(r"([0-9.]+) (?:samples|images)/s", proc.stdout)
    if proc.returncode != 0 or not found:
        return {"command": shown, "error": (proc.stderr or proc.stdout).strip()[-500:]}
    # the printed figure is rounded to 0.1 samples/s; the printed times are finer when present
    times = re.search(r"bs=(\d+): fwd ([0-9.]+)s bwd ([0-9.]+)s", proc.stdout)
    step = re.search(r"bs=(\d+): ([0-9.]+)s per step", proc.stdout)
    rate = (int(times[1]) / (float(times[2]) + float(times[3])) if times else
            int(step[1]) / float(step[2]) if step and float(step[2]) > 0 else float(found[-1]))
    return {"command": shown, "batch": batch, "samples_per_s": rate, "output": proc.stdout.strip()}


def ratio(ours: dict[str, Any], anchor: dict[str, Any]) -> float | None:
    """Our samples/s over the anchor's, or None when either has no figure."""
    if "samples_per_s" in ours and "samples_per_s" in anchor:
        return ours["samples_per_s"] / anchor["samples_per_s"]
    return None
