"""Where Table 4's remaining gap comes from: measurements behind each explanation.

Reads the Table 4 runs of ``examples/reproduce_paper.py --tables noisy`` (RUN_ROOT holds their run
directories) and measures, for each variant:

- how much signal reaches the head: the circuit outputs <Z_j> on the first 500 validation images
  of the noiseless-trained model, without noise and under each preset, and of the models trained
  under each preset, under it; their spread over images (standard deviation, mean over j) is what
  the linear head can separate classes by;
- how many noise locations each preset puts in the circuit, per qubit;
- the budget: each run's validation accuracy after each epoch (from its metrics.csv), and, when
  ``--longer`` has trained it, 4b-9q under ``reference`` with 2b-9q's 32 epochs (the same recipe).

Writes benchmarks/results/paper_noisy/gap.{md,json}. ``--longer`` trains (or resumes) that run in
RUN_ROOT/../budget/ first: about 30 minutes on one thread.

    PYTHONPATH=. python benchmarks/noisy_gap.py runs/paper_noisy/paper_tables-3a16dfa7 [--longer]
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

from qsnn_qiskit import QuantumLayer
from qsnn_qiskit._atomic import atomic_write_text
from qsnn_qiskit.analysis.provenance import machine
from qsnn_qiskit.circuits.noise import noisy_circuit
from qsnn_qiskit.data import BatchLoader
from qsnn_qiskit.training import TrainSettings, load_run, resume_run, run_dataset, rundir, start_run

VARIANTS = ("2b-9q", "2b-18q", "4b-9q", "4b-18q")
PRESETS = ("none", "paper", "reference")
IMAGES = 500
LONGER_EPOCHS = 32
#: what one `paper` noise location leaves of <Z>: bit flip 1 - 2p, depolarizing 1 - 4p/3, damping 1 - gamma
CONTRACTION = (1 - 2 * 0.02) * (1 - 4 * 0.03 / 3) * (1 - 0.02)
OUT = Path(__file__).resolve().parent / "results" / "paper_noisy"


def _curve(run_dir: Path) -> list[float]:
    """Validation accuracy (%) after each epoch of a run."""
    return [100 * row["val_acc"] for row in rundir.read_metrics(run_dir)]


def _locations_per_qubit(run_dir: Path, preset: str) -> float:
    """Noise locations per qubit the preset puts in the run's circuit: a gate carrying an error
    (counted on each of its qubits) or a kraus instruction, each applying bit flip -> depolarizing
    (-> amplitude damping)."""
    model, _ = load_run(run_dir)
    ansatz = model.quantum.ansatz
    circuit, noise_model = noisy_circuit(ansatz.circuit, preset, ansatz.input_params)
    noisy = set(noise_model.noise_instructions) if noise_model is not None else set()
    located = sum(len(inst.qubits) for inst in circuit.data
                  if inst.operation.name in noisy or inst.operation.name == "kraus")
    return located / ansatz.n_qubits


def _spread(run_dir: Path, images: torch.Tensor, presets: tuple[str, ...]) -> dict[str, float]:
    """Spread over ``images`` (standard deviation, mean over outputs) of the circuit outputs of the
    run's model, without noise ("none") or under each preset."""
    model, _ = load_run(run_dir)
    with torch.no_grad():
        rates = model.encoder(images)
        out = {}
        for preset in presets:
            layer = QuantumLayer(model.quantum.ansatz, engine="torch",
                                 **({} if preset == "none" else {"noise": preset}))
            layer.load_state_dict(model.quantum.state_dict())
            out[preset] = float(layer(rates).std(0).mean())
    return out


def _longer(run_root: Path) -> Path:
    """Train (or resume) 4b-9q under reference with the 2b-9q cell's 32 epochs; its run directory."""
    source = run_root / "noisy-4b-9q-reference"
    run_dir = run_root.parent / "budget" / f"4b-9q-reference-{LONGER_EPOCHS}ep"
    if (run_dir / rundir.CHECKPOINT).is_file() and len(_curve(run_dir)) >= LONGER_EPOCHS:
        return run_dir
    if (run_dir / rundir.CONFIG).is_file():
        trainer = resume_run(run_dir)
    else:
        recorded = rundir.read_config(source)["settings"]
        settings = TrainSettings(**{**recorded, "epochs": LONGER_EPOCHS, "run_dir": str(run_dir)})
        trainer, run_dir = start_run(settings, run_dir, command=sys.argv)
    trainer.fit(run_dir, progress=sys.stderr.isatty())
    return run_dir


