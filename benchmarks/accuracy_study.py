"""Accuracy beyond the paper: a recipe tuned on held-out training images, then reported once.

Three stages, each a list of `qsnn train` runs (the plan is data, below):

- ``tune``: SQDR-CNN 2b-9q trained on images 0..6999 of ../shared/data/mnist-test-10k and validated
  on 7000..7999 (``--holdout 1000``), one seed, one variant of the 85.65% run's recipe each
  (``BASE``: 74 epochs, Adam, onecycle to lr 0.02, U(0, 2pi) circuit weights, batch 16). The
  validation images 8000..9999 are not loaded by any of them.
- ``final``: the variant chosen from the tuning table (``CHOSEN``), trained on all 8,000 training
  images with each of ``SEEDS`` and validated once on 8000..9999, beside the unchanged recipe with
  the first seed (the runs of Tables 2-3 at 74 epochs, linked into RUN_ROOT); 2b-9q and 4b-9q.
- ``digits``: the same two recipes on scikit-learn's 8x8 digits (``--dataset digits``, 1,438 / 359),
  ``SEEDS``: does what was kept help on a second data set too?

``run`` starts every run of the chosen stages that has no run directory under RUN_ROOT, resumes
(``qsnn train --resume``) every one that stopped before its last epoch and skips finished ones, so a
rerun after a crash or at a new session goes on where it was; ``--jobs 2`` keeps two runs going at
once, one torch thread each. A finished run whose recorded settings differ from the plan is an
error, not a silent reuse. ``report`` writes benchmarks/results/accuracy_study.{md,json} from the
finished runs. Accuracies are the last epoch's (never the best epoch's: that would be choosing on
the validation images).

    PYTHONPATH=. python benchmarks/accuracy_study.py run runs/tuning --stage tune --jobs 2
    PYTHONPATH=. python benchmarks/accuracy_study.py report runs/tuning
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from qsnn_qiskit._atomic import atomic_write_text
from qsnn_qiskit.analysis.provenance import machine
from qsnn_qiskit.data.datasets import resolve_dataset
from qsnn_qiskit.training import TrainSettings, rundir

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "accuracy_study"
MNIST = "idx:../shared/data/mnist-test-10k"
#: The recipe of the 85.65% run (benchmarks/results/accuracy_mnist.md), as `qsnn train` settings.
BASE: dict[str, Any] = {"epochs": 74, "lr": 0.02, "schedule": "onecycle", "init": "uniform_2pi", "batch_size": 16}
#: Tuning variants: name -> the settings that differ from BASE (augment flip is the paper's and BASE's).
VARIANTS: dict[str, dict[str, Any]] = {
    "flip": {"augment": "flip"},
    "none": {"augment": "none"},
    "shift": {"augment": "shift"},
    "none-T16": {"augment": "none", "timesteps": 16},
}
#: The variant the tuning table chose: the best held-out accuracy (see the report's tuning section).
CHOSEN = "none-T16"
#: Recipes compared on digits: the paper's flip, the chosen variant, and each of its changes alone.
DIGITS_VARIANTS = tuple(dict.fromkeys(("flip", "none", CHOSEN)))
SEEDS = (20200626, 1, 2)
PAPER = {"2b-9q": 84.03, "4b-9q": 88.32}
GOALS = {"2b-9q": 88.32, "4b-9q": 90.0}
BLOCKS = {"2b-9q": 2, "4b-9q": 4}
DIGITS_EPOCHS = 74


@dataclass
class PlannedRun:
    """One `qsnn train` run of the study: its directory name under RUN_ROOT and its settings."""

    name: str
    stage: str
    variant: str
    model: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.settings.get("seed", SEEDS[0])


def plan() -> list[PlannedRun]:
    """Every run of the study, stage by stage."""
    runs = [PlannedRun(f"2b-9q-{v}", "tune", v, "2b-9q", {**BASE, "dataset": MNIST, "holdout": 1000, **VARIANTS[v]})
            for v in VARIANTS]
    for variant in DIGITS_VARIANTS:
        runs += [PlannedRun(f"digits-{variant}-s{seed}", "digits", variant, "2b-9q",
                            {**BASE, "dataset": "digits", "epochs": DIGITS_EPOCHS, **VARIANTS[variant], "seed": seed})
                 for seed in SEEDS]
    # the chosen recipe with every seed (the headline); the paper's flip with the first, the Tables 2-3 runs
    for variant, seeds in ((CHOSEN, SEEDS), ("flip", SEEDS[:1])):
        for model in BLOCKS:
            runs += [PlannedRun(f"final-{model}-{variant}-s{seed}", "final", variant, model,
                                {**BASE, "dataset": MNIST, "blocks": BLOCKS[model], **VARIANTS[variant], "seed": seed})
                     for seed in seeds]
    return runs


def _flags(settings: dict[str, Any]) -> list[str]:
    return [a for k, v in settings.items() for a in (f"--{k.replace('_', '-')}", str(v))]


def _state(run: PlannedRun, root: Path) -> tuple[str, list[dict[str, float]]]:
    """(``new``, ``partial`` or ``done``; the run's metrics rows so far); ValueError if the directory
    holds a run of other settings."""
    path = root / run.name
    if not (path / "config.json").exists():
        return "new", []
    recorded = {**asdict(TrainSettings()), **rundir.read_config(path)["settings"]}   # older runs: defaults
    recorded["dataset"] = _dataset(recorded["dataset"], recorded.get("data_dir"))
    wrong = {k: (v, recorded.get(k)) for k, v in run.settings.items()
             if recorded.get(k) != (_dataset(v, None) if k == "dataset" else v)}
    if wrong:
        raise ValueError(f"{path} holds a run of other settings than planned (planned, recorded): {wrong}")
    metrics = rundir.read_metrics(path)
    return ("done" if len(metrics) >= run.settings["epochs"] else "partial"), metrics


def _dataset(name: str, data_dir: str | None) -> tuple[str, str | None]:
    """A dataset setting as (name, absolute folder): ``idx:PATH`` and ``idx`` + data_dir alike
    (relative paths from the repository root, where the runs start)."""
    name, folder = resolve_dataset(name, data_dir)
    return name, None if folder is None else str((ROOT / folder).resolve())


def _command(run: PlannedRun, root: Path, state: str) -> list[str]:
    train = [sys.executable, "-m", "qsnn_qiskit.cli", "train"]
    if state == "partial":
        return train + ["--resume", str(root / run.name), "--no-progress", "--threads", "1"]
    return train + _flags(run.settings) + ["--run-dir", str(root / run.name), "--no-progress", "--threads", "1"]


def run_study(root: Path, stages: list[str], jobs: int) -> None:
    """Start, resume or skip every planned run of ``stages``, at most ``jobs`` at once."""
    root.mkdir(parents=True, exist_ok=True)
    todo = [(r, s) for r in plan() if r.stage in stages for s in [_state(r, root)[0]] if s != "done"]
    print(f"{len(todo)} runs to start or resume under {root}", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    running: list[tuple[PlannedRun, subprocess.Popen, IO[str]]] = []
    while todo or running:
        while todo and len(running) < jobs:
            run, state = todo.pop(0)
            print(f"{'resume' if state == 'partial' else 'start'} {run.name}", flush=True)
            log = open(root / f"{run.name}.log", "a")
            running.append((run, subprocess.Popen(_command(run, root, state), cwd=ROOT, env=env, stdout=log,
                                                  stderr=subprocess.STDOUT), log))
        time.sleep(5)
        for run, proc, log in list(running):
            if proc.poll() is not None:
                running.remove((run, proc, log))
                log.close()
                print(f"{run.name}: exit {proc.returncode}", flush=True)
                if proc.returncode:
                    raise SystemExit(f"{run.name} failed; see {root / (run.name + '.log')}")


def _result(run: PlannedRun, root: Path) -> dict[str, Any] | None:
    state, metrics = _state(run, root)
    if state != "done":
        return None
    metrics = metrics[:run.settings["epochs"]]
    last = metrics[-1]
    return {"name": run.name, "stage": run.stage, "variant": run.variant, "model": run.model, "seed": run.seed,
            "settings": run.settings, "val_acc": 100 * last["val_acc"], "train_acc": 100 * last["train_acc"],
            "minutes": sum(m["seconds"] for m in metrics) / 60,
            "curve": [round(100 * m["val_acc"], 2) for m in metrics]}


def _select(results: list[dict[str, Any]], stage: str, variant: str, model: str = "2b-9q") -> list[dict[str, Any]]:
    """The finished runs of one stage, variant and model, in the plan's (seed) order."""
    return [r for r in results if (r["stage"], r["variant"], r["model"]) == (stage, variant, model)]


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.2f}" if values else "-"
    return f"{statistics.mean(values):.2f} +- {statistics.stdev(values):.2f}"


