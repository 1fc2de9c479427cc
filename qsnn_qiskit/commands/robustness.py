"""`qsnn robustness RUN_DIR`: accuracy of a trained run on corrupted validation images."""
from __future__ import annotations

import argparse
from pathlib import Path

from .._checks import check_int
from ..analysis.robustness import FILES, evaluate_robustness, markdown_table, write_report
from ..data import BatchLoader
from ..data.corruptions import CORRUPTIONS, LEVELS, check_corruptions
from ..data.datasets import Split
from ..training import load_run, run_dataset
from ..training.rundir import CHECKPOINT


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    try:
        check_corruptions(names)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return names


def _levels(text: str) -> list[int]:
    try:
        levels = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"levels must be integers in 1..5 separated by commas; got {text!r}") from None
    if not levels or any(lv not in LEVELS for lv in levels):
        raise argparse.ArgumentTypeError(f"levels must be integers in 1..5; got {text!r}")
    return levels


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = ("Load the last checkpoint of a `qsnn train` run and evaluate it on the validation "
                     "split of its dataset, clean and under each corruption (Gaussian noise, "
                     "salt-and-pepper, speckle, Gaussian blur, contrast loss) at intensities 1..5, "
                     "seeded. Writes a CSV file, a markdown table and a plot of accuracy against "
                     f"intensity ({', '.join(FILES.values())}) and prints the table.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `qsnn train`")
    p.add_argument("--dataset", help="evaluate on this dataset instead of the run's (default, mnist, "
                                     "fashion-mnist, kmnist, idx, idx:PATH), with the run's classes")
    p.add_argument("--data-dir", help="folder of the dataset (torchvision root or IDX folder)")
    p.add_argument("--limit", type=int, help="evaluate on the first N validation images (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random corruptions (default 0)")
    p.add_argument("--corruptions", type=_names, default=list(CORRUPTIONS),
                   help=f"comma-separated corruptions (default all: {','.join(CORRUPTIONS)})")
    p.add_argument("--levels", type=_levels, default=list(LEVELS),
                   help="comma-separated intensities in 1..5 (default 1,2,3,4,5)")
    p.add_argument("--engine", help="run the circuit on this engine instead of the run's (e.g. aer)")
    p.add_argument("--checkpoint", help=f"checkpoint file (default RUN_DIR/{CHECKPOINT.as_posix()})")
    p.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    p.add_argument("--out", help="folder for the CSV, markdown and plot (default RUN_DIR/robustness)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_int("--batch-size", args.batch_size, 1)
    check_int("--limit", args.limit, 1, optional=True)
    overrides = {"engine": args.engine} if args.engine else {}
    model, config = load_run(args.run_dir, args.checkpoint, **overrides)
    data = run_dataset(config, args.dataset, args.data_dir)
    val = data.val if args.limit is None else Split(data.val.images[:args.limit], data.val.labels[:args.limit])
    rows = evaluate_robustness(model, BatchLoader(val, args.batch_size), args.corruptions, args.levels,
                               seed=args.seed)
    title = f"{config['model']} on {data.name} validation split ({len(val)} images), seed {args.seed}"
    paths = write_report(rows, Path(args.out) if args.out else Path(args.run_dir) / "robustness", title)
    print(markdown_table(rows, title), end="")
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