def measure(run_root: Path, longer: bool) -> dict:
    data = run_dataset(rundir.read_config(run_root / "noisy-2b-9q-none"))
    images, _ = next(iter(BatchLoader(data.val, IMAGES)))       # the first IMAGES, as training reads them
    rows = {}
    for variant in VARIANTS:
        noiseless = run_root / f"noisy-{variant}-none"
        print(f"{variant}: signal under each preset", flush=True)
        rows[variant] = {
            "spread_noiseless_trained": _spread(noiseless, images, PRESETS),
            "spread_own_preset": {p: _spread(run_root / f"noisy-{variant}-{p}", images, (p,))[p] for p in PRESETS[1:]},
            "locations_per_qubit": {p: _locations_per_qubit(noiseless, p) for p in PRESETS[1:]},
            "curves": {p: _curve(run_root / f"noisy-{variant}-{p}") for p in PRESETS},
        }
    result = {"run_root": str(run_root), "images": IMAGES, "rows": rows,
              "machine": machine(torch.get_num_threads()), "command": " ".join(sys.argv),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if longer:
        result["longer"] = {"epochs": LONGER_EPOCHS, "curve": _curve(_longer(run_root))}
    return result


def markdown(r: dict) -> str:
    rows = r["rows"]
    lines = ["# Table 4: where the remaining gap comes from", "",
             f"- runs: `{r['run_root']}` (the Table 4 cells of `examples/reproduce_paper.py --tables noisy`, "
             "seed 20200626, 8k/2k MNIST split)",
             f"- command: `{r['command']}`; {r['date']}; {r['machine']['cpu']}", "",
             "## How much signal reaches the head", "",
             f"Circuit outputs <Z_j> on the first {r['images']} validation images: their spread over images "
             "(standard deviation, mean over j), which is what the linear head separates the classes by. "
             "Columns 2-4: the noiseless-trained model without noise and under each preset; 5-6: the model "
             "trained under each preset, evaluated under it. Then the noise locations each preset puts in the "
             "circuit per qubit (a gate carrying an error, or a channel instruction; each applies bit flip "
             "-> depolarizing (-> damping)), and what `paper`'s locations alone would leave of a <Z> signal "
             f"if each shrank it by {CONTRACTION:.3f} (bit flip 0.02: 0.96, depolarizing 0.03: 0.96, damping "
             "0.02: 0.98).", "",
             "| variant | no noise | noiseless-trained, under paper | ..., under reference | paper-trained, "
             "under paper | reference-trained, under reference | paper: locations per qubit | "
             "reference: locations per qubit | paper: contraction^locations |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for v, row in rows.items():
        s, own, c = row["spread_noiseless_trained"], row["spread_own_preset"], row["locations_per_qubit"]
        lines.append(f"| {v} | {s['none']:.4f} | {s['paper']:.4f} ({s['paper'] / s['none']:.2f}x) | "
                     f"{s['reference']:.4f} ({s['reference'] / s['none']:.2f}x) | {own['paper']:.4f} | "
                     f"{own['reference']:.4f} | {c['paper']:.1f} | {c['reference']:.1f} | "
                     f"{CONTRACTION ** c['paper']:.3f} |")
    lines += ["", "## The budget", "",
              "Validation accuracy (%) after epochs 1, 2, 4, 8 and the last of each Table 4 run (each run's "
              "one-cycle schedule spans its own epochs, so a curve's middle is not a shorter run's end).", "",
              "| variant | trained under | epochs | 1 | 2 | 4 | 8 | last |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for v, row in rows.items():
        for p, curve in row["curves"].items():
            cells = [f"{curve[e - 1]:.1f}" if len(curve) >= e else "" for e in (1, 2, 4, 8)]
            lines.append(f"| {v} | {p} | {len(curve)} | {' | '.join(cells)} | {curve[-1]:.1f} |")
    if "longer" in r:
        curve = r["longer"]["curve"]
        lines += ["", f"4b-9q under `reference` with {r['longer']['epochs']} epochs (2b-9q's budget, the same recipe "
                  f"and seed): {curve[-1]:.2f}% (best epoch {max(curve):.2f}%), against "
                  f"{rows['4b-9q']['curves']['reference'][-1]:.2f}% at {len(rows['4b-9q']['curves']['reference'])}."]
    return "\n".join(lines + [""] + _reading(r)) + "\n"


def _reading(r: dict) -> list[str]:
    """What the measurements say, with their numbers."""
    rows = r["rows"]
    two, four = rows["2b-9q"], rows["4b-9q"]
    last = {v: {p: row["curves"][p][-1] for p in PRESETS} for v, row in rows.items()}
    lines = ["## What they say", "",
             f"- `paper` is far stronger than the noise behind the paper's Table 4. It puts "
             f"{two['locations_per_qubit']['paper']:.0f} noise locations per qubit in a 2-block circuit and "
             f"{four['locations_per_qubit']['paper']:.0f} in a 4-block one (`reference`: "
             f"{two['locations_per_qubit']['reference']:.1f} and {four['locations_per_qubit']['reference']:.1f}); "
             f"at {CONTRACTION:.3f} each they leave {CONTRACTION ** two['locations_per_qubit']['paper']:.2f} and "
             f"{CONTRACTION ** four['locations_per_qubit']['paper']:.3f} of a <Z> signal, and the noiseless-trained "
             f"models keep {two['spread_noiseless_trained']['paper'] / two['spread_noiseless_trained']['none']:.2f} "
             f"and {four['spread_noiseless_trained']['paper'] / four['spread_noiseless_trained']['none']:.2f} of "
             "their spread. Training under `paper` wins some of it back (spread "
             f"{two['spread_own_preset']['paper']:.3f} and {four['spread_own_preset']['paper']:.3f}), not enough "
             f"for 4 blocks: {last['4b-9q']['paper']:.1f}% and {last['4b-18q']['paper']:.1f}%. The paper's noisy "
             "figures (81.95-84.70%, 1.4-6.4 points under its noiseless ones) fit the reference "
             f"code's placement, which our `reference` reproduces: {last['2b-9q']['reference']:.1f}% (2b-9q) and "
             f"{last['2b-18q']['reference']:.1f}% (2b-18q) against the paper's 82.67 and 84.36.",
             "- `reference` looks as harsh at evaluation (the noiseless-trained spread falls to "
             f"{two['spread_noiseless_trained']['reference'] / two['spread_noiseless_trained']['none']:.2f}x: its "
             "damping rate sigmoid(input angle) is at least 0.5 for spike-rate inputs), but it depends on the "
             "input, so a model trained under it learns to read it: spread "
             f"{two['spread_own_preset']['reference']:.3f} (2b-9q) and {four['spread_own_preset']['reference']:.3f} "
             "(4b-9q) under its own noise, twice to five times what `paper`-trained models keep.",
             f"- The 4-block rows under `reference` are short of budget: 30 minutes hold "
             f"{len(four['curves']['reference'])} epochs of 4b-9q and {len(rows['4b-18q']['curves']['reference'])} "
             f"of 4b-18q, where even their noiseless twins reach only {last['4b-9q']['none']:.1f}% and "
             f"{last['4b-18q']['none']:.1f}% (2b-9q's twin at 32 epochs: {last['2b-9q']['none']:.1f}%)."]
    if "longer" in r:
        curve = r["longer"]["curve"]
        lines.append(f"  With 2b-9q's {r['longer']['epochs']} epochs, 4b-9q under `reference` reaches "
                     f"{curve[-1]:.1f}% (the paper's Table 4: 81.95%): the budget was the gap.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_root", type=Path, help="the run directory root of the Table 4 cells")
    parser.add_argument("--longer", action="store_true",
                        help=f"also train 4b-9q under reference for {LONGER_EPOCHS} epochs (resumable)")
    args = parser.parse_args()
    if not (args.run_root / "noisy-2b-9q-none" / rundir.CONFIG).is_file():
        parser.error(f"{args.run_root} holds no Table 4 runs (no noisy-2b-9q-none/{rundir.CONFIG})")
    result = measure(args.run_root, args.longer)
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT / "gap.json", json.dumps(result, indent=1) + "\n")
    atomic_write_text(OUT / "gap.md", markdown(result))
    print(f"wrote {OUT / 'gap.md'}")


if __name__ == "__main__":
    main()
