"""`qsnn evaluate RUN_DIR`: accuracy, per-class accuracy and confusion matrix of a trained run."""
from __future__ import annotations

import argparse

import numpy as np

from .._checks import check_int
from ..data import BatchLoader
from ..training import evaluate, load_run, run_dataset
from ..training.rundir import CHECKPOINT


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = ("Load the last checkpoint of a `qsnn train` run and evaluate it on the validation "
                     "split of its dataset (or of --dataset, with the run's class selection).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `qsnn train`")
    p.add_argument("--dataset", help="evaluate on this dataset instead of the run's (default, mnist, "
                                     "fashion-mnist, kmnist, idx, idx:PATH)")
    p.add_argument("--data-dir", help="folder of the dataset (torchvision root or IDX folder)")
    p.add_argument("--engine", help="run the circuit on this engine instead of the run's (e.g. aer)")
    p.add_argument("--checkpoint", help=f"checkpoint file (default RUN_DIR/{CHECKPOINT.as_posix()})")
    p.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_int("--batch-size", args.batch_size, 1)
    overrides = {"engine": args.engine} if args.engine else {}
    model, config = load_run(args.run_dir, args.checkpoint, **overrides)
    data = run_dataset(config, args.dataset, args.data_dir)
    result = evaluate(model, BatchLoader(data.val, args.batch_size), data.n_classes)
    names = data.class_names
    print(f"{args.run_dir}: {config['model']} on {data.name} validation split ({len(data.val)} images)")
    print(f"accuracy {100 * result.accuracy:.2f}%  loss {result.loss:.4f}")
    print("per-class accuracy:")
    for name, acc, total in zip(names, result.per_class_accuracy, result.confusion.sum(1)):
        print(f"  {name:>12}  {'-' if np.isnan(acc) else f'{100 * acc:6.2f}%'}  ({total} images)")
    width = max(5, max(len(n) for n in names) + 1)
    print("confusion matrix (rows: true, columns: predicted):")
    print(" " * width + "".join(f"{n[:width - 1]:>{width}}" for n in names))
    for name, row in zip(names, result.confusion):
        print(f"{name[:width - 1]:>{width}}" + "".join(f"{int(v):>{width}}" for v in row))
    return 0
