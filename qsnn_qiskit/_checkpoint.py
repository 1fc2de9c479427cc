"""Checkpoint files: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a dict of tensors and plain Python values only (no pickled objects), marked with
a format name and version, so loading a file never runs code from it and a foreign or damaged
file is refused with a message naming it. The trainer's checkpoints and ``SpikingMLP.save`` files
are two formats of this one kind of file.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ._atomic import atomic_write


@dataclass(frozen=True)
class CheckpointFormat:
    """One kind of checkpoint file: its ``marker`` (the ``format`` entry), ``version``, what it is
    called in messages (``kind``), and the ``advice`` a refused file's message ends with."""

    marker: str
    version: int
    kind: str
    advice: str


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any], fmt: CheckpointFormat) -> None:
    """Write ``state`` with ``fmt``'s marker and version to ``path`` atomically (a temporary file in
    the same folder, fsync, rename): a crash leaves the previous file or the new one, never a part."""
    buffer = io.BytesIO()   # serialised in memory: a full disk then raises OSError, not torch's RuntimeError
    torch.save({**state, "format": fmt.marker, "version": fmt.version}, buffer)
    atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))


def load_checkpoint(path: str | os.PathLike, fmt: CheckpointFormat) -> dict[str, Any]:
    """Read a file written by ``save_checkpoint`` with ``fmt``: ``FileNotFoundError`` if it is
    missing, ``ValueError`` naming it if it is corrupted, truncated, foreign or of another version."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{fmt.kind} {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError,
            KeyError, AttributeError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{fmt.kind} {path} is corrupted or not a {fmt.kind} ({reason}); {fmt.advice}") from None
    if not isinstance(state, dict) or state.get("format") != fmt.marker:
        raise ValueError(f"{path} is not a {fmt.kind} (no {fmt.marker!r} marker); {fmt.advice}")
    if state.get("version") != fmt.version:
        raise ValueError(f"{fmt.kind} {path} has format version {state.get('version')!r}; "
                         f"this qsnn-qiskit reads version {fmt.version}")
    return state
