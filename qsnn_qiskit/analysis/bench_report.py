"""Rendering `qsnn_qiskit.analysis.bench` results: a markdown report and a plot against qubit count."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .._plotting import pyplot

#: section -> (title, our label, {anchor key: anchor label}), in table order.
_COMPARISONS = {
    "noiseless": ("noiseless PQC", 'engine="torch"', {
        "pennylane_batched": "PennyLane default.qubit, batched",
        "pennylane_loop": "PennyLane default.qubit, one sample at a time",
        "torchquantum": "TorchQuantum"}),
    "noisy": ("noisy PQC", 'engine="torch", noise', {
        "pennylane_mixed": "PennyLane default.mixed, batched"}),
    "aer": ("parameter shift on Aer", 'engine="aer", BatchedParamShiftGradient', {
        "qiskit_ml_default": "qiskit-ml EstimatorQNN, default primitives",
        "qiskit_ml_aer": "qiskit-ml EstimatorQNN, Aer EstimatorV2"}),
}


def _num(value: float | None) -> str:
    """Three significant figures below 100, whole numbers above."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _anchor_cell(anchor: dict[str, Any]) -> str:
    if "samples_per_s" in anchor:
        return _num(anchor["samples_per_s"])
    return _cell(anchor.get("skipped") or f"failed: {anchor.get('error', '')[-160:]}")


def _comparison_rows(results: dict[str, Any]) -> list[str]:
    rows = ["| benchmark | ours | ours samples/s | anchor | anchor samples/s (batch) | ratio | target |",
            "| --- | --- | ---: | --- | ---: | ---: | --- |"]
    for key, (title, ours_label, anchors) in _COMPARISONS.items():
        if key not in results:
            continue
        r = results[key]
        for anchor_key, anchor_label in anchors.items():
            anchor, ratio = r["anchors"][anchor_key], r["ratios"][anchor_key]
            target = ""
            if anchor_key == r["target"]["vs"]:
                need = r["target"]["ratio"]
                verdict = "not measured" if ratio is None else ("met" if ratio >= need else "NOT met")
                target = f">= {need:g}x: {verdict}"
            batch = f" ({anchor['batch']})" if "samples_per_s" in anchor else ""
            rows.append(f"| {title}, {r['qubits']} qubits, {r['blocks']} blocks | {ours_label}, batch "
                        f"{r['ours']['batch']} | {_num(r['ours']['samples_per_s'])} | {anchor_label} | "
                        f"{_anchor_cell(anchor)}{batch} | {'-' if ratio is None else f'{ratio:,.1f}x'} | "
                        f"{target} |")
    return rows


