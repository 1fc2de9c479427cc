"""Speed benchmark: our engines beside the anchor stacks, in one run (`qsnn bench`, benchmarks/).

Every figure is forward + backward of the data re-upload PQC (``build_ansatz("reupload", ...)``,
the anchors' circuit; section ``noisy_deep`` adds deeper and entangling ones), in samples per
second: the median of ``repeats`` timed runs after one warm-up for our engines; the anchor
scripts (../shared/anchors) run as subprocesses with the same thread count and print their own
figure, which is parsed. Peak memory per sample is the growth
of this process's peak resident set size (Linux ``VmHWM``, reset through /proc/self/clear_refs)
during one forward + backward, divided by the batch; it covers torch, numpy and Python memory.

Results: ``speed.json`` (everything), ``speed.md`` (tables, machine, command, ratios) and
``speed.png`` (throughput and memory against qubit count) in the output folder.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch

from .._atomic import atomic_write
from .._checks import check_int
from ..circuits import build_ansatz
from ..circuits.noise import NoiseSpec
from ..engines import ENGINES
from ..qnn import QuantumLayer
from .anchors import ratio, run_anchor
from .bench_plan import PLANS, Context
from .measure import forward_backward, median_seconds, peak_bytes
from .provenance import machine
from .training_bench import training_section

#: The noise of the noisy benchmarks (issue 3), `NoiseSpec` fields; depolarizing p is the
#: probability of an X, Y or Z error, as in PennyLane's DepolarizingChannel.
NOISE = {"bit_flip": 0.02, "depolarizing": 0.03, "amplitude_damping": 0.02}
#: ... after every rotation gate; none after the CZs, as in the PennyLane anchor.
NOISY_GATES = ("rz", "ry", "rx")
#: Required speed-ups over the anchors.
TARGETS = {"noiseless": 10.0, "noisy": 100.0, "aer": 100.0}
#: ../shared/anchors beside the repository (qsnn_qiskit/analysis/bench.py -> the repository's parent)
DEFAULT_ANCHORS = Path(__file__).resolve().parents[3] / "shared" / "anchors"


def _layer(engine: str, n_qubits: int, blocks: int, noisy: bool) -> QuantumLayer:
    options = {"noise": NoiseSpec(**NOISE, gates=NOISY_GATES, local_after_two_qubit=False)} if noisy else {}
    return QuantumLayer(build_ansatz("reupload", n_qubits, blocks), engine=engine, seed=0, **options)


def _measure(layer: QuantumLayer, batch: int, repeats: int, memory: bool = False) -> dict[str, Any]:
    """Forward + backward throughput of ``layer`` on a random batch; optionally its peak memory."""
    x = torch.rand(batch, layer.ansatz.n_inputs, generator=torch.Generator().manual_seed(0)) * math.tau
    step = forward_backward(layer, x)
    out: dict[str, Any] = {"batch": batch, "samples_per_s": batch / median_seconds(step, repeats)}
    if memory:
        peak = peak_bytes(step)
        out["peak_bytes_per_sample"] = None if peak is None else peak / batch
    return out


def _anchor_run(ctx: Context, script: str, args: list[Any], needs: str, batch: int) -> dict[str, Any]:
    return run_anchor(ctx.anchors, script, args, needs, batch, ctx.threads, ctx.plan.anchor_timeout_s)


def _noiseless(ctx: Context) -> dict[str, Any]:
    p = ctx.plan
    ours = _measure(_layer("torch", p.qubits, p.blocks, False), p.batch, p.repeats)
    size = [p.qubits, p.blocks]
    anchors = {
        "pennylane_batched": _anchor_run(ctx, "pennylane_reference_pqc.py", size + [p.batch, 0, "batch"],
                                     "pennylane", p.batch),
        "pennylane_loop": _anchor_run(ctx, "pennylane_reference_pqc.py", size + [p.loop_batch, 0, "loop"],
                                  "pennylane", p.loop_batch),
        "torchquantum": _anchor_run(ctx, "torchquantum_reference_pqc.py", size + [p.batch], "torchquantum", p.batch),
    }
    return {"qubits": p.qubits, "blocks": p.blocks, "ours": {"engine": "torch", **ours},
            "anchors": anchors, "ratios": {k: ratio(ours, a) for k, a in anchors.items()},
            "target": {"vs": "pennylane_batched", "ratio": TARGETS["noiseless"]}}


def _noisy(ctx: Context) -> dict[str, Any]:
    p = ctx.plan
    ours = _measure(_layer("torch", p.qubits, p.blocks, True), p.noisy_batch, p.repeats)
    anchors = {"pennylane_mixed": _anchor_run(ctx, "pennylane_reference_pqc.py",
                                          [p.qubits, p.blocks, p.noisy_batch, 1, "batch"], "pennylane",
                                          p.noisy_batch)}
    return {"qubits": p.qubits, "blocks": p.blocks, "noise": {**NOISE, "after": list(NOISY_GATES)},
            "ours": {"engine": "torch", **ours}, "anchors": anchors,
            "ratios": {k: ratio(ours, a) for k, a in anchors.items()},
            "target": {"vs": "pennylane_mixed", "ratio": TARGETS["noisy"]}}


def _aer(ctx: Context) -> dict[str, Any]:
    p = ctx.plan
    ours = _measure(_layer("aer", p.qubits, p.blocks, False), p.aer_batch, p.repeats)
    size = [p.qubits, p.blocks]
    anchors = {
        "qiskit_ml_default": _anchor_run(ctx, "qiskit_ml_default_pqc.py", size + [p.ml_default_batch, "default"],
                                     "qiskit_machine_learning", p.ml_default_batch),
        "qiskit_ml_aer": _anchor_run(ctx, "qiskit_ml_default_pqc.py", size + [p.ml_aer_batch, "aer"],
                                 "qiskit_machine_learning", p.ml_aer_batch),
    }
    return {"qubits": p.qubits, "blocks": p.blocks,
            "ours": {"engine": "aer", "gradient": "BatchedParamShiftGradient", **ours},
            "anchors": anchors, "ratios": {k: ratio(ours, a) for k, a in anchors.items()},
            "target": {"vs": "qiskit_ml_default", "ratio": TARGETS["aer"]}}


def _sweep(ctx: Context) -> dict[str, Any]:
    p = ctx.plan
    rows = {
        "noiseless": [{"qubits": n, **_measure(_layer("torch", n, p.blocks, False), p.sweep_batch,
                                                p.repeats, memory=True)} for n in p.sweep_noiseless],
        "noisy": [{"qubits": n, **_measure(_layer("torch", n, p.blocks, True), p.sweep_noisy_batch,
                                            p.repeats, memory=True)} for n in p.sweep_noisy],
    }
    return {"engine": "torch", "blocks": p.blocks, **rows,
            "memory": "peak RSS growth (VmHWM after reset via /proc/self/clear_refs) / batch"}


def _noisy_deep(ctx: Context) -> dict[str, Any]:
    """Deeper and entangling circuits under the reference code's noise (`NoiseSpec.reference`)."""
    p = ctx.plan
    spec = NoiseSpec.reference()
    rows = []
    for name, n, b in p.deep:
        layer = QuantumLayer(build_ansatz(name, n, b), engine="torch", seed=0, noise=spec)
        ours = _measure(layer, p.deep_batch, p.repeats, memory=True)
        if name != "reupload":
            anchor = {"skipped": "the anchor script runs the re-upload circuit only"}
        elif n > p.mixed_max_qubits:
            anchor = {"skipped": f"default.mixed would hold a 2^{n} x 2^{n} density matrix"}
        else:
            anchor = _anchor_run(ctx, "pennylane_reference_pqc.py", [n, b, p.deep_batch, 1, "batch"],
                             "pennylane", p.deep_batch)
        rows.append({"ansatz": name, "qubits": n, "blocks": b, "ours": ours,
                     "anchors": {"pennylane_mixed": anchor}, "ratios": {"pennylane_mixed": ratio(ours, anchor)}})
    return {"engine": "torch", "noise": asdict(spec), "applied": spec.describe(), "rows": rows,
            "memory": "peak RSS growth (VmHWM after reset via /proc/self/clear_refs) / batch"}


