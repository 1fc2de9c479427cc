"""qsnn-qiskit: hybrid spiking-quantum neural networks on Qiskit.

The wings, from the command line down (imports only run down this list, and
tests/packaging/test_layers.py holds it): ``cli`` -> ``commands`` -> ``analysis``, ``hardware`` ->
``training`` -> ``models`` -> ``qnn`` -> ``engines`` -> ``backends`` -> ``circuits``, ``spiking`` ->
``data`` -> ``errors`` and the ``_*`` helpers.
"""
from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

#: public name -> the wing that defines it; imported on first use, so that `import qsnn_qiskit` (and
#: the `qsnn` command's start-up) loads neither torch nor qiskit until a name is needed
_PUBLIC = {"Ansatz": "circuits", "NoiseSpec": "circuits", "build_ansatz": "circuits", "DSQNet": "models",
           "PPFQSNN": "models", "SQDRCNN": "models", "QuantumLayer": "qnn"}


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'qsnn_qiskit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = ["Ansatz", "DSQNet", "NoiseSpec", "PPFQSNN", "QuantumLayer", "SQDRCNN", "__version__", "build_ansatz"]