def _sweep_rows(sweep: dict[str, Any]) -> list[str]:
    rows = ["| simulation | qubits | batch | samples/s | peak memory per sample (KiB) |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for kind in ("noiseless", "noisy"):
        for row in sweep[kind]:
            mem = row.get("peak_bytes_per_sample")
            rows.append(f"| {kind} | {row['qubits']} | {row['batch']} | {_num(row['samples_per_s'])} | "
                        f"{_num(None if mem is None else mem / 1024)} |")
    return rows


def _deep_rows(deep: dict[str, Any]) -> list[str]:
    rows = ["| circuit | batch | samples/s | peak memory per sample (KiB) | PennyLane default.mixed, batched "
            "samples/s (batch) | ratio |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in deep["rows"]:
        ours, anchor, ratio = r["ours"], r["anchors"]["pennylane_mixed"], r["ratios"]["pennylane_mixed"]
        mem = ours.get("peak_bytes_per_sample")
        batch = f" ({anchor['batch']})" if "samples_per_s" in anchor else ""
        rows.append(f"| {r['ansatz']} {r['blocks']}b-{r['qubits']}q | {ours['batch']} | "
                    f"{_num(ours['samples_per_s'])} | {_num(None if mem is None else mem / 1024)} | "
                    f"{_anchor_cell(anchor)}{batch} | {'-' if ratio is None else f'{ratio:,.1f}x'} |")
    return rows


def _training_lines(t: dict[str, Any]) -> list[str]:
    """The whole-model training table, the reference stack's figures, ratios and target verdicts."""
    from .training_bench import target_verdicts

    lines = ["## SQDR-CNN training step", "",
             f"{t['model']}, T = {t['T']}, {t['step']}, engine=\"torch\"; images/s over {t['steps']} steps on "
             "random 28x28 images (median of the timed runs after a warm-up); memory: growth of the "
             "process's peak RSS over one timed run. Noise `paper`: `NoiseSpec.paper()`.", "",
             "| variant | noise | batch | device | threads | images/s | PQC alone, samples/s | "
             "peak RSS growth (MiB) |", "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in t["rows"]:
        lines.append(f"| {r['blocks']}b-{r['qubits']}q | {r['noise']} | {r['batch']} | {r['device']} | "
                     f"{r['threads']} | {_num(r['images_per_s'])} | {_num(r['pqc_samples_per_s'])} | "
                     f"{_num(r.get('peak_growth_mib'))} |")
    lines += ["", "Reference stack (../shared/anchors/reference_sqdrcnn_step.py: SpikingJelly encoder, PennyLane "
              "circuit called one sample at a time; noisy: default.mixed with the reference's channels):", "",
              "| variant | noisy | batch | images/s | command |", "| --- | --- | ---: | ---: | --- |"]
    for a in t["anchors"]:
        lines.append(f"| {a['blocks']}b-{a['qubits']}q | {'yes' if a['noisy'] else 'no'} | {a.get('batch', '-')} | "
                     f"{_anchor_cell(a)} | `{a.get('command', '-')}` |")
    if t["ratios"]:
        lines += ["", "| variant | noise | batch | threads | ours / reference |", "| --- | --- | ---: | ---: | ---: |"]
        lines += [f"| {r['blocks']}b-{r['qubits']}q | {r['noise']} | {r['batch']} | {r['threads']} | "
                  f"{r['ratio']:,.1f}x |" for r in t["ratios"]]
    verdicts = target_verdicts(t)
    return lines + (["", "Targets:", "", *[f"- {v}" for v in verdicts]] if verdicts else []) + [""]


def write_markdown(results: dict[str, Any]) -> str:
    """The report: machine, command, the ratio table, the qubit sweep and the SQDR-CNN step."""
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    lines = ["# Speed benchmark", "",
             f"Command: `{results['command']}` (plan `{results['plan']}`, {results['wall_s']:.0f} s, "
             f"{results['date_utc']}).", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, torch threads {m['torch_threads']}, "
             f"GPU: {m['gpu'] or 'none'}; Python {m['python']}; {versions}.", "",
             "Forward + backward of the data re-upload PQC (RZ-RY-RZ encoding and trainable rotations on "
             "every qubit, CZ ring, <Z> on every qubit), samples per second. Ours: median of "
             f"{results['sizes']['repeats']} timed runs after a warm-up; anchors: the scripts of "
             "../shared/anchors run as subprocesses in the same run, with the same thread count; "
             "the PennyLane and qiskit-ml scripts time a single forward + backward (their rate is "
             "taken from the times they print), TorchQuantum the median of 5 after a warm-up.", ""]
    if results["plan"] == "quick":
        lines += ["**Quick smoke run: tiny sizes, one timed run each. These are not the reported "
                  "figures; run without --quick for those.**", ""]
    if any(k in results for k in _COMPARISONS):
        lines += ["## Ratios", "", *_comparison_rows(results), ""]
        anchor_commands = [a["command"] for k in _COMPARISONS if k in results
                           for a in results[k]["anchors"].values() if "command" in a]
        lines += ["Anchor commands: " + "; ".join(f"`{c}`" for c in anchor_commands), ""]
    if "noisy" in results:
        lines += [f"Noise: {results['noisy']['noise']}. Ours applies it after every rotation gate (6 per "
                  "qubit and block); the PennyLane anchor once per qubit and block, after its two Rot "
                  "gates: ours simulates 6 times as many noise channels.", ""]
    if "sweep" in results:
        lines += ["## Throughput and memory against qubit count (engine=\"torch\")", "",
                  f"{results['sweep']['blocks']} blocks. Memory: {results['sweep']['memory']}.", "",
                  *_sweep_rows(results["sweep"]), ""]
    if "noisy_deep" in results:
        deep = results["noisy_deep"]
        lines += ["## Noisy deep and entangling circuits (engine=\"torch\", NoiseSpec.reference())", "",
                  f"Noise: {deep['applied']}; exact (density matrices on light cones). The PennyLane "
                  "anchor applies bit flip 0.02, depolarizing 0.03 and a fixed amplitude damping 0.02 once "
                  "per qubit and block, and none after the CZs. "
                  f"Memory: {deep['memory']}.", "", *_deep_rows(deep), ""]
    if "training" in results:
        lines += _training_lines(results["training"])
    return "\n".join(lines)


def write_plot(results: dict[str, Any], path: Path) -> None:
    """Samples/s (log) and peak memory per sample (log) against qubits; anchors as markers."""
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()

    fig, (speed, memory) = plt.subplots(1, 2, figsize=(11, 6.2))
    sweep = results.get("sweep", {})
    for kind, style in (("noiseless", "o-"), ("noisy", "s-")):
        rows = sweep.get(kind, [])
        if rows:
            qubits = [r["qubits"] for r in rows]
            speed.plot(qubits, [r["samples_per_s"] for r in rows], style, label=f'engine="torch", {kind}')
            mems = [(r["qubits"], r["peak_bytes_per_sample"]) for r in rows if r.get("peak_bytes_per_sample")]
            if mems:
                memory.plot(*zip(*[(q, b / 1024) for q, b in mems]), style, label=f'engine="torch", {kind}')
    markers = iter("v^<>dPX*ph")
    for key, (_, ours_label, anchors) in _COMPARISONS.items():
        if key not in results:
            continue
        r = results[key]
        speed.plot([r["qubits"]], [r["ours"]["samples_per_s"]], next(markers),
                   label=f"{ours_label}, batch {r['ours']['batch']} ({key})")
        for anchor_key, label in anchors.items():
            if "samples_per_s" in r["anchors"][anchor_key]:
                speed.plot([r["qubits"]], [r["anchors"][anchor_key]["samples_per_s"]], next(markers),
                           label=f"{label} ({key})")
    speed.set(yscale="log", xlabel="qubits", ylabel="forward + backward samples / s",
              title=f"throughput, {results['sizes']['blocks']} blocks")
    memory.set(yscale="log", xlabel="qubits", ylabel="peak memory per sample (KiB)",
               title="peak RSS growth per sample")
    for ax in (speed, memory):
        ax.grid(True, which="both", alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    fig.suptitle(f"{results['machine']['cpu']}, {results['machine']['torch_threads']} threads", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