#: name -> section; each measures one item of the benchmark and returns its JSON record.
SECTIONS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "noiseless": _noiseless, "noisy": _noisy, "aer": _aer, "sweep": _sweep, "noisy_deep": _noisy_deep,
    "training": training_section,
}
#: the engine each section needs.
_NEEDS = {"noiseless": "torch", "noisy": "torch", "aer": "aer", "sweep": "torch", "noisy_deep": "torch",
          "training": "torch"}


def check_sections(names: list[str]) -> None:
    """Raise ``ValueError`` unless every name is a known section whose engine is registered."""
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown benchmark section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    missing = sorted({_NEEDS[n] for n in names} - set(ENGINES))
    if missing:
        raise ValueError(f"section(s) need engine(s) {', '.join(missing)}, not registered; "
                         f"known engines: {', '.join(sorted(ENGINES))}")


def run_benchmark(out_dir: Path, plan_name: str = "full", sections: list[str] | None = None,
                  anchors: Path | None = DEFAULT_ANCHORS, threads: int = 2,
                  command: str = "") -> dict[str, Any]:
    """Measure ``sections`` (default: all) and write speed.json, speed.md and speed.png to ``out_dir``."""
    if plan_name not in PLANS:
        raise ValueError(f"unknown benchmark plan {plan_name!r}; known: {', '.join(PLANS)}")
    sections = list(SECTIONS) if sections is None else sections
    check_sections(sections)
    if anchors is not None and not anchors.is_dir():
        raise FileNotFoundError(f"anchor scripts folder {anchors} does not exist; "
                                "pass --anchors DIR or --no-anchors")
    check_int("threads", threads, 1)
    torch.set_num_threads(threads)
    ctx = Context(PLANS[plan_name], anchors, threads)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": command, "plan": plan_name, "sizes": asdict(ctx.plan), "machine": machine(threads),
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    for name in sections:
        results[name] = SECTIONS[name](ctx)
    results["wall_s"] = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    from .bench_report import write_markdown, write_plot  # matplotlib only when writing
    atomic_write(out_dir / "speed.json", lambda p: p.write_text(json.dumps(results, indent=2) + "\n"))
    atomic_write(out_dir / "speed.md", lambda p: p.write_text(write_markdown(results)))
    atomic_write(out_dir / "speed.png", lambda p: write_plot(results, p))
    return results


