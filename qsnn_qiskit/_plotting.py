"""matplotlib without a screen (Agg), and figures saved atomically as PNG."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ._atomic import atomic_write


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (imported on first use: matplotlib is slow to load)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, dpi: int = 100, tight_box: bool = False) -> None:
    """Write ``fig`` to ``path`` as PNG atomically and close it; laid out by ``tight_layout``, or
    cropped to its content with ``tight_box`` (figures that Qiskit's circuit drawer made)."""
    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not tight_box:
        fig.tight_layout()
    box = {"bbox_inches": "tight"} if tight_box else {}
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png", **box))
    finally:
        plt.close(fig)
