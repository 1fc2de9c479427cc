"""`qsnn jobs RUN_DIR`: the hardware jobs of a run (id, status, attempts, samples) per target."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..hardware.jobs import JOBS_DIR, all_records


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = (f"Show the job records in RUN_DIR/{JOBS_DIR}/: target, chunk, job id, status "
                     "(submitted, done, failed, given_up), attempts, samples and the last error.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory used by `qsnn submit`")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not Path(args.run_dir).is_dir():
        raise FileNotFoundError(f"run directory {args.run_dir} does not exist")
    records = all_records(args.run_dir)
    if not records:
        print(f"{args.run_dir}: no jobs (run `qsnn submit {args.run_dir} --target NAME` first)")
        return 0
    print(f"{'target':<16}{'chunk':>6}  {'job id':<40}{'status':<11}{'tries':>5}  samples  mode")
    for r in records:
        samples = f"{r.samples[0]}-{r.samples[-1]}" if r.samples else "-"
        print(f"{r.target:<16}{r.chunk:>6}  {str(r.job_id):<40}{r.status:<11}{r.attempts:>5}  {samples:<8} "
              f"{'local' if r.local else r.backend}")
        if r.error and r.status != "done":
            print(f"{'':<24}last error: {r.error}")
    return 0
