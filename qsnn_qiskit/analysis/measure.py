"""How a figure is taken: the median time of repeated calls after a warm-up, and the growth of this
process's peak resident set size (Linux ``VmHWM``, reset through /proc/self/clear_refs)."""
from __future__ import annotations

import ctypes
import gc
import statistics
import time
from typing import Callable

import torch

from .._memory import status_kib


def forward_backward(layer: torch.nn.Module, inputs: torch.Tensor) -> Callable[[], None]:
    """A step to time: ``layer``'s gradients cleared, then forward + backward of the sum of its
    outputs on a fresh copy of ``inputs`` (batch, n_inputs); on a GPU it waits for the kernels."""
    def step() -> None:
        layer.zero_grad(set_to_none=True)
        layer(inputs.clone().requires_grad_(True)).sum().backward()
        if inputs.is_cuda:
            torch.cuda.synchronize()

    return step


def median_seconds(step: Callable[[], None], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``step`` in seconds, after one untimed warm-up call."""
    step()   # warm-up: caches, lazy initialisation, allocator
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_bytes(step: Callable[[], None]) -> int | None:
    """Growth of the peak resident set size while ``step`` runs, in bytes (``None`` off Linux).

    Free heap memory is first handed back to the system (glibc ``malloc_trim``), so that what
    ``step`` allocates shows as growth rather than reusing pages an earlier run left behind.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")   # reset VmHWM to the current resident size
        before = status_kib("VmRSS")
    except OSError:
        return None
    step()
    return max(status_kib("VmHWM") - before, 0) * 1024
