"""This process's memory as Linux reports it (/proc/self/status): resident and peak resident size."""
from __future__ import annotations


def status_kib(field_name: str) -> int:
    """A memory field of /proc/self/status in KiB (``VmRSS``: resident now, ``VmHWM``: peak
    resident); raises ``OSError`` off Linux."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field_name}")


def resident_mib() -> tuple[float, float] | None:
    """(resident now, peak resident since start) of this process in MiB; None off Linux."""
    try:
        return status_kib("VmRSS") / 1024, status_kib("VmHWM") / 1024
    except OSError:
        return None
