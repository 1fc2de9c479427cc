"""Where circuits execute, by name. Every engine runs the same `Ansatz` and agrees on its outputs.

An engine's module is imported when the engine is first built: aer and runtime load qiskit-aer,
qiskit-machine-learning and qiskit-ibm-runtime, which ``import qsnn_qiskit`` does not need.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from .._checks import check_options
from ..circuits import Ansatz
from .base import Engine

#: name -> "module:class" of the engine in this package; its constructor's keyword arguments are the
#: engine's options.
ENGINES: dict[str, str] = {
    "aer": "aer:AerEngine",
    "runtime": "runtime:RuntimeEngine",
    "torch": "torch_engine:TorchEngine",
}


def engine_class(name: str) -> Callable[..., Engine]:
    """The class of engine ``name`` (its module imported now); ``ValueError`` for an unknown name."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), cls)


def make_engine(name: str, ansatz: Ansatz, **options: Any) -> Engine:
    """Build engine ``name`` for ``ansatz``; ``options`` must be ones that engine accepts."""
    cls = engine_class(name)
    check_options(cls, options, f"engine {name!r}", positional=("ansatz",))
    return cls(ansatz, **options)


__all__ = ["ENGINES", "Engine", "engine_class", "make_engine"]