def report(root: Path, command: str) -> dict[str, Any]:
    """Write OUT.{md,json} from the finished runs under ``root``; returns what was written."""
    results = [r for r in (_result(run, root) for run in plan()) if r is not None]
    md = ["# Accuracy beyond the paper: a recipe tuned on held-out images, reported once", "",
          f"Command: `{command}` ({datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}).",
          "", f"Machine: {_machine_line()}", "",
          "Recipe of every run unless a row says otherwise (the 85.65% run's, "
          "benchmarks/results/accuracy_mnist.md): `qsnn train " + " ".join(_flags(BASE)) + "`, SQDR-CNN "
          "re-upload 9 qubits, engine torch, one torch thread per run with one other run alongside "
          "(minutes are that wall time: CPU-minutes of one core). Accuracies are the last epoch's.", "",
          "## Tuning: held-out part of the training split", "",
          "2b-9q on images 0..6999 of the MNIST test set, validated on 7000..7999 (`--holdout 1000`); "
          f"seed {SEEDS[0]}. Images 8000..9999 are not used here.", "",
          "| variant | settings changed | held-out acc | training acc | minutes |", "| --- | --- | ---: | ---: | ---: |"]
    for v, changes in VARIANTS.items():
        r = next(iter(_select(results, "tune", v)), None)
        md.append(f"| {v} | {', '.join(f'{k}={x}' for k, x in changes.items())} | "
                  + (f"{r['val_acc']:.2f} | {r['train_acc']:.2f} | {r['minutes']:.1f} |" if r else "not run yet | | |"))
    md += ["", f"Chosen: **{CHOSEN}**.", "",
           "## Reported once: all 8,000 training images, validated on images 8000..9999", "",
           f"The chosen recipe with seeds {', '.join(map(str, SEEDS))}: mean +- standard deviation over the seeds. "
           f"The paper's flip recipe with seed {SEEDS[0]} only: the runs of Tables 2-3 at 74 epochs "
           "(benchmarks/results/paper_full); the same recipe and seed gave 85.65% on another machine "
           "(accuracy_mnist.md), so one seed's figure carries a few points.", "",
           "| model | recipe | seeds done | validation acc per seed | mean +- sd | training acc (mean) | "
           "minutes per run | paper | goal |", "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    summary: dict[str, Any] = {}
    for model in BLOCKS:
        for variant in ("flip", CHOSEN):
            rs = _select(results, "final", variant, model)
            accs = [r["val_acc"] for r in rs]
            summary[f"{model}-{variant}"] = accs
            md.append(f"| {model} | {variant} | {len(rs)} | {', '.join(f'{a:.2f}' for a in accs) or '-'} | "
                      f"{_spread(accs)} | {_mean_text([r['train_acc'] for r in rs])} | "
                      f"{(max(r['minutes'] for r in rs) if rs else 0):.1f} | {PAPER[model]} | {GOALS[model]} |")
    md += ["", "## Second data set: scikit-learn's 8x8 digits (1,438 training / 359 validation, split 80/20)", "",
           f"Same recipe, {DIGITS_EPOCHS} epochs.", "",
           "| recipe | seeds done | validation acc per seed | mean +- sd | training acc (mean) |",
           "| --- | ---: | --- | ---: | ---: |"]
    for variant in DIGITS_VARIANTS:
        rs = _select(results, "digits", variant)
        accs = [r["val_acc"] for r in rs]
        summary[f"digits-{variant}"] = accs
        md.append(f"| {variant} | {len(rs)} | {', '.join(f'{a:.2f}' for a in accs) or '-'} | {_spread(accs)} | "
                  f"{_mean_text([r['train_acc'] for r in rs])} |")
    md += ["", "## What it shows", "", *_findings(results, summary)]
    payload = {"command": command, "machine": machine(1), "base": BASE, "variants": VARIANTS, "chosen": CHOSEN,
               "seeds": SEEDS, "paper": PAPER, "goals": GOALS, "summary": summary, "runs": results}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT.with_suffix(".json"), json.dumps(payload, indent=1) + "\n")
    atomic_write_text(OUT.with_suffix(".md"), "\n".join(md) + "\n")
    return payload


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def _mean_text(values: list[float]) -> str:
    mean = _mean(values)
    return "-" if mean is None else f"{mean:.2f}"


