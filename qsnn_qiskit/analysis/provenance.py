"""Where a measurement was taken: the machine, its load, and the versions of what ran, for the
results files of benchmarks and experiments."""
from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

import torch


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in ("torch", "qiskit", "qiskit-aer", "qiskit-machine-learning", "pennylane", "torchquantum-ng"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def machine(threads: int) -> dict[str, Any]:
    """CPU model, core count, thread setting, GPU, Python and package versions."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": threads,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "python": platform.python_version(), "platform": platform.platform(), "versions": _versions()}
