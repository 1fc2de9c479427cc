"""The run directory of `qsnn train`: where each file goes, config.json and metrics.csv.

Layout (paths relative to the run directory)::

    config.json              model name, full model config, resolved settings, data description,
                             number of processes (world_size)
    metrics.csv              one row per finished epoch
    checkpoints/last.pt      the last finished epoch (model, optimiser, schedule, RNG states, history)
    tensorboard/             TensorBoard event files
    plots/curves.png         loss and accuracy per epoch (written when training ends)
    plots/confusion.png      validation confusion matrix (written when training ends)
"""
from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .._atomic import atomic_write_text
from .._version import __version__
from .checkpoints import load_checkpoint

if TYPE_CHECKING:
    from ..data import DataBundle

CONFIG = "config.json"
METRICS = "metrics.csv"
CHECKPOINT = Path("checkpoints") / "last.pt"
TENSORBOARD_DIR = "tensorboard"
CURVES_PLOT = Path("plots") / "curves.png"
CONFUSION_PLOT = Path("plots") / "confusion.png"
RUNS_ROOT = Path("runs")
FORMAT = "qsnn-run"
#: one row per epoch; ``seconds`` covers training and validation, ``train_images_per_s`` the training
#: pass alone; ``rss_mib`` / ``peak_rss_mib``: this process's resident / peak resident memory at the
#: epoch's end (rank 0's under torchrun). Runs recorded before the last three existed leave them empty.
METRIC_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds",
                  "train_images_per_s", "rss_mib", "peak_rss_mib")


def new_run_path(run_dir: str | Path | None, model: str) -> Path:
    """The folder for a new run: ``run_dir`` if it is new or empty, else ``runs/<model>-<time>``.

    Raises ``ValueError`` if ``run_dir`` already holds files (use ``--resume`` to continue a run).
    """
    if run_dir is not None:
        path = Path(run_dir)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ValueError(f"run directory {path} already exists and is not empty; choose another "
                             f"--run-dir, or continue it with --resume {path}")
        return path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = RUNS_ROOT / f"{model}-{stamp}", 1
    while path.exists():
        n += 1
        path = RUNS_ROOT / f"{model}-{stamp}-{n}"
    return path


def make_config(settings: dict[str, Any], model_config: dict[str, Any], data: DataBundle,
                command: Sequence[str] = (), world_size: int = 1) -> dict[str, Any]:
    """The contents of config.json: ``settings`` (the resolved settings as a dict), the model's
    full configuration, the data, and ``world_size``, the number of torchrun processes that started
    the run (1 for a single process)."""
    return {
        "format": FORMAT,
        "version": 1,
        "model": settings["model"],
        "model_config": model_config,
        "settings": dict(settings),
        "data": {"dataset": data.name, "class_names": list(data.class_names), "n_classes": data.n_classes,
                 "n_train": len(data.train), "n_val": len(data.val)},
        "command": list(command),
        "world_size": world_size,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "qsnn_qiskit_version": __version__,
        "python": sys.version.split()[0],
    }


def create_run(path: Path, config: dict[str, Any]) -> None:
    """Create the run directory and write its config.json."""
    text = json.dumps(config, indent=2) + "\n"   # fails before anything is created if not JSON data
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path / CONFIG, text)


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """config.json of a run; ``FileNotFoundError``/``ValueError`` naming the file when it is missing or bad."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a qsnn run directory: {path} does not exist")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}); the run directory is damaged") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{path} is not a qsnn run config (no \"format\": \"{FORMAT}\")")
    return config


def write_metrics(run_dir: Path, history: Sequence[dict[str, float]]) -> None:
    """Rewrite metrics.csv from ``history`` (one row per finished epoch), atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: row.get(k, "") for k in METRIC_COLUMNS})
    atomic_write_text(run_dir / METRICS, buffer.getvalue())


def read_metrics(run_dir: str | Path) -> list[dict[str, float]]:
    """metrics.csv as a list of rows, numbers parsed (``epoch`` as int, an empty cell as NaN)."""
    with open(Path(run_dir) / METRICS, newline="", encoding="utf-8") as f:
        return [{k: int(v) if k == "epoch" else float(v or "nan") for k, v in row.items()}
                for row in csv.DictReader(f)]


def find_run_dir(path: str | Path) -> Path | None:
    """The run directory that is or holds ``path`` (the nearest folder with a qsnn config.json)."""
    for folder in (Path(path), *Path(path).parents):
        try:
            read_config(folder)
        except (OSError, ValueError):
            continue
        return folder
    return None


def resume_advice(run_dir: str | Path) -> str:
    """What survives a run stopped by an error, and the command that continues it."""
    run_dir = Path(run_dir)
    try:
        epoch = int(load_checkpoint(run_dir / CHECKPOINT)["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        epoch = None
    if epoch is None:
        kept = "No epoch had finished, so there is no checkpoint yet"
    else:
        kept = (f"The checkpoint of the last finished epoch ({run_dir / CHECKPOINT}, epoch {epoch}) "
                f"and {run_dir / METRICS} are intact")
    return f"{kept}; free space or fix the permissions, then continue with: qsnn train --resume {run_dir}"
