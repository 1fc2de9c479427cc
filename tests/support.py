"""What several test files share and use at import time (the fixtures are in conftest.py): the
repository's root, the flags of the tiny training run every command-line test trains, and reading
a run's metrics without its wall times, and a circuit's exact outputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from qiskit.quantum_info import Statevector

from qsnn_qiskit.training import rundir

#: the repository checkout (tests/support.py -> tests -> the root)
ROOT = Path(__file__).resolve().parents[1]

#: `qsnn train` flags of the tiny run: SQDR-CNN 2q-1b on 24 embedded images of 3 classes, torch engine
TINY_FLAGS = ["--qubits", "2", "--blocks", "1", "--classes", "0,1,2", "--limit", "24", "--batch-size", "8",
              "--engine", "torch", "--no-progress"]


#: metrics.csv columns of times and memory, which differ between equal runs
MEASURED = ("seconds", "train_images_per_s", "rss_mib", "peak_rss_mib")


def run_metrics(run_dir: Path) -> list[dict]:
    """metrics.csv of a run without the columns of times and memory (`MEASURED`)."""
    return [{k: v for k, v in row.items() if k not in MEASURED} for row in rundir.read_metrics(run_dir)]


def exact_outputs(ansatz, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(batch, n_outputs) from Qiskit's Statevector of the untranspiled circuit."""
    return np.array([[Statevector(ansatz.assign(xi, w)).expectation_value(o).real for o in ansatz.observables]
                     for xi in x])
