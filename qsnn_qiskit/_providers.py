"""Qiskit providers by name: IBM's fake backends (calibration snapshots) and Aer's devices.

The imports of qiskit-ibm-runtime and qiskit-aer happen inside the functions: both are slow to
load and only the engines, noise models and hardware commands need them.
"""
from __future__ import annotations

from typing import Any

#: snake-case names (``--noise-backend fake_torino``) -> classes of ``qiskit_ibm_runtime.fake_provider``.
FAKE_BACKENDS: dict[str, str] = {f"fake_{name.lower()}": f"Fake{name}" for name in (
    "Aachen", "Algiers", "Auckland", "Brisbane", "Brussels", "Cusco", "Fez", "Geneva", "Kawasaki",
    "Kingston", "Kyiv", "Kyoto", "Marrakesh", "Osaka", "Oslo", "Peekskill", "Perth", "Prague",
    "Quebec", "Sherbrooke", "Strasbourg", "Torino")}

#: Aer's simulation devices; ``GPU`` needs the qiskit-aer-gpu package in place of qiskit-aer.
AER_DEVICES = ("CPU", "GPU")


def fake_backend_class(name: str) -> type:
    """The ``qiskit_ibm_runtime.fake_provider`` class of ``name``: a `FAKE_BACKENDS` key
    (``"fake_torino"``) or a class name of that module (``"FakeTorino"``); ``ValueError`` otherwise."""
    from qiskit_ibm_runtime import fake_provider  # slow import, needed only here

    class_name = FAKE_BACKENDS.get(name.lower(), name) if isinstance(name, str) else None
    cls = getattr(fake_provider, class_name, None) if class_name else None
    if not isinstance(cls, type):
        raise ValueError(f"unknown fake backend {name!r}; known: {', '.join(sorted(FAKE_BACKENDS))} "
                         "(or a class of qiskit_ibm_runtime.fake_provider such as FakeTorino)")
    return cls


def fake_backend(name: str) -> Any:
    """A fresh fake backend (``"fake_torino"`` or ``"FakeTorino"``), with its calibration snapshot."""
    return fake_backend_class(name)()


def check_aer_device(device: str, what: str = "Aer device") -> None:
    """``ValueError`` unless ``device`` is one of `AER_DEVICES` and this qiskit-aer build offers it
    (the message names the qiskit-aer-gpu package that does)."""
    if device not in AER_DEVICES:
        raise ValueError(f"unknown {what} {device!r}; known: {', '.join(AER_DEVICES)}")
    from qiskit_aer import AerSimulator

    available = AerSimulator().available_devices()
    if device not in available:
        raise ValueError(f"{what} {device!r} is not available: this qiskit-aer build offers "
                         f"{', '.join(available)} only. For GPU simulation install the qiskit-aer-gpu "
                         "package (Linux, NVIDIA CUDA) in place of qiskit-aer")
