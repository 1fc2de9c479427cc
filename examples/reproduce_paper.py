"""The SQDR-CNN paper's experiments (Tables 2 to 5) on a reduced budget, beside the paper's numbers,
and a table of baselines of the same shape (does the circuit help?).

    python examples/reproduce_paper.py                      # all four tables, about 45-60 min on 2 cores
    python examples/reproduce_paper.py --tables 2,3         # some of them
    python examples/reproduce_paper.py --tables baselines   # the baselines, 74 epochs each: hours
    python examples/reproduce_paper.py --tables noisy       # Table 4 at a real budget: about 6 hours
    python examples/reproduce_paper.py --smoke              # every step on tiny models, seconds

Data: the 8k/2k split of the MNIST test set in ../shared/data (images 0..7999 train, 8000..9999
validation), not the paper's 60k training images and 100 epochs: every figure here comes from a
budget of a few epochs, written beside each table. Fashion-MNIST and KMNIST cannot be downloaded
on this machine, so only the MNIST columns are reproduced.

- Table 2: the PQC choice (data re-upload, SQNN, HEA) in SQDR-CNN 2b-9q.
- Table 3: the four variants 2b-9q, 4b-9q, 2b-18q, 4b-18q, noiseless.
- Table 4: the same variants under the reference code's noise (``--noise reference``: bit flip 0.02
  -> depolarizing 0.03 -> amplitude damping gamma = sigmoid(the qubit's first input angle) once after
  each qubit's two Rot gates per block, bit flip 0.02 -> depolarizing 0.03 on the last wire after
  each CZ ring; ``NoiseSpec.reference``). The 2-block variants
  are trained under noise; training the 4-block variants under exact density-matrix noise cost
  tens of minutes per epoch when this table was recorded (their light cones span 7 qubits; the
  Pauli-transfer engine now runs 4b-9q at about 250 samples/s), so their rows evaluate the Table 3
  models under the same noise instead (on ``--noisy-eval-images`` validation images), and say so.
- Table 5: optimiser x initialisation, with the paper's settings (lr 1e-3, weight decay 1e-3,
  constant rate) on a shorter budget.
- Baselines (``--tables baselines``, not in the default): SQDR-CNN re-upload 2b-9q and 4b-9q beside
  the same encoder and head around the product circuit (2b-9q without entanglers), a classical layer
  of 2b-9q's widths and weight count, and nothing (``--ansatz product|classical|none``), each with the
  recipe of the 85.65% run (74 epochs, one-cycle to lr 0.02, U(0, 2pi) init, which the two stand-ins
  ignore: they have no circuit weights). Each row records accuracy, parameter count, training time
  and the accuracy under every corruption of the robustness testbench, at every intensity.
- Table 4 at a real budget (``--tables noisy``, not in the default): the four variants trained
  under the ``paper`` and under the ``reference`` noise preset with the recipe of the 85.65% run, 74
  epochs or as many as ``--noisy-minutes`` (default 30) of training allow, each beside its noiseless
  twin trained for as many epochs and the paper's Table 4 number; then every such model evaluated
  without noise and under each preset (a trained-under x evaluated-under matrix per variant, on
  ``--matrix-images`` validation images), and the noiseless 2b-9q under the ``paper`` preset with its
  probabilities scaled by 0.25, 0.5, 1 and 2. The epochs are planned before a variant trains, from
  ``--calibration-steps`` timed training steps under each preset: epochs = clamp(floor(budget /
  the slower preset's estimated seconds per epoch), 1, 74), shared by both presets and the twin, so
  the one-cycle schedule completes; ``max_seconds`` (1.5x the budget) is only a net for a bad
  estimate. A noiseless run of exactly the twin's settings already recorded (a baselines cell at 74
  epochs) stands in for the twin. Cells run cheapest variant first: 2b-9q, 2b-18q, 4b-9q, 4b-18q.

Tables 2 to 4 use the recipe of benchmarks/accuracy_mnist.py that reaches the paper's accuracy
soonest (Adam, one-cycle schedule peaking at lr 0.02, U(0, 2pi) initialisation, batch 16).

Each finished experiment is recorded at once in ``--out``/paper_tables.json and its run directory is
kept under ``--run-root``: an interrupted run, started again with the same arguments, skips what is
done and resumes the experiment it was in from its last finished epoch.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from qsnn_qiskit._atomic import atomic_write_text
from qsnn_qiskit.analysis import machine
from qsnn_qiskit.analysis.robustness import evaluate_robustness
from qsnn_qiskit.circuits import NoiseSpec
from qsnn_qiskit.data import BatchLoader, DataBundle, Split, load_dataset
from qsnn_qiskit.data.corruptions import CORRUPTIONS
from qsnn_qiskit.models import count_trainable
from qsnn_qiskit.training import (OPTIMIZERS, TrainSettings, estimate_epoch_seconds, evaluate, load_run, resume_run,
                                  rundir, start_run)
from qsnn_qiskit.training.settings import MODEL_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mnist-test-10k"
NOTE = ("8k/2k split of the MNIST test set (images 0..7999 train, 8000..9999 validation), not the "
        "paper's 60k-image training set")
NOISE = "reference"
INITS = ("normal_2pi", "uniform_2pi", "uniform_1", "normal_1")
INIT_LABELS = {"normal_2pi": "N(0,1) on [0,2pi]", "uniform_2pi": "U(0,2pi)", "uniform_1": "U[0,1]",
               "normal_1": "N(0,1) on [0,1]"}
VARIANTS = {"2b-9q": (2, 9), "4b-9q": (4, 9), "2b-18q": (2, 18), "4b-18q": (4, 18)}
TABLES = ("2", "3", "4", "5", "baselines", "noisy")
#: The recipe of the 85.65% run (benchmarks/results/accuracy_mnist.md), less its epochs: Adam, weight
#: decay 1e-3 and batch 16 are TrainSettings' defaults.
RECIPE = {"lr": 0.02, "schedule": "onecycle", "init": "uniform_2pi"}
#: The baselines table's rows: key -> (label, --ansatz, the variant whose blocks and qubits it takes).
BASELINES = {
    "bl-reupload-2b-9q": ("re-upload 2b-9q (SQDR-CNN)", "reupload", "2b-9q"),
    "bl-reupload-4b-9q": ("re-upload 4b-9q (SQDR-CNN)", "reupload", "4b-9q"),
    "bl-product-2b-9q": ("product circuit 2b-9q (no entanglers)", "product", "2b-9q"),
    "bl-classical-2b-9q": ("classical layer of 2b-9q's shape", "classical", "2b-9q"),
    "bl-none-9q": ("no layer (rates straight into the head)", "none", "2b-9q"),
}

#: The noisy table's variants, cheapest first; the presets each is trained and evaluated under.
NOISY_VARIANTS = ("2b-9q", "2b-18q", "4b-9q", "4b-18q")
PRESETS = NoiseSpec.PRESETS
#: Accuracy against noise strength: the noiseless SWEEP_VARIANT under SWEEP_PRESET, its
#: probabilities scaled by each factor.
SWEEP_VARIANT, SWEEP_PRESET, SWEEP = "2b-9q", "paper", (0.25, 0.5, 1.0, 2.0)
#: A noisy-table run stops before an epoch that would end past this many times its budget: a net for
#: a bad estimate (the epochs are planned to fit the budget itself).
SAFETY = 1.5

#: The paper's MNIST validation accuracy (%), PAPER.md; Table 5 by (optimiser, init).
PAPER = {
    "2": {"hea": 80.30, "sqnn": 82.45, "reupload": 84.03},
    "3": {"2b-9q": 84.03, "4b-9q": 88.32, "2b-18q": 86.55, "4b-18q": 88.32},
    "4": {"2b-9q": 82.67, "4b-9q": 81.95, "2b-18q": 84.36, "4b-18q": 84.70},
    "5": {("adam", "normal_2pi"): 81.41, ("adam", "uniform_2pi"): 84.03, ("adam", "uniform_1"): 82.57,
          ("adam", "normal_1"): 82.07, ("adamw", "normal_2pi"): 58.40, ("adamw", "uniform_2pi"): 60.57,
          ("adamw", "uniform_1"): 58.45, ("adamw", "normal_1"): 54.99, ("sgd", "normal_2pi"): 39.93,
          ("sgd", "uniform_2pi"): 47.36, ("sgd", "uniform_1"): 38.49, ("sgd", "normal_1"): 27.61,
          ("sgdr", "normal_2pi"): 25.24, ("sgdr", "uniform_2pi"): 36.96, ("sgdr", "uniform_1"): 25.25,
          ("sgdr", "normal_1"): 22.41, ("adagrad", "normal_2pi"): 31.01, ("adagrad", "uniform_2pi"): 28.17,
          ("adagrad", "uniform_1"): 25.16, ("adagrad", "normal_1"): 20.24},
}


@dataclass(frozen=True)
class Budget:
    """Sizes of one reproduction: epochs, images, and the (blocks, qubits) each variant name means."""

    epochs: int = 6
    epochs_table5: int = 2
    epochs_baselines: int = 74   # the recipe of the 85.65% run (benchmarks/results/accuracy_mnist.md)
    noisy_minutes: float = 30.0   # training budget of each noisy-table run
    calibration_steps: int = 40   # timed training steps per preset that plan a noisy-table variant's epochs
    matrix_images: int = 2000     # validation images of the noisy table's evaluations
    limit: int | None = None
    noisy_eval_images: int = 500
    variants: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(VARIANTS))
    #: Variants whose Table 4 row evaluates the noiseless model under noise instead of training.
    noisy_eval_only: tuple[str, ...] = ("4b-9q", "4b-18q")


#: ``--smoke``: every step of every table on tiny models and data, in well under a minute.
SMOKE = Budget(epochs=1, epochs_table5=1, epochs_baselines=1, calibration_steps=1, matrix_images=8, limit=32,
               noisy_eval_images=8, variants={"2b-9q": (1, 2), "4b-9q": (2, 2), "2b-18q": (1, 3), "4b-18q": (2, 3)})

#: Budget fields added after results files were first written, with the value those files imply:
#: at that value the field is left out of the recorded budget (and of the run directories' name), so
#: the cells recorded before it existed are still skipped, not trained again.
ADDED_LATER = {name: getattr(Budget, name) for name in
               ("epochs_baselines", "noisy_minutes", "calibration_steps", "matrix_images")}


def budget_record(budget: Budget) -> dict[str, Any]:
    """The budget as paper_tables.json holds it (lists, not tuples), less the `ADDED_LATER` fields
    at their implied values."""
    record = json.loads(json.dumps(asdict(budget)))
    return {k: v for k, v in record.items() if ADDED_LATER.get(k, object()) != v}


@dataclass(frozen=True)
class Experiment:
    """One cell of a table: train with ``settings`` (changes to the base recipe), or, when
    ``evaluate_of`` names another experiment, evaluate that one's model under ``noise`` on
    ``images`` validation images (default ``Budget.noisy_eval_images``); with ``robustness``, also
    record its parameter count and accuracy under every corruption.

    With ``calibrate`` (noise presets), the cell plans epochs instead: it times ``settings``' training
    under each preset and records the epochs that fit the budget; a cell with ``epochs_from`` (such
    a cell's key) trains that many. With ``reuse``, a recorded noiseless run of the same settings
    stands in for training."""

    key: str
    table: str
    row: str
    settings: dict[str, Any]
    evaluate_of: str | None = None
    robustness: bool = False
    images: int | None = None
    calibrate: tuple[str, ...] = ()
    epochs_from: str | None = None
    reuse: bool = False


def plan(tables: list[str], budget: Budget) -> list[Experiment]:
    """The experiments of ``tables`` in run order; a cell shared by two tables is run once."""
    recipe = {"epochs": budget.epochs, **RECIPE}
    b9, q9 = budget.variants["2b-9q"]
    found: dict[str, Experiment] = {}

    def add(exp: Experiment) -> None:
        found.setdefault(exp.key, exp)

    def variant(name: str, noise: str | None = None) -> Experiment:
        blocks, qubits = budget.variants[name]
        settings = {**recipe, "blocks": blocks, "qubits": qubits, **({"noise": noise} if noise else {})}
        return Experiment(f"{name}{'-noisy' if noise else ''}", "4" if noise else "3", name, settings)

    if "2" in tables:   # the circuits in question first: at a long budget each cell is a long run
        for ansatz in ("sqnn", "hea", "reupload"):
            key = "2b-9q" if ansatz == "reupload" else f"{ansatz}-2b-9q"
            add(Experiment(key, "2", ansatz, {**recipe, "blocks": b9, "qubits": q9, "ansatz": ansatz}))
    if "3" in tables or "4" in tables:
        for name in budget.variants:
            add(variant(name))
    if "4" in tables:
        for name in budget.variants:
            if name in budget.noisy_eval_only:
                add(Experiment(f"{name}-noisy-eval", "4", name, {"noise": NOISE}, evaluate_of=name))
            else:
                add(variant(name, NOISE))
    if "5" in tables:
        for optimizer in OPTIMIZERS:
            for init in INITS:
                add(Experiment(f"t5-{optimizer}-{init}", "5", f"{optimizer}/{init}",
                               {"epochs": budget.epochs_table5, "blocks": b9, "qubits": q9,
                                "optimizer": optimizer, "init": init}))
    if "baselines" in tables:
        for key, (label, ansatz, size) in BASELINES.items():
            blocks, qubits = budget.variants[size]
            add(Experiment(key, "baselines", label, {**RECIPE, "epochs": budget.epochs_baselines, "ansatz": ansatz,
                                                     "blocks": blocks, "qubits": qubits}, robustness=True))
    if "noisy" in tables:
        for exp in _noisy_plan(budget):
            add(exp)
    return list(found.values())


def noisy_key(variant: str, noise: str | None) -> str:
    """The noisy table's training cell of ``variant`` under the preset ``noise`` (None: noiseless)."""
    return f"noisy-{variant}-{noise or 'none'}"


def calibration_key(variant: str) -> str:
    """The noisy table's cell that plans ``variant``'s epochs."""
    return f"noisy-{variant}-calibration"


def noise_label(preset: str | None, factor: float = 1.0) -> str:
    """``none``, a preset's name, or ``paper-x0.25`` for its probabilities scaled by 0.25."""
    return (preset or "none") + ("" if factor == 1.0 else f"-x{factor:g}")


def scaled_noise(preset: str | None, factor: float = 1.0) -> NoiseSpec | None:
    """The preset's NoiseSpec with every probability multiplied by ``factor``; None for no noise."""
    if preset is None:
        return None
    spec = NoiseSpec.parse(preset)
    return replace(spec, **{name: factor * getattr(spec, name) for name in NoiseSpec.PROBABILITIES})


def _noisy_plan(budget: Budget) -> list[Experiment]:
    """The noisy table's cells, variant by variant (cheapest first): plan the epochs; train under
    each preset, then the noiseless twin; evaluate each of the three without noise and under each
    preset; for `SWEEP_VARIANT`, evaluate the twin under `SWEEP_PRESET` at each strength."""
    exps = []
    for name in NOISY_VARIANTS:
        blocks, qubits = budget.variants[name]
        recipe = {**RECIPE, "epochs": budget.epochs_baselines, "ansatz": "reupload", "blocks": blocks,
                  "qubits": qubits}
        calibration = calibration_key(name)
        exps.append(Experiment(calibration, "noisy", name, recipe, calibrate=PRESETS))
        for noise in (*PRESETS, None):
            exps.append(Experiment(noisy_key(name, noise), "noisy", f"{name} trained under {noise_label(noise)}",
                                   {**recipe, "noise": noise}, epochs_from=calibration, reuse=noise is None))
        strengths = [(trained, evaluated, 1.0) for trained in (None, *PRESETS) for evaluated in (None, *PRESETS)]
        if name == SWEEP_VARIANT:
            strengths += [(None, SWEEP_PRESET, factor) for factor in SWEEP]
        for trained, evaluated, factor in strengths:
            label = noise_label(evaluated, factor)
            exps.append(Experiment(f"{noisy_key(name, trained)}@{label}", "noisy",
                                   f"{name} trained under {noise_label(trained)}, evaluated under {label}",
                                   {"noise": scaled_noise(evaluated, factor)}, evaluate_of=noisy_key(name, trained),
                                   images=budget.matrix_images))
    return exps


def _train(exp: Experiment, base: TrainSettings, data: DataBundle, run_dir: Path,
           max_seconds: float | None = None) -> dict[str, Any]:
    """Train ``exp`` into ``run_dir`` (resuming it if an earlier attempt stopped part-way), stopping
    before an epoch that would take its training time past ``max_seconds``."""
    if (run_dir / rundir.CONFIG).is_file():
        trainer = resume_run(run_dir, data=data)
        print(f"  resuming {run_dir} after epoch {len(trainer.history)}", flush=True)
    else:
        trainer, run_dir = start_run(replace(base, **exp.settings), run_dir, data=data)
    left = None if max_seconds is None else max_seconds - sum(r["seconds"] for r in trainer.history)
    trainer.fit(run_dir, progress=sys.stderr.isatty(), max_seconds=left,
                log=lambda line: print("  " + line, flush=True))
    best = max(trainer.history, key=lambda r: r["val_acc"])
    return {"val_acc": trainer.history[-1]["val_acc"], "best_val_acc": best["val_acc"],
            "epochs": len(trainer.history), "images": len(data.train), "val_images": len(data.val),
            "seconds": sum(r["seconds"] for r in trainer.history), "settings": asdict(trainer.settings)}


def epochs_within(budget_seconds: float, epoch_seconds: float, most: int) -> int:
    """As many epochs of ``epoch_seconds`` as ``budget_seconds`` hold, at least 1 and at most ``most``."""
    return max(1, min(most, math.floor(budget_seconds / epoch_seconds)))


def _calibrate(exp: Experiment, base: TrainSettings, data: DataBundle, budget: Budget) -> dict[str, Any]:
    """Estimated seconds per epoch of ``exp``'s training under each of its presets, and the epochs
    (at most its recipe's) that the budget holds under the slowest: what its runs will train."""
    start = time.perf_counter()
    estimates = {noise: estimate_epoch_seconds(replace(base, **exp.settings, noise=noise).resolved(), data,
                                               budget.calibration_steps) for noise in exp.calibrate}
    budget_seconds = 60 * budget.noisy_minutes
    epochs = epochs_within(budget_seconds, max(estimates.values()), exp.settings["epochs"])
    print(f"  about {', '.join(f'{s:.0f} s per epoch under {n}' for n, s in estimates.items())}: {epochs} "
          f"epochs in {budget.noisy_minutes:g} min", flush=True)
    return {"epoch_seconds": estimates, "budget_seconds": budget_seconds, "epochs": epochs,
            "seconds": time.perf_counter() - start}


def _recorded_run(done: dict[str, dict[str, Any]], settings: TrainSettings, run_root: Path) -> str | None:
    """The key of a recorded run trained with ``settings`` whose checkpoint is still in ``run_root``;
    None if there is none. Every setting must agree but the run directory and the model settings
    ``settings`` leaves to the model's defaults."""
    wanted = {k: v for k, v in asdict(settings.resolved()).items()
              if k != "run_dir" and not (v is None and k in MODEL_SETTINGS)}
    for key, cell in done.items():
        recorded = cell.get("settings", {})
        if "reused" not in cell and all(recorded.get(k) == v for k, v in wanted.items()) \
                and (run_root / key / rundir.CHECKPOINT).is_file():
            return key
    return None


def _run(exp: Experiment, done: dict[str, dict[str, Any]], base: TrainSettings, data: DataBundle, budget: Budget,
         run_root: Path) -> dict[str, Any]:
    """Run one cell: plan epochs, evaluate a recorded model, or train (or take a recorded run's place)."""
    if exp.calibrate:
        return _calibrate(exp, base, data, budget)
    if exp.evaluate_of is not None:
        source = done[exp.evaluate_of].get("reused", exp.evaluate_of)
        return _evaluate_noisy(exp, run_root / source, data, exp.images or budget.noisy_eval_images)
    if exp.epochs_from is not None:
        exp = replace(exp, settings={**exp.settings, "epochs": done[exp.epochs_from]["epochs"]})
    if exp.reuse and (match := _recorded_run(done, replace(base, **exp.settings), run_root)) is not None:
        print(f"  the same run is recorded as {match}: reusing it", flush=True)
        return {**done[match], "reused": match, "seconds": 0.0}
    max_seconds = None if exp.epochs_from is None else SAFETY * 60 * budget.noisy_minutes
    result = _train(exp, base, data, run_root / exp.key, max_seconds)
    return result | (_robustness(run_root / exp.key, data, base.seed) if exp.robustness else {})


def _robustness(run_dir: Path, data: DataBundle, seed: int) -> dict[str, Any]:
    """Parameter count of the model trained in ``run_dir`` and its validation accuracy, clean and
    under each corruption at each intensity (``analysis.robustness.evaluate_robustness``)."""
    start = time.perf_counter()
    model, _ = load_run(run_dir)
    rows = evaluate_robustness(model, BatchLoader(data.val, 256), seed=seed)
    accuracy: dict[str, dict[str, float]] = {}
    for row in rows:
        accuracy.setdefault(row["corruption"], {})[str(row["level"])] = row["accuracy"]
    return {"params": count_trainable(model), "robustness": accuracy,
            "robustness_seconds": time.perf_counter() - start}


def _evaluate_noisy(exp: Experiment, source: Path, data: DataBundle, images: int) -> dict[str, Any]:
    """Validation accuracy of the model trained in ``source`` with ``exp``'s noise, on ``images`` images."""
    start = time.perf_counter()
    model, _ = load_run(source, **exp.settings)
    val = Split(data.val.images[:images], data.val.labels[:images])
    result = evaluate(model, BatchLoader(val, 64), data.n_classes, progress=sys.stderr.isatty(),
                      desc=f"{exp.key} under noise")
    return {"val_acc": result.accuracy, "epochs": 0, "val_images": len(val),
            "seconds": time.perf_counter() - start, "evaluated": str(source)}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(done: dict[str, dict[str, Any]], exps: list[Experiment], meta: dict[str, Any]) -> str:
    """The four tables, ours beside the paper's, each with the budget it used."""
    by_key = {e.key: e for e in exps}
    lines = [f"# SQDR-CNN paper experiments, reproduced on a reduced budget{' (smoke run)' if meta['smoke'] else ''}",
             "", f"Data: {meta['data']}. Only the MNIST column of the paper is reproduced: Fashion-MNIST and KMNIST "
             "cannot be downloaded here.", "",
             f"- machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, "
             f"{meta['machine']['torch_threads']} torch thread(s), GPU {meta['machine']['gpu']}",
             f"- command: `{meta['command']}`", f"- seed of every run: {meta['seed']}",
             f"- total training and evaluation time: {meta['seconds'] / 60:.1f} min (shared machine: other "
             "jobs ran beside it, so times are upper bounds)", "",
             "How to read these: a few epochs on 8,000 images stand in for the paper's 100 epochs on 60,000, so "
             "every accuracy here is far below the paper's. Compare orderings within a table (which PQC, which "
             "variant, which optimiser learns fastest), not absolute values; a cell at about 10% has not left "
             "chance level within its budget.", ""]

    def table(title: str, note: str, rows: list[tuple[str, str, float | None]]) -> None:
        lines.extend([f"## {title}", "", note, "", "| row | ours: val acc (%) | paper (%) | epochs | images | minutes |",
                      "| --- | ---: | ---: | ---: | ---: | ---: |"])
        for label, key, paper in rows:
            cell = done.get(key)
            if cell is None:
                lines.append(f"| {label} | not run | {_percent(paper)} | | | |")
                continue
            images = cell.get("images", f"{cell['val_images']} (eval)")
            lines.append(f"| {label} | {100 * cell['val_acc']:.2f} | {_percent(paper)} | {cell['epochs']} | "
                         f"{images} | {cell['seconds'] / 60:.1f} |")
        lines.append("")

    budget = meta["budget"]
    recipe = (f"Adam, one-cycle schedule peaking at lr 0.02, weight decay 1e-3, batch 16, U(0, 2pi) init, "
              f"{budget['epochs']} epochs (the paper: 100 epochs on 60k images, constant lr 1e-3)")
    v = budget["variants"]
    if any(e.table == "2" for e in exps):
        table("Table 2: PQC choice in SQDR-CNN 2b-9q", f"Budget: {recipe}.",
              [(name, "2b-9q" if a == "reupload" else f"{a}-2b-9q", PAPER["2"][a])
               for a, name in (("hea", "HEA"), ("sqnn", "SQNN PQC"), ("reupload", "data re-upload"))])
    if any(e.table == "3" for e in exps) or any(e.table == "4" for e in exps):
        table("Table 3: variants, noiseless", f"Budget: {recipe}.",
              [(f"{n} ({v[n][0]} blocks, {v[n][1]} qubits)", n, PAPER["3"][n]) for n in v])
    if any(e.table == "4" for e in exps):
        rows = []
        for n in v:
            key = f"{n}-noisy-eval" if f"{n}-noisy-eval" in by_key else f"{n}-noisy"
            how = "Table 3 model evaluated under noise" if key.endswith("eval") else "trained under noise"
            rows.append((f"{n}: {how}", key, PAPER["4"][n]))
        table("Table 4: variants under noise",
              f"Noise: `--noise {NOISE}` ({NoiseSpec.parse(NOISE).describe()}; exact density matrices). "
              "Rows trained under "
              f"noise use the budget of Table 3; rows marked 'evaluated' take the noiseless Table 3 model and "
              f"measure it under noise on the first {budget['noisy_eval_images']} validation images, because "
              "training 4-block variants under exact noise costs 23 (4b-9q) and 81 (4b-18q) minutes per "
              "epoch on this machine.", rows)
    if any(e.table == "baselines" for e in exps):
        lines.extend(_baselines_table(done, budget))
    if any(e.table == "noisy" for e in exps):
        lines.extend(_noisy_tables(done, budget))
    if any(e.table == "5" for e in exps):
        lines.extend(["## Table 5: optimiser x initialisation (2b-9q)", "",
                      f"Budget: the paper's settings (lr 1e-3, weight decay 1e-3, constant rate except SGDR's "
                      f"warm restarts, batch 16), {budget['epochs_table5']} epochs instead of 100. Each cell: "
                      "ours / paper (%).", "",
                      "| optimiser | " + " | ".join(INIT_LABELS[i] for i in INITS) + " | average (ours / paper) |",
                      "| --- |" + " ---: |" * (len(INITS) + 1)])
        for optimizer in OPTIMIZERS:
            cells, ours, theirs = [], [], []
            for init in INITS:
                cell, paper = done.get(f"t5-{optimizer}-{init}"), PAPER["5"][(optimizer, init)]
                theirs.append(paper)
                if cell is not None:
                    ours.append(100 * cell["val_acc"])
                cells.append(f"{'-' if cell is None else format(100 * cell['val_acc'], '.2f')} / {paper:.2f}")
            mean = f"{sum(ours) / len(ours):.2f}" if len(ours) == len(INITS) else "-"
            lines.append(f"| {optimizer} | " + " | ".join(cells) + f" | {mean} / {sum(theirs) / len(theirs):.2f} |")
        lines.append("")
    return "\n".join(lines)


def _baselines_table(done: dict[str, dict[str, Any]], budget: dict[str, Any]) -> list[str]:
    """The baselines table: accuracy, parameters, time, and the mean accuracy over the intensities of
    each corruption (every intensity is in the JSON file)."""
    epochs = budget.get("epochs_baselines", Budget.epochs_baselines)
    lines = ["## Baselines: does the circuit help?", "",
             "The same spiking encoder and Linear head around the re-upload circuit, the product circuit (no "
             "entanglers), a classical tanh layer with the circuit's widths and exactly its number of weights "
             "(`--ansatz classical`), or nothing (`--ansatz none`: the encoder's rates go straight into the "
             f"head). Budget: the recipe of the 85.65% run, {epochs} epochs, Adam, one-cycle schedule peaking at "
             "lr 0.02, weight decay 1e-3, batch 16, U(0, 2pi) init (circuit weights only). Corruption columns: "
             "validation accuracy (%) averaged over intensities 1 to 5.", "",
             "| model | params | val acc (%) | best (%) | train minutes | "
             + " | ".join(CORRUPTIONS) + " |", "| --- |" + " ---: |" * (4 + len(CORRUPTIONS))]
    for key, (label, _, _) in BASELINES.items():
        cell = done.get(key)
        if cell is None:
            lines.append(f"| {label} | not run |" + " |" * (3 + len(CORRUPTIONS)))
            continue
        means = [100 * sum(cell["robustness"][c].values()) / len(cell["robustness"][c]) for c in CORRUPTIONS]
        lines.append(f"| {label} | {cell['params']:,} | {100 * cell['val_acc']:.2f} | {100 * cell['best_val_acc']:.2f} "
                     f"| {cell['seconds'] / 60:.1f} | " + " | ".join(f"{m:.2f}" for m in means) + " |")
    return lines + [""]


def _accuracy(done: dict[str, dict[str, Any]], key: str) -> str:
    """The recorded validation accuracy of ``key`` in %, or - if it has not run."""
    return _percent(100 * done[key]["val_acc"] if key in done else None)


def _noisy_tables(done: dict[str, dict[str, Any]], budget: dict[str, Any]) -> list[str]:
    """The noisy table: each variant trained under each preset beside its noiseless twin and the
    paper; the presets; per variant, the trained-under x evaluated-under matrix; the strength sweep."""
    most, minutes, steps, images = (budget.get(name, getattr(Budget, name)) for name in
                                    ("epochs_baselines", "noisy_minutes", "calibration_steps", "matrix_images"))
    lines = ["## Table 4 at a real budget: trained under noise", "",
             f"Budget: the recipe of the 85.65% run (Adam, one-cycle schedule peaking at lr 0.02, weight decay 1e-3, "
             f"batch 16, U(0, 2pi) init), {most} epochs or as many as {minutes:g} minutes of training allow. Before a "
             f"variant trains, {steps} training steps under each preset are timed on a throwaway model (after as "
             "many for warm-up) and scaled to an epoch, plus 10% for validation; epochs = clamp(floor(budget / the "
             f"slower preset's estimate), 1, {most}), shared by both presets and the noiseless twin, so that the "
             "three compare at equal epochs and each one-cycle schedule completes. A run still stops before an "
             f"epoch that would end past {SAFETY:g}x the budget, a net for a bad estimate (its epochs then read "
             "'k of n'). A noiseless run recorded with exactly the twin's settings (a baselines cell) stands in for "
             "it ('reused'). Noise is simulated exactly (density matrices, torch engine).", "",
             "| variant | trained under | val acc (%) | noiseless twin, same epochs (%) | paper Table 4 (%) | "
             "paper Table 3, noiseless (%) | epochs | estimated min/epoch | train minutes | images |",
             "| --- | --- |" + " ---: |" * 8]
    lines += [_noisy_row(done, name, preset) for name in NOISY_VARIANTS for preset in PRESETS]
    lines += ["", "The presets:", ""] + [f"- `{p}`: {NoiseSpec.parse(p).describe()}" for p in PRESETS] + [""]
    lines += ["How to read the matrices below: in a row, the diagonal against the `none` column is what the noise "
              "costs that model at evaluation; down a column, the noiseless model against the one trained under "
              "that noise is what training under it wins back; the `paper` and `reference` columns compare the two "
              "presets on the same weights.", ""]
    for name in NOISY_VARIANTS:
        lines += _matrix(done, name, images)
    return lines + _sweep(done)


def _noisy_row(done: dict[str, dict[str, Any]], name: str, preset: str) -> str:
    """``name`` trained under ``preset``, beside its noiseless twin and the paper's numbers."""
    twin = done.get(noisy_key(name, None), {})
    twin_text = _accuracy(done, noisy_key(name, None)) + (f" (reused {twin['reused']})" if "reused" in twin else "")
    estimate = done.get(calibration_key(name), {}).get("epoch_seconds", {}).get(preset)
    cell = done.get(noisy_key(name, preset))
    epochs = minutes = images = ""
    if cell is not None:
        planned = cell["settings"]["epochs"]
        epochs = str(cell["epochs"]) + ("" if cell["epochs"] == planned else f" of {planned}")
        minutes, images = f"{cell['seconds'] / 60:.1f}", str(cell["images"])
    return (f"| {name} | {preset} | {_accuracy(done, noisy_key(name, preset))} | {twin_text} | {PAPER['4'][name]:.2f} "
            f"| {PAPER['3'][name]:.2f} | {epochs} | {'' if estimate is None else f'{estimate / 60:.1f}'} | {minutes} "
            f"| {images} |")


def _matrix(done: dict[str, dict[str, Any]], name: str, images: int) -> list[str]:
    """``name``'s models trained without noise and under each preset, evaluated the same ways."""
    noises = (None, *PRESETS)
    lines = [f"### {name}: trained under (rows) x evaluated under (columns)", "",
             f"Validation accuracy (%) on the first {images} validation images (on all of them, the diagonal "
             "repeats each training run's last evaluation).", "",
             "| trained under | " + " | ".join(map(noise_label, noises)) + " |", "| --- |" + " ---: |" * len(noises)]
    for trained in noises:
        cells = [_accuracy(done, f"{noisy_key(name, trained)}@{noise_label(evaluated)}") for evaluated in noises]
        lines.append(f"| {noise_label(trained)} | " + " | ".join(cells) + " |")
    return lines + [""]


def _sweep(done: dict[str, dict[str, Any]]) -> list[str]:
    """The noiseless `SWEEP_VARIANT` under `SWEEP_PRESET` with its probabilities scaled, from 0 up."""
    twin = noisy_key(SWEEP_VARIANT, None)
    lines = [f"### Accuracy against noise strength: {SWEEP_VARIANT} trained without noise, evaluated under "
             f"`{SWEEP_PRESET}` with every probability scaled", "",
             "| factor | " + " | ".join(n.replace("_", " ") for n in NoiseSpec.PROBABILITIES) + " | val acc (%) |",
             "| ---: |" + " ---: |" * (len(NoiseSpec.PROBABILITIES) + 1)]
    for factor, label, spec in [(0.0, noise_label(None), NoiseSpec()),
                                *((f, noise_label(SWEEP_PRESET, f), scaled_noise(SWEEP_PRESET, f)) for f in SWEEP)]:
        lines.append(f"| {factor:g} | " + " | ".join(f"{getattr(spec, n):g}" for n in NoiseSpec.PROBABILITIES)
                     + f" | {_accuracy(done, f'{twin}@{label}')} |")
    return lines + [""]


def _write(json_path: Path, md_path: Path, done: dict[str, dict[str, Any]], exps: list[Experiment],
           meta: dict[str, Any]) -> None:
    """Record every result so far, atomically: the JSON (what a rerun resumes from) and the tables."""
    meta["seconds"] = sum(r["seconds"] for r in done.values())
    atomic_write_text(json_path, json.dumps({**meta, "results": done}, indent=2) + "\n")
    atomic_write_text(md_path, markdown(done, exps, meta))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", default="2,3,4,5", help=f"comma-separated tables to run, of {','.join(TABLES)} "
                                                       "(default 2,3,4,5)")
    p.add_argument("--epochs", type=int, default=Budget.epochs,
                   help=f"epochs of each Table 2-4 run (default {Budget.epochs})")
    p.add_argument("--epochs-table5", type=int, default=Budget.epochs_table5,
                   help=f"epochs of each Table 5 run (default {Budget.epochs_table5})")
    p.add_argument("--epochs-baselines", type=int, default=Budget.epochs_baselines,
                   help=f"epochs of each baselines run (default {Budget.epochs_baselines}, the 85.65%% recipe)")
    p.add_argument("--noisy-minutes", type=float, default=Budget.noisy_minutes,
                   help=f"training budget of each --tables noisy run, minutes (default {Budget.noisy_minutes:g}): "
                        f"it plans the epochs, at most --epochs-baselines")
    p.add_argument("--calibration-steps", type=int, default=Budget.calibration_steps,
                   help=f"timed training steps per preset that plan the epochs of a --tables noisy variant "
                        f"(default {Budget.calibration_steps})")
    p.add_argument("--matrix-images", type=int, default=Budget.matrix_images,
                   help=f"validation images of the --tables noisy evaluations (default {Budget.matrix_images}, all)")
    p.add_argument("--limit", type=int, help="cap on training images (default: all 8,000)")
    p.add_argument("--noisy-eval-images", type=int, default=Budget.noisy_eval_images,
                   help=f"validation images for the rows evaluated under noise (default {Budget.noisy_eval_images})")
    p.add_argument("--data", type=Path, default=DATA, help=f"IDX folder (default {DATA})")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                   help="results folder: paper_tables.json and .md (default benchmarks/results)")
    p.add_argument("--run-root", type=Path, default=Path("runs") / "paper",
                   help="where the run directories are kept (default runs/paper)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--seed", type=int, default=20200626, help="seed of every run (default 20200626)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny models (2-3 qubits), 32 embedded images, 1 epoch: checks every step in seconds")
    args = p.parse_args(argv)
    args.tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    bad = [t for t in args.tables if t not in TABLES]
    if bad or not args.tables:
        p.error(f"--tables takes some of {','.join(TABLES)}; got {','.join(bad) or 'none'}")
    for name in ("epochs", "epochs_table5", "epochs_baselines", "noisy_eval_images", "calibration_steps",
                 "matrix_images", "threads") + (("limit",) if args.limit else ()):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    if not (math.isfinite(args.noisy_minutes) and args.noisy_minutes > 0):
        p.error(f"--noisy-minutes must be a finite number > 0; got {args.noisy_minutes}")
    return args


