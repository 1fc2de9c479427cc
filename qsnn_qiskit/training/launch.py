"""How many cores one `qsnn train` uses: torch threads per process, and data-parallel processes
started on this machine through torchrun (``torch.distributed.run``)."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Sequence

from .._checks import check_int
from . import distributed

#: threads per process when --threads is not given; measured by benchmarks/training_speed.py
#: (benchmarks/results/training_speed.md): at the default batch of 16 a second thread in the
#: same process adds nothing, and a second process pays for its collectives.
DEFAULT_THREADS = 1
#: processes when --processes is not given (same benchmark).
DEFAULT_PROCESSES = 1


def set_threads(threads: int) -> None:
    """Run torch's intra-op work of this process on ``threads`` threads."""
    import torch

    check_int("--threads", threads, 1)
    torch.set_num_threads(threads)


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


def launch(argv: Sequence[str], processes: int, threads: int) -> int:
    """Run ``qsnn <argv>`` as ``processes`` torchrun processes of ``threads`` threads each and wait;
    returns their exit status. Refused inside a process group (torchrun already started this one)."""
    if distributed.requested_world_size() > 1:
        raise ValueError("--processes starts torchrun itself; under torchrun, drop --processes "
                         "(torchrun's --nproc_per_node sets the count)")
    check_int("--threads", threads, 1)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.run(torchrun_command(argv, processes), env=env).returncode
