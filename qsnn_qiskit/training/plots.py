"""PNG plots of a run: loss and accuracy curves per epoch, and a confusion matrix (matplotlib Agg)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .._plotting import pyplot, save_figure


def plot_curves(history: Sequence[dict[str, float]], path: Path) -> None:
    """Training and validation loss (left) and accuracy in % (right) against the epoch."""
    plt = pyplot()
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "val"):
        ax_loss.plot(epochs, [row[f"{split}_loss"] for row in history], marker="o", label=split)
        ax_acc.plot(epochs, [100 * row[f"{split}_acc"] for row in history], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, path)


def plot_confusion(confusion: np.ndarray, class_names: Sequence[str], path: Path) -> None:
    """Confusion matrix (rows: true class, columns: predicted class) with counts in the cells."""
    plt = pyplot()
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * n, 0.6 + 0.6 * n))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set(xlabel="predicted", ylabel="true", title="validation confusion matrix")
    limit = confusion.max() / 2 if confusion.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(confusion[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if confusion[i, j] > limit else "black")
    save_figure(fig, path)
