"""Robustness testbench: accuracy of a model on corrupted images, per corruption and intensity.

`evaluate_robustness` gives one row per (corruption, level), plus a ``clean`` row (level 0); the
writers turn the rows into a CSV file, a markdown table and a PNG plot of accuracy against level.
"""
from __future__ import annotations

import csv
import io
import zlib
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch
from torch import nn

from .._atomic import atomic_write_text
from .._checks import check_int
from .._plotting import pyplot, save_figure
from ..data.corruptions import CORRUPTIONS, LEVELS, SEVERITY, check_corruptions
from ..training import evaluate

COLUMNS = ("corruption", "level", "severity", "accuracy", "loss", "n_images")
CLEAN = "clean"
FILES = {"csv": "robustness.csv", "markdown": "robustness.md", "plot": "robustness.png"}

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def _batches(data: Batches | tuple[torch.Tensor, torch.Tensor], batch_size: int) -> Batches:
    """Batches of (images (batch, C, H, W) in [0, 1], labels (batch,)) from a loader or two tensors."""
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        images, labels = data
        if images.ndim != 4 or labels.shape != images.shape[:1]:
            raise ValueError(f"images must be (N, C, H, W) and labels (N,); got {tuple(images.shape)} "
                             f"and {tuple(labels.shape)}")
        return [(images[i:i + batch_size], labels[i:i + batch_size]) for i in range(0, len(labels), batch_size)]
    return data


def corruption_generator(seed: int, name: str, level: int) -> torch.Generator:
    """The generator of one (corruption, level): depends on the seed and the pair only, not on
    which other corruptions run or their order."""
    return torch.Generator().manual_seed(zlib.crc32(f"{seed}:{name}:{level}".encode()))


def _score(model: nn.Module, batches: Batches, transform, device: str) -> tuple[float, float, int]:
    """(accuracy in [0, 1], mean cross-entropy, images) of ``model`` on ``transform``ed batches."""
    result = evaluate(model, batches, device=device, transform=transform, desc="robustness")
    return result.accuracy, result.loss, int(result.confusion.sum())


def evaluate_robustness(model: nn.Module, data: Batches | tuple[torch.Tensor, torch.Tensor],
                        corruptions: Sequence[str] | None = None, levels: Sequence[int] = LEVELS,
                        seed: int = 0, batch_size: int = 64, device: str = "cpu") -> list[dict[str, Any]]:
    """Accuracy (in [0, 1]) and mean cross-entropy of ``model`` on clean and corrupted images.

    Args:
        model: maps images (batch, C, H, W) in [0, 1] to logits (batch, n_classes); put in eval mode.
        data: a re-iterable loader of (images, labels) batches (e.g. ``data.BatchLoader``), or a
            pair of tensors images (N, C, H, W), labels (N,) cut into batches of ``batch_size``.
        corruptions: names from ``corruptions.CORRUPTIONS`` (default: all).
        levels: intensities, each in 1..5.
        seed: every (corruption, level) draws from its own generator seeded from (seed, name, level).

    Returns rows with keys `COLUMNS`: first the clean row (corruption ``"clean"``, level 0), then
    one per corruption and level; ``severity`` is the corruption's parameter (``SEVERITY``).
    """
    names = list(CORRUPTIONS) if corruptions is None else list(corruptions)
    check_corruptions(names)
    levels = list(levels)
    if not levels:
        raise ValueError("levels must hold at least one intensity in 1..5; got none")
    for level in levels:
        check_int("each of levels", level, LEVELS[0], LEVELS[-1])
    batches = _batches(data, batch_size)
    model.eval()
    acc, loss, n = _score(model, batches, lambda x: x, device)
    rows = [{"corruption": CLEAN, "level": 0, "severity": None, "accuracy": acc, "loss": loss, "n_images": n}]
    for name in names:
        for level in levels:
            generator = corruption_generator(seed, name, level)
            acc, loss, n = _score(model, batches, lambda x: CORRUPTIONS[name](x, level, generator), device)
            rows.append({"corruption": name, "level": level, "severity": SEVERITY[name][level - 1],
                         "accuracy": acc, "loss": loss, "n_images": n})
    return rows


def write_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """The rows as CSV with header `COLUMNS` (accuracy in [0, 1]; empty severity for clean)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    atomic_write_text(Path(path), buffer.getvalue())


def _by_corruption(rows: Sequence[dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, list[dict[str, Any]]]]:
    clean = next((r for r in rows if r["corruption"] == CLEAN), None)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["corruption"] != CLEAN:
            groups.setdefault(row["corruption"], []).append(row)
    return clean, groups


def markdown_table(rows: Sequence[dict[str, Any]], title: str | None = None) -> str:
    """Accuracy (%) per corruption (rows) and level (columns), then each level's parameter."""
    clean, groups = _by_corruption(rows)
    levels = sorted({r["level"] for g in groups.values() for r in g})
    lines = [f"## {title}", ""] if title else []
    if clean is not None:
        lines += [f"Clean accuracy: {100 * clean['accuracy']:.2f}% on {clean['n_images']} images.", ""]
    lines += ["| corruption | " + " | ".join(f"level {lv}" for lv in levels) + " |",
              "| --- |" + " ---: |" * len(levels)]
    for name, group in groups.items():
        by_level = {r["level"]: r for r in group}
        lines.append(f"| {name} | " + " | ".join(
            f"{100 * by_level[lv]['accuracy']:.2f}" if lv in by_level else "-" for lv in levels) + " |")
    lines += ["", "Corruption parameter per level (see qsnn_qiskit.data.corruptions):", "",
              "| corruption | " + " | ".join(f"level {lv}" for lv in levels) + " |",
              "| --- |" + " ---: |" * len(levels)]
    for name in groups:
        lines.append(f"| {name} | " + " | ".join(f"{SEVERITY[name][lv - 1]:g}" for lv in levels) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(rows: Sequence[dict[str, Any]], path: str | Path, title: str | None = None) -> None:
    atomic_write_text(Path(path), markdown_table(rows, title))


def plot_robustness(rows: Sequence[dict[str, Any]], path: str | Path, title: str | None = None) -> None:
    """PNG: accuracy (%) against level, one line per corruption; level 0 is the clean accuracy."""
    plt = pyplot()
    clean, groups = _by_corruption(rows)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, group in groups.items():
        group = sorted(group, key=lambda r: r["level"])
        points = ([(0, clean["accuracy"])] if clean else []) + [(r["level"], r["accuracy"]) for r in group]
        ax.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", label=name)
    ax.set(xlabel="corruption level (0 = clean)", ylabel="accuracy (%)", title=title or "robustness",
           xticks=range(0, 6), ylim=(0, 100))
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, Path(path))


def write_report(rows: Sequence[dict[str, Any]], out_dir: str | Path, title: str | None = None) -> dict[str, Path]:
    """Write `FILES` (CSV, markdown, PNG) into ``out_dir``; returns kind -> path."""
    out = Path(out_dir)
    paths = {kind: out / name for kind, name in FILES.items()}
    write_csv(rows, paths["csv"])
    write_markdown(rows, paths["markdown"], title)
    plot_robustness(rows, paths["plot"], title)
    return paths