def _findings(results: list[dict[str, Any]], summary: dict[str, list[float]]) -> list[str]:
    """The report's conclusions, each from the numbers above it (a bullet is left out until its runs are done)."""
    tuned = {r["variant"]: r for r in results if r["stage"] == "tune"}
    held = {v: r["val_acc"] for v, r in tuned.items()}
    lines = []
    if {"flip", "none"} <= held.keys():
        lines.append(
            f"- The paper's left-right flip is what held the recipe back: without it, 2b-9q scores {held['none']:.2f}% "
            f"on the held-out images against {held['flip']:.2f}% ({held['none'] - held['flip']:+.2f} points). A "
            "mirrored 2, 3, 4, 6, 7 or 9 is not a digit the validation images show, and this model underfits (training accuracy no higher than validation), so an augmentation "
            "that makes the task harder costs accuracy instead of preventing overfitting. Tables 2-5 and the "
            "baselines keep the flip: there the point is the paper's recipe.")
    if {"none", CHOSEN} <= held.keys() and CHOSEN != "none":
        lines.append(f"- On top of that, {CHOSEN} scores {held[CHOSEN]:.2f}% ({held[CHOSEN] - held['none']:+.2f}; "
                     "one seed on 1,000 images carries about 0.9 points of standard error), at "
                     f"{tuned[CHOSEN]['minutes'] / tuned['none']['minutes']:.1f}x the time: "
                     "the best held-out figure, so the one chosen.")
    digits = {v: _mean(summary.get(f"digits-{v}", [])) for v in DIGITS_VARIANTS}
    if digits.get("flip") is not None and digits.get("none") is not None:
        line = (f"- On scikit-learn's digits, dropping the flip carries over: {digits['flip']:.2f}% -> "
                f"{digits['none']:.2f}% (mean of {len(SEEDS)} seeds)")
        if CHOSEN != "none" and digits.get(CHOSEN) is not None:
            line += f"; {CHOSEN} scores {digits[CHOSEN]:.2f}% there ({digits[CHOSEN] - digits['none']:+.2f} against none)"
        lines.append(line + ".")
    for model in BLOCKS:
        accs = summary.get(f"{model}-{CHOSEN}", [])
        if len(accs) == len(SEEDS):
            mean = statistics.mean(accs)
            lines.append(f"- {model} with {CHOSEN}, trained on all 8,000 images and validated once: "
                         f"{_spread(accs)}% over {len(SEEDS)} seeds; the goal {GOALS[model]}% is "
                         f"{'met' if mean >= GOALS[model] else 'not met'} by the mean, the paper's {PAPER[model]}% "
                         f"{'exceeded' if mean > PAPER[model] else 'not reached'}.")
    return lines or ["- (no finished runs yet)"]


def _machine_line() -> str:
    m = machine(1)
    return f"{m['cpu']}, {m['cores']} cores, GPU {m['gpu'] or 'none'}, Python {m['python']}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("run", "report"))
    p.add_argument("root", type=Path, help="folder of the study's run directories")
    p.add_argument("--stage", action="append", choices=("tune", "final", "digits"),
                   help="stage to run (repeatable; default all)")
    p.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each (default 2)")
    args = p.parse_args(argv)
    if args.action == "run":
        run_study(args.root, args.stage or ["tune", "final", "digits"], args.jobs)
    report(args.root, "python benchmarks/accuracy_study.py report " + str(args.root))
    print(f"wrote {OUT}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
