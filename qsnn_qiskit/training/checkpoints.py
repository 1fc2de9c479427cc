"""The trainer's checkpoint files (``checkpoints/last.pt``) and the RNG states they hold.

The file is a `qsnn_qiskit._checkpoint` file: tensors and plain values only, read with
``weights_only=True``. RNG states are converted to that form here.
"""
from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

from .. import _checkpoint

#: Marks a file as a trainer checkpoint; any other file is refused as foreign.
TRAINER_CHECKPOINT = _checkpoint.CheckpointFormat(
    marker="qsnn-checkpoint", version=1, kind="qsnn checkpoint",
    advice="restore an earlier copy, or move it aside: `qsnn train --resume RUN_DIR` then trains that run "
           "again from its first epoch (checkpoints are written only by `qsnn train`)")


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write a trainer's ``state`` to ``path`` atomically (see `qsnn_qiskit._checkpoint`)."""
    _checkpoint.save_checkpoint(path, state, TRAINER_CHECKPOINT)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A trainer checkpoint; ``FileNotFoundError`` if missing, ``ValueError`` naming a damaged or foreign file."""
    return _checkpoint.load_checkpoint(path, TRAINER_CHECKPOINT)


def capture_rng() -> dict[str, Any]:
    """The global RNG states of torch, numpy and Python as tensors and plain values."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": np_kind, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "cached_gaussian": float(np_gauss)},
        "python": {"version": py_version, "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss_next": py_gauss},
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Restore what ``capture_rng`` captured."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))
