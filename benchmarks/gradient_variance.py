"""Gradient diagnostics of SQDR-CNN's circuit: the paper's Figure 4 and Figure 5, measured.

mlp (Figure 4): SQDR-CNN with the Linear post-processing head and without it (``head="none"``: the
    logits are <Z_0..Z_9> of the circuit) at the same size, 10 qubits and 2 blocks so that the
    circuit alone emits the 10 MNIST logits; both start from the same encoder and circuit weights
    and see the same batches. After every backward, the variance over the circuit weight vector's
    entries of d(loss)/d(weights) is recorded; per-epoch means, the per-step series and the
    validation accuracy of both go to gradient_variance_mlp.{json,md,png}. Data: the 8k/2k split of
    the MNIST test set in ../shared/data/mnist-test-10k (not the paper's 60k training images).
init (Figure 5): Var over random weight draws (each initialisation scheme) and random inputs in
    [0, 1] of dE/dtheta_{1,1} for the 2-block re-upload circuit against qubit count, for three
    choices of E (<Z_0>, the mean of <Z_j>, the global <Z...Z>), with the slope of ln Var against
    n per scheme; written to gradient_variance_init.{json,md,png}.

    python benchmarks/gradient_variance.py --quick          # smoke test on the embedded data, seconds
    python benchmarks/gradient_variance.py                  # both figures, about 10 minutes at 1 thread
    python benchmarks/gradient_variance.py --sections init  # Figure 5 only
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qsnn_qiskit import SQDRCNN
from qsnn_qiskit._atomic import atomic_write, atomic_write_text
from qsnn_qiskit.analysis import machine
from qsnn_qiskit.analysis.diagnostics import (OBSERVABLES, EpochGradients, decay_slope,
                                              train_with_gradient_variance, variance_vs_qubits)
from qsnn_qiskit.circuits import INIT_SCHEMES
from qsnn_qiskit.data import BatchLoader, DataBundle, load_dataset
from qsnn_qiskit.models import count_trainable
from qsnn_qiskit.training import OPTIMIZERS, SCHEDULES, seed_everything

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mnist-test-10k"
RESULTS = ROOT / "benchmarks" / "results"
NOTE = ("the 8k/2k split of the MNIST test set (images 0..7999 train, 8000..9999 validation), not the "
        "paper's 60k-image training set")
SECTIONS = ("mlp", "init")
HEAD_LABELS = {"linear": "with MLP (Linear head)", "none": "without MLP (<Z_j> as logits)"}
OBSERVABLE_LABELS = {"z0": "E = <Z_0>", "mean_z": "E = mean_j <Z_j>", "global_z": "E = <Z_0 Z_1 ... Z_n-1>"}
SCHEME_LABELS = {"normal_2pi": "N(0,1) on [0, 2pi]", "uniform_2pi": "U(0, 2pi)", "uniform_1": "U[0, 1]",
                 "normal_1": "N(0,1) on [0, 1]"}
#: What ``--quick`` sets: the whole pipeline on tiny sizes (a smoke test, not figures to report).
QUICK = {"dataset": "default", "limit": 64, "epochs": 1, "fig5_qubits": [2, 3, 4], "draws": 16}


def _qubit_range(text: str) -> list[int]:
    """``"2..14"`` or ``"2,4,8"`` -> qubit counts."""
    try:
        if ".." in text:
            low, high = (int(v) for v in text.split(".."))
            values = list(range(low, high + 1))
        else:
            values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"qubit counts must look like 2..14 or 2,4,8; got {text!r}") from None
    if len(values) < 2 or min(values) < 2:
        raise argparse.ArgumentTypeError(f"need at least two qubit counts, each >= 2; got {text!r}")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"smoke test ({', '.join(f'{k}={v}' for k, v in QUICK.items())}); files get a _quick suffix")
    p.add_argument("--sections", default=",".join(SECTIONS), help="mlp, init or both (default mlp,init)")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"results folder (default {RESULTS})")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--seed", type=int, default=20200626, help="seed (default 20200626, the reference's)")
    g = p.add_argument_group("mlp (Figure 4)")
    g.add_argument("--dataset", default=f"idx:{DATA}", help="dataset (default the 8k/2k MNIST split)")
    g.add_argument("--limit", type=int, help="cap on training images (default all 8,000)")
    g.add_argument("--epochs", type=int, default=4, help="epochs per model (default 4)")
    g.add_argument("--qubits", type=int, default=10, help="qubits, >= 10 for head='none' (default 10)")
    g.add_argument("--blocks", type=int, default=2, help="re-upload blocks (default 2)")
    g.add_argument("--batch-size", type=int, default=16, help="batch size (default 16)")
    g.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS), help="optimiser (default adam)")
    g.add_argument("--lr", type=float, default=0.02, help="peak learning rate (default 0.02)")
    g.add_argument("--weight-decay", type=float, default=1e-3, help="weight decay (default 1e-3)")
    g.add_argument("--schedule", default="onecycle", choices=sorted(SCHEDULES), help="schedule (default onecycle)")
    g.add_argument("--init", default="uniform_2pi", choices=sorted(INIT_SCHEMES),
                   help="circuit weight initialisation (default uniform_2pi)")
    g = p.add_argument_group("init (Figure 5)")
    g.add_argument("--fig5-qubits", type=_qubit_range, default=_qubit_range("2..14"),
                   help="qubit counts, 2..14 or 2,4,8 (default 2..14)")
    g.add_argument("--fig5-blocks", type=int, default=2, help="re-upload blocks (default 2)")
    g.add_argument("--draws", type=int, default=1000, help="random (weights, inputs) draws per point (default 1000)")
    g.add_argument("--observables", default=",".join(OBSERVABLES),
                   help=f"choices of E, of {', '.join(OBSERVABLES)} (default all)")
    args = p.parse_args(argv)
    args.sections = args.sections.split(",")
    args.observables = args.observables.split(",")
    for name, values, known in (("--sections", args.sections, SECTIONS),
                                ("--observables", args.observables, tuple(OBSERVABLES))):
        bad = [v for v in values if v not in known]
        if bad or not values:
            p.error(f"{name}: unknown {', '.join(bad) or 'empty list'}; known: {', '.join(known)}")
    if args.threads < 1 or args.epochs < 1 or args.draws < 2:
        p.error(f"--threads and --epochs must be >= 1 and --draws >= 2; got {args.threads}, {args.epochs}, "
                f"{args.draws}")
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


# ---- Figure 4: gradient variance during training, with and without the post-processing MLP ----

def _train_one(head: str, data: DataBundle, args: argparse.Namespace) -> dict[str, Any]:
    """Train one model recording its circuit-weight gradient variance; its summary and curves."""
    seed_everything(args.seed)
    model = SQDRCNN(n_qubits=args.qubits, blocks=args.blocks, n_classes=data.n_classes, init=args.init,
                    seed=args.seed, head=head)
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), args.lr, args.weight_decay)
    train = BatchLoader(data.train, args.batch_size, shuffle=True, augment="flip",
                        generator=torch.Generator().manual_seed(args.seed))
    val = BatchLoader(data.val, 256)
    scheduler = SCHEDULES[args.schedule](optimizer, args.lr, len(train), args.epochs)
    print(f"head={head!r}: {count_trainable(model)} parameters")
    history: list[EpochGradients] = train_with_gradient_variance(
        model, model.quantum.weight, train, val, optimizer, args.epochs, data.n_classes, scheduler,
        log=lambda line: print("  " + line, flush=True))
    steps = [v for row in history for v in row.step_variances]
    return {
        "head": head, "parameters": count_trainable(model), "mean_variance": float(np.mean(steps)),
        "median_variance": float(np.median(steps)), "final_val_acc": history[-1].val_acc,
        "seconds": sum(row.seconds for row in history), "steps_per_epoch": len(train),
        "epochs": [{"epoch": r.epoch, "mean_variance": r.mean_variance, "train_loss": r.train_loss,
                    "train_acc": r.train_acc, "val_loss": r.val_loss, "val_acc": r.val_acc,
                    "seconds": r.seconds} for r in history],
        "step_variances": steps,
    }


def figure4(args: argparse.Namespace) -> dict[str, Any]:
    data = load_dataset(args.dataset, limit=args.limit)
    print(f"Figure 4: {data.name}, {len(data.train)} train / {len(data.val)} validation images, "
          f"{args.qubits} qubits, {args.blocks} blocks, {args.epochs} epochs per model")
    models = {head: _train_one(head, data, args) for head in ("linear", "none")}
    return {"dataset": data.name, "data": NOTE if data.name == "idx" else f"the {data.name!r} dataset",
            "n_train": len(data.train), "n_val": len(data.val), "qubits": args.qubits,
            "blocks": args.blocks, "epochs": args.epochs, "models": models,
            "variance_ratio_linear_over_none": models["linear"]["mean_variance"] / models["none"]["mean_variance"],
            "recipe": {k: getattr(args, k) for k in ("optimizer", "lr", "weight_decay", "schedule", "batch_size",
                                                      "init", "seed")}}


def _plot_mlp(result: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    fig, (ax_var, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    for (head, m), color in zip(result["models"].items(), ("tab:blue", "tab:orange")):
        steps = np.asarray(m["step_variances"])
        x_steps = (np.arange(len(steps)) + 1) / m["steps_per_epoch"]
        epochs = [r["epoch"] for r in m["epochs"]]
        ax_var.plot(x_steps, steps, color=color, alpha=0.18, linewidth=0.6)
        ax_var.plot(epochs, [r["mean_variance"] for r in m["epochs"]], "o-", color=color,
                    label=f"{HEAD_LABELS[head]}: per-epoch mean")
        ax_var.axhline(m["mean_variance"], color=color, linestyle="--",
                       label=f"mean over all steps {m['mean_variance']:.2e}")
        ax_acc.plot(epochs, [100 * r["val_acc"] for r in m["epochs"]], "o-", color=color, label=HEAD_LABELS[head])
    ax_var.set_yscale("log")
    ax_var.set(xlabel="epoch (faint: every step)", ylabel="Var over circuit weights of dL/dtheta",
               title=f"Circuit gradient variance, SQDR-CNN {result['blocks']}b-{result['qubits']}q")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    for ax in (ax_var, ax_acc):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    _save(fig, path, plt)


def _markdown_mlp(result: dict[str, Any], meta: dict[str, Any]) -> str:
    lin, none = result["models"]["linear"], result["models"]["none"]
    ratio = result["variance_ratio_linear_over_none"]
    r = result["recipe"]
    larger = sum(a["mean_variance"] > b["mean_variance"] for a, b in zip(lin["epochs"], none["epochs"]))
    agree = {True: "agrees", False: "does not agree"}
    lines = [
        f"# Gradient variance of the circuit with and without the post-processing MLP (Figure 4){meta['title']}",
        "",
        f"SQDR-CNN {result['blocks']}b-{result['qubits']}q (re-upload circuit, CZ ring) trained twice from the same "
        f"encoder and circuit weights on the same batches: with the Linear head (`head=\"linear\"`, "
        f"{lin['parameters']} parameters) and without it (`head=\"none\"`: logits = <Z_0..Z_9>, "
        f"{none['parameters']} parameters). After every backward, the population variance over the "
        f"{3 * result['qubits'] * result['blocks']} circuit weights of d(cross-entropy)/d(weight) is recorded.",
        "",
        f"Data: {result['data']}; {result['n_train']} training / {result['n_val']} validation images.",
        "",
        "| model | mean Var over all steps | median | final val acc | wall s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for m in (lin, none):
        lines.append(f"| {HEAD_LABELS[m['head']]} | {m['mean_variance']:.3e} | {m['median_variance']:.3e} | "
                     f"{100 * m['final_val_acc']:.2f}% | {m['seconds']:.0f} |")
    lines += [
        "",
        "| epoch | " + " | ".join(f"Var {h} | val acc {h}" for h in ("linear", "none")) + " |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for a, b in zip(lin["epochs"], none["epochs"]):
        lines.append(f"| {a['epoch']} | {a['mean_variance']:.3e} | {100 * a['val_acc']:.2f}% | "
                     f"{b['mean_variance']:.3e} | {100 * b['val_acc']:.2f}% |")
    lines += [
        "",
        "## Beside the paper",
        "",
        "| paper (Section 3.3, Figure 4) | here |",
        "| --- | --- |",
        f"| with the MLP the circuit's gradient variance is consistently larger | mean over all steps "
        f"{ratio:.2f} times larger with the MLP ({agree[ratio > 1]}); larger in {larger} of "
        f"{len(lin['epochs'])} epochs |",
        f"| with the MLP the model is more accurate | {100 * lin['final_val_acc']:.2f}% with vs "
        f"{100 * none['final_val_acc']:.2f}% without after {result['epochs']} epochs "
        f"({agree[lin['final_val_acc'] > none['final_val_acc']]}) |",
        "",
        f"![figure](gradient_variance_mlp{meta['suffix']}.png)",
        "",
        f"- budget: {result['epochs']} epochs per model ({meta['budget']}); the paper trains 100 epochs on 60k images",
        f"- recipe: {r['optimizer']}, lr {r['lr']:g} ({r['schedule']}), weight decay {r['weight_decay']:g}, batch "
        f"{r['batch_size']}, init {r['init']}, seed {r['seed']}, engine torch",
    ] + meta["footer"]
    return "\n".join(lines) + "\n"


# ---- Figure 5: gradient variance against qubit count per initialisation scheme ----

def figure5(args: argparse.Namespace) -> dict[str, Any]:
    qubits = args.fig5_qubits
    print(f"Figure 5: qubits {qubits}, {args.fig5_blocks} blocks, {args.draws} draws per point")
    by_observable = {}
    for observable in args.observables:
        start = time.perf_counter()
        variances = variance_vs_qubits(qubits, tuple(INIT_SCHEMES), args.fig5_blocks, args.draws, observable,
                                       seed=args.seed)
        slopes = {s: decay_slope(qubits, v) for s, v in variances.items()}
        by_observable[observable] = {"variances": variances, "slopes": slopes,
                                     "seconds": time.perf_counter() - start}
        print(f"  {OBSERVABLE_LABELS[observable]} ({by_observable[observable]['seconds']:.1f} s)")
        for s in INIT_SCHEMES:
            print(f"    {s:12s} Var at {qubits[-1]} qubits {variances[s][-1]:.3e}, "
                  f"slope of ln Var {slopes[s]:+.3f}/qubit")
    return {"qubits": qubits, "blocks": args.fig5_blocks, "draws": args.draws, "parameter": "theta_{1,1} (weight 0)",
            "inputs": "uniform in [0, 1]", "observables": by_observable}


def _ranking(variances: dict[str, list[float]], index: slice | int) -> list[str]:
    """Schemes from highest to lowest variance (at one qubit index, or the mean over a slice)."""
    return sorted(variances, key=lambda s: -float(np.mean(variances[s][index])))


def _plot_init(result: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    observables = result["observables"]
    fig, axes = plt.subplots(1, len(observables), figsize=(5 * len(observables), 4.3), squeeze=False)
    for ax, (observable, r) in zip(axes[0], observables.items()):
        for scheme, values in r["variances"].items():
            ax.plot(result["qubits"], values, "o-", markersize=4,
                    label=f"{SCHEME_LABELS[scheme]} (slope {r['slopes'][scheme]:+.2f})")
        ax.set_yscale("log")
        ax.set(xlabel="qubits", ylabel="Var[dE/dtheta_1,1]", title=OBSERVABLE_LABELS[observable])
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(f"{result['blocks']}-block re-upload circuit, {result['draws']} random (weights, inputs) per point")
    _save(fig, path, plt)


def _markdown_init(result: dict[str, Any], meta: dict[str, Any]) -> str:
    qubits = result["qubits"]
    high = slice(len(qubits) // 2, None)
    lines = [
        f"# Gradient variance against qubit count per initialisation scheme (Figure 5){meta['title']}",
        "",
        f"Var over {result['draws']} random draws of dE/dtheta_1,1 (theta_1,1 = the first angle of qubit 0 in block 1) "
        f"of the {result['blocks']}-block re-upload circuit (CZ ring), each draw a weight vector from the scheme "
        "and an input vector uniform in [0, 1] (the encoder's spike-rate range). Exact gradients (torch engine, "
        "autograd). Three choices of E, because the conclusion depends on it:",
        "",
        "- `z0`: E = <Z_0>, one of the model's outputs. Its backward light cone spans at most 3 qubits after 2 "
        "blocks, so its gradient cannot concentrate with n (no barren plateau for a local readout of a shallow "
        "circuit).",
        "- `mean_z`: E = (1/n) sum_j <Z_j>. theta_1,1 reaches only 3 of the n terms, so Var falls like 1/n^2.",
        "- `global_z`: E = <Z_0 Z_1 ... Z_n-1>, a global observable: Var falls exponentially (a barren plateau).",
        "",
        "Slope: least squares of ln Var against n over all qubit counts (Var ~ exp(slope n)).",
        "",
    ]
    for observable, r in result["observables"].items():
        v = r["variances"]
        lines += [f"## {OBSERVABLE_LABELS[observable]} (`{observable}`)", "",
                  "| scheme | " + " | ".join(f"n={n}" for n in qubits) + " | slope |",
                  "| --- |" + " ---: |" * (len(qubits) + 1)]
        for s in v:
            lines.append(f"| {SCHEME_LABELS[s]} | " + " | ".join(f"{x:.2e}" for x in v[s])
                         + f" | {r['slopes'][s]:+.3f} |")
        lines += ["", f"Highest to lowest at {qubits[-1]} qubits: "
                  + ", ".join(SCHEME_LABELS[s] for s in _ranking(v, -1)) + "; mean over n >= "
                  f"{qubits[high][0]}: " + ", ".join(SCHEME_LABELS[s] for s in _ranking(v, high)) + ".", ""]
    lines += ["## Beside the paper", "", "| paper (Section 5.3, Figure 5) | here |", "| --- | --- |"]
    for observable, r in result["observables"].items():
        v, slopes = r["variances"], r["slopes"]
        top, bottom = _ranking(v, high)[0], _ranking(v, high)[-1]
        steepest = min(slopes, key=slopes.get)
        lines.append(f"| U(0, 2pi) has the highest mean variance, U[0, 1] the lowest at high qubit counts | "
                     f"`{observable}`: highest {SCHEME_LABELS[top]}, lowest {SCHEME_LABELS[bottom]} "
                     f"(mean over n >= {qubits[high][0]}) |")
        lines.append(f"| all schemes decay at almost the same rate, U[0, 1] slightly faster | `{observable}`: slopes "
                     + ", ".join(f"{SCHEME_LABELS[s]} {slopes[s]:+.2f}" for s in slopes)
                     + f"; steepest {SCHEME_LABELS[steepest]} |")
    lines += ["", f"![figure](gradient_variance_init{meta['suffix']}.png)", "",
              f"- budget: {meta['budget']}"] + meta["footer"]
    return "\n".join(lines) + "\n"


# ---- output ----

def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, plt) -> None:
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    finally:
        plt.close(fig)


def _footer(result: dict[str, Any]) -> list[str]:
    """Machine (and how busy it was), command and finishing time, as markdown list items."""
    m, load = result["machine"], result["load_average"][0]
    busy = (f"; load average {load:.1f} at the end: other jobs shared the cores, so the wall time overstates "
            "the compute" if load > m["cores"] else "")
    return [f"- machine: {m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch thread(s), GPU {m['gpu']}{busy}",
            f"- command: `{result['command']}`", f"- finished: {result['finished']}"]


def _write(out: Path, stem: str, result: dict[str, Any], markdown: str, plot) -> None:
    atomic_write_text(out / f"{stem}.json", json.dumps(result, indent=1) + "\n")
    atomic_write_text(out / f"{stem}.md", markdown)
    plot(result, out / f"{stem}.png")
    print(f"wrote {out / stem}.json, .md and .png")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "python benchmarks/gradient_variance.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    suffix = "_quick" if args.quick else ""
    m = machine(args.threads)
    title = " (quick smoke test, not figures to report)" if args.quick else ""
    for section, compute, stem, markdown, plot in (
            ("mlp", figure4, "gradient_variance_mlp", _markdown_mlp, _plot_mlp),
            ("init", figure5, "gradient_variance_init", _markdown_init, _plot_init)):
        if section not in args.sections:
            continue
        start, cpu_start = time.perf_counter(), time.process_time()
        result = compute(args)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        budget = f"{wall / 60:.1f} min of wall time, {cpu / 60:.1f} min of CPU time, {args.threads} torch thread(s)"
        result.update(section=section, quick=args.quick, wall_s=wall, cpu_s=cpu, machine=m, command=command,
                      load_average=os.getloadavg(), finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        meta = {"title": title, "suffix": suffix, "budget": budget, "footer": _footer(result)}
        _write(args.out, stem + suffix, result, markdown(result, meta), plot)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, TypeError, FileNotFoundError) as err:
        sys.exit(f"gradient_variance: error: {err}")
