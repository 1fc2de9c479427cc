"""How many cores one `qsnn train` uses: torch threads per process, and data-parallel processes
started on this machine through torchrun (``torch.distributed.run``)."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Sequence

from .._checks import check_int
from . import distributed

#: threads per process when --threads is not given: None, torch's own default (one per core),
#: measured fastest by benchmarks/training_speed.py (benchmarks/results/training_speed.md: 2 threads
#: beat 1 by 9% at batch 16 and 42% at batch 64 on a quiet 2-core AMD EPYC (36% and 52% on a
#: 2-core Intel Xeon), and 2 processes of one thread lost to both at either batch: each pays a
#: step's fixed cost on half the batch, and their collectives). On cores another job shares, 1
#: thread is several times faster than 2.
DEFAULT_THREADS: int | None = None
#: processes when --processes is not given (same benchmark).
DEFAULT_PROCESSES = 1


def threads_per_process(threads: int | None, processes: int) -> int:
    """``threads``, or for None the cores shared out among ``processes`` (at least 1 each)."""
    if threads is None:
        return max(1, (os.cpu_count() or 1) // processes)
    check_int("--threads", threads, 1)
    return threads


def set_threads(threads: int | None) -> None:
    """Run torch's intra-op work of this process on ``threads`` threads (None: torch's default)."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads_per_process(threads, 1))


def torchrun_command(argv: Sequence[str], processes: int) -> list[str]:
    """The command that runs ``qsnn <argv>`` as ``processes`` data-parallel processes here, with
    every ``--processes`` flag dropped from ``argv`` (so the children train, not launch)."""
    check_int("--processes", processes, 1)
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--processes":
            skip = True
        elif not arg.startswith("--processes="):
            rest.append(arg)
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
            "-m", "qsnn_qiskit.cli", *rest]


def launch(argv: Sequence[str], processes: int, threads: int | None) -> int:
    """Run ``qsnn <argv>`` as ``processes`` torchrun processes of ``threads`` threads each (None:
    the cores shared out) and wait; returns their exit status. Refused inside a process group (torchrun already started this one)."""
    if distributed.requested_world_size() > 1:
        raise ValueError("--processes starts torchrun itself; under torchrun, drop --processes "
                         "(torchrun's --nproc_per_node sets the count)")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads_per_process(threads, processes))}
    return subprocess.run(torchrun_command(argv, processes), env=env).returncode
