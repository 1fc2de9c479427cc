"""Data-parallel training under ``torchrun``: the process group, who this rank is, and the few
collectives training needs (sums of metrics, rank 0's values, rank-0-only writes).

Every helper also works with no process group (a plain ``qsnn train``): rank 0 of a world of 1,
with the collectives doing nothing. gloo serves CPU training; NCCL serves CUDA, one GPU per rank
(``cuda:LOCAL_RANK``).
"""
from __future__ import annotations

import os
import pickle
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


def requested_world_size(env: Mapping[str, str] = os.environ) -> int:
    """The number of processes ``torchrun`` started (its ``WORLD_SIZE``); 1 outside torchrun."""
    text = env.get("WORLD_SIZE", "1")
    try:
        size = int(text)
    except ValueError:
        raise ValueError(f"WORLD_SIZE must be a positive integer; got {text!r}") from None
    if size < 1:
        raise ValueError(f"WORLD_SIZE must be a positive integer; got {text!r}")
    return size


def local_rank(env: Mapping[str, str] = os.environ) -> int:
    """This process's index on its machine (torchrun's ``LOCAL_RANK``); 0 outside torchrun."""
    return int(env.get("LOCAL_RANK", "0"))


def check_device(device: str, env: Mapping[str, str] = os.environ) -> None:
    """Raise ``ValueError`` if this rank cannot have its own ``device`` (one GPU per rank on CUDA).

    Called before the process group exists, so every rank fails the same way and none waits.
    """
    count = torch.cuda.device_count() if device == "cuda" else 0
    if device == "cuda" and local_rank(env) >= count:
        raise ValueError(f"--device cuda runs one process per GPU, but this node has {count} GPU(s) and "
                         f"this process is LOCAL_RANK {local_rank(env)}; start at most {count} per node "
                         "(torchrun --nproc_per_node)")


@contextmanager
def process_group(device: str) -> Iterator[None]:
    """Join torchrun's process group for the ``with`` block and leave it on exit, error or not:
    NCCL with this rank on ``cuda:LOCAL_RANK`` for ``device="cuda"``, else gloo."""
    if device == "cuda":
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    try:
        yield
        # leave together: rank 0, still writing its last checkpoint after the other ranks had left,
        # once aborted at exit ("terminate called without an active exception", gloo)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def is_distributed() -> bool:
    """True inside a process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank; 0 without a process group."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """The number of ranks; 1 without a process group."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on rank 0, the only rank that prints and writes files."""
    return rank() == 0


def main_only(function: Callable[..., None]) -> Callable[..., None]:
    """``function`` on rank 0, a function that does nothing on the other ranks (for printing)."""
    return function if is_main() else _nothing


def _nothing(*args: object, **kwargs: object) -> None:
    """What ``main_only`` gives ranks other than 0."""


def rank_device(device: str) -> str:
    """Where this rank computes for the ``--device`` setting: ``cuda:LOCAL_RANK`` under a CUDA
    process group, else ``device`` itself."""
    return f"cuda:{local_rank()}" if device == "cuda" and is_distributed() else device


def shard(n: int) -> slice:
    """This rank's contiguous part of a global batch of ``n`` samples: parts differ in size by at
    most one, lower ranks never larger; a part is empty when ``n`` < the world size."""
    r, w = rank(), world_size()
    return slice(r * n // w, (r + 1) * n // w)


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of ``values`` over all ranks (a new tensor on ``values``' device);
    ``values`` itself without a process group."""
    if not is_distributed():
        return values
    on_wire = values.to(f"cuda:{local_rank()}" if dist.get_backend() == "nccl" else "cpu", copy=True)
    dist.all_reduce(on_wire)
    return on_wire.to(values.device)


def from_main(value: T) -> T:
    """Rank 0's ``value`` on every rank (any picklable object); also a barrier."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def on_main(work: Callable[[], T]) -> T:
    """Run ``work`` on rank 0 only and give its result to every rank; the others wait for it.

    If ``work`` raises, every rank raises that same exception (or a ``RuntimeError`` describing it
    when it cannot be pickled), so none waits forever on a rank that failed.
    """
    if not is_distributed():
        return work()
    result: T | None = None
    error: Exception | None = None
    if is_main():
        try:
            result = work()
        except Exception as err:   # handed to every rank below, then raised everywhere
            error = err
    shared = error if error is None or _picklable(error) else \
        RuntimeError(f"rank 0 failed: {type(error).__name__}: {error}")
    result, shared = from_main((result, shared))
    if error is not None:
        raise error
    if shared is not None:
        raise shared
    return result  # type: ignore[return-value]


def _picklable(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


__all__ = ["all_reduce_sum", "check_device", "from_main", "is_distributed", "is_main", "local_rank",
           "main_only", "on_main", "process_group", "rank", "rank_device", "requested_world_size", "shard", "world_size"]
