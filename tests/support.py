"""What several test files share and use at import time (the fixtures are in conftest.py): the
repository's root, the flags of the tiny training run every command-line test trains, and reading
a run's metrics without its wall times."""
from __future__ import annotations

from pathlib import Path

from qsnn_qiskit.training import rundir

#: the repository checkout (tests/support.py -> tests -> the root)
ROOT = Path(__file__).resolve().parents[1]

#: `qsnn train` flags of the tiny run: SQDR-CNN 2q-1b on 24 embedded images of 3 classes, torch engine
TINY_FLAGS = ["--qubits", "2", "--blocks", "1", "--classes", "0,1,2", "--limit", "24", "--batch-size", "8",
              "--engine", "torch", "--no-progress"]


def run_metrics(run_dir: Path) -> list[dict]:
    """metrics.csv of a run without the ``seconds`` column (wall times differ between equal runs)."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rundir.read_metrics(run_dir)]
