"""`qsnn demo`: build SQDR-CNN, run one forward and backward pass, print its size."""
from __future__ import annotations

import argparse
import time

import torch

from .._checks import check_int
from ..models import SQDRCNN, ansatz_choices, count_trainable


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = ("Build SQDR-CNN, print its trainable parameter count, and time "
                     "one forward and backward pass on a random batch.")
    p.add_argument("--qubits", type=int, default=9, help="number of qubits (default 9)")
    p.add_argument("--blocks", type=int, default=2, help="re-upload blocks (default 2)")
    p.add_argument("--ansatz", default="reupload", help=f"{', '.join(ansatz_choices('sqdrcnn'))} "
                                                         "(default reupload)")
    p.add_argument("--engine", default="torch", help="execution engine (default torch: exact, differentiable, fast)")
    p.add_argument("--batch-size", type=int, default=4, help="images in the batch (default 4)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_int("--batch-size", args.batch_size, 1)
    model = SQDRCNN(n_qubits=args.qubits, blocks=args.blocks, ansatz=args.ansatz, engine=args.engine, seed=0)
    images = torch.rand(args.batch_size, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    logits = model(images)
    logits.sum().backward()
    elapsed = time.perf_counter() - start
    print(f"SQDR-CNN {args.blocks}b-{args.qubits}q ({args.ansatz}, engine={args.engine}): "
          f"{count_trainable(model)} trainable parameters")
    print(f"forward + backward of {args.batch_size} images: {elapsed:.2f} s; logits {tuple(logits.shape)}")
    return 0
