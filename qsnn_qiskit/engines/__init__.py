"""Where circuits execute, by name. Every engine runs the same `Ansatz` and agrees on its outputs."""
from __future__ import annotations

from typing import Any, Callable

from .._options import check_options
from ..circuits import Ansatz
from .aer import AerEngine
from .base import Engine
from .runtime import RuntimeEngine
from .torch_engine import TorchEngine

#: name -> engine class; its constructor's keyword arguments are the engine's options.
ENGINES: dict[str, Callable[..., Engine]] = {
    "aer": AerEngine,
    "runtime": RuntimeEngine,
    "torch": TorchEngine,
}


def make_engine(name: str, ansatz: Ansatz, **options: Any) -> Engine:
    """Build engine ``name`` for ``ansatz``; ``options`` must be ones that engine accepts."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    check_options(ENGINES[name], options, f"engine {name!r}", positional=("ansatz",))
    return ENGINES[name](ansatz, **options)


__all__ = ["ENGINES", "Engine", "make_engine"]