def _shown(every: list[Experiment], planned: list[Experiment], done: dict[str, dict[str, Any]]) -> list[Experiment]:
    """The experiments the results file shows: the planned ones and every other one recorded."""
    keys = {e.key for e in planned}
    return [e for e in every if e.key in keys or e.key in done]


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run the planned experiments not yet recorded in ``--out``; returns every recorded result."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    budget = SMOKE if args.smoke else Budget(epochs=args.epochs, epochs_table5=args.epochs_table5,
                                             epochs_baselines=args.epochs_baselines, limit=args.limit,
                                             noisy_eval_images=args.noisy_eval_images,
                                             noisy_minutes=args.noisy_minutes,
                                             calibration_steps=args.calibration_steps,
                                             matrix_images=args.matrix_images)
    dataset, data_dir = ("default", None) if args.smoke else ("idx", str(args.data))
    data = load_dataset(dataset, data_dir, limit=budget.limit)
    base = TrainSettings(dataset=dataset, data_dir=data_dir, limit=budget.limit, seed=args.seed)
    exps = plan(args.tables, budget)
    every = plan(list(TABLES), budget)   # the results file shows every table recorded so far, not just these
    stem = "paper_tables_smoke" if args.smoke else "paper_tables"
    json_path, md_path = args.out / f"{stem}.json", args.out / f"{stem}.md"
    meta = {"smoke": args.smoke, "data": f"{len(data.train)} training / {len(data.val)} validation images of "
            + ("the embedded default dataset (smoke run: the figures mean nothing)" if args.smoke else f"the {NOTE}"),
            "budget": budget_record(budget), "seed": args.seed,
            "machine": machine(args.threads),
            "command": " ".join(["python examples/reproduce_paper.py",
                                 *map(shlex.quote, argv if argv is not None else sys.argv[1:])])}
    run_root = args.run_root / f"{stem}-{hashlib.sha256(json.dumps(meta['budget']).encode()).hexdigest()[:8]}"
    done: dict[str, dict[str, Any]] = {}
    if json_path.is_file():
        stored = json.loads(json_path.read_text(encoding="utf-8"))
        if stored.get("budget") == meta["budget"]:
            done = stored["results"]
    print(f"{len(exps)} experiments; {sum(e.key in done for e in exps)} already recorded in {json_path}; "
          f"run directories in {run_root}", flush=True)
    for n, exp in enumerate(exps, 1):
        if exp.key in done:
            continue
        print(f"[{n}/{len(exps)}] Table {exp.table}: {exp.row} ({exp.key})", flush=True)
        done[exp.key] = _run(exp, done, base, data, budget, run_root)
        if "val_acc" in done[exp.key]:
            print(f"  -> validation accuracy {100 * done[exp.key]['val_acc']:.2f}%", flush=True)
        _write(json_path, md_path, done, _shown(every, exps, done), meta)
    _write(json_path, md_path, done, _shown(every, exps, done), meta)
    print(f"wrote {json_path} and {md_path}")
    return done


if __name__ == "__main__":
    try:
        main()
    except (ValueError, TypeError, FileNotFoundError) as err:
        sys.exit(f"reproduce_paper: error: {err}")
