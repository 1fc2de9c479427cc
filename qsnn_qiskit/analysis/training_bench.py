"""Whole-model training speed: SQDR-CNN training steps (forward, cross-entropy backward, Adam step)
beside the reference implementation's stack (../shared/anchors/reference_sqdrcnn_step.py) in the
same run, the `training` section of `qsnn bench`.

Every row is one (variant, noise, batch, threads, device) setting: images per second over
``train_steps`` steps on random 28x28 images, the median of ``repeats`` timed runs after a warm-up,
the growth of the process's peak resident memory over one timed run (CPU), and the samples per
second of the model's quantum layer alone (forward + backward on spike rates), to show where the
step's time goes.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from ..circuits.noise import NoiseSpec
from ..models import SQDRCNN
from ..training.optim import OPTIMIZERS
from .anchors import run_anchor
from .bench_plan import Context
from .measure import forward_backward, median_seconds, peak_bytes

#: the anchor script and the package it needs
REFERENCE_SCRIPT, REFERENCE_NEEDS = "reference_sqdrcnn_step.py", "spikingjelly"
#: required ratios over the reference stack (2b-9q at batch 16) and images/s floors
TARGETS = {"noiseless_ratio": 100.0, "noisy_ratio": 1000.0,
           "images_per_s": {(9, 2, 16): 1000.0, (9, 2, 64): 1500.0, (9, 4, 64): 600.0}}   # (qubits, blocks, batch)


def _steps_per_s(model: torch.nn.Module, batch: int, steps: int, repeats: int, device: str,
                 memory: bool) -> dict[str, Any]:
    """Images/s of ``steps`` training steps of ``model`` on one random batch; optionally memory."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 1, 28, 28, generator=generator).to(device)
    labels = torch.randint(0, 10, (batch,), generator=generator).to(device)
    optimiser = OPTIMIZERS["adam"](model.parameters(), 1e-3, 0.0)      # as `qsnn train` builds it

    def run() -> None:
        for _ in range(steps):
            optimiser.zero_grad(set_to_none=True)
            F.cross_entropy(model(images), labels).backward()
            optimiser.step()
        if device == "cuda":
            torch.cuda.synchronize()

    out: dict[str, Any] = {"images_per_s": batch * steps / median_seconds(run, repeats)}
    if memory:
        peak = peak_bytes(run)
        out["peak_growth_mib"] = None if peak is None else peak / 2 ** 20
    return out


def _pqc_per_s(layer: torch.nn.Module, batch: int, repeats: int, device: str) -> dict[str, Any]:
    """Forward + backward samples/s of the model's quantum layer alone, on spike-rate inputs."""
    rates = torch.randint(0, 11, (batch, layer.ansatz.n_inputs), generator=torch.Generator().manual_seed(0)) / 10
    return {"pqc_samples_per_s": batch / median_seconds(forward_backward(layer, rates.to(device)), repeats)}


def _noise(name: str | None) -> dict[str, Any]:
    return {} if name is None else {"noise": NoiseSpec.parse(name)}


def training_section(ctx: Context) -> dict[str, Any]:
    """The `training` section: our steps for every setting of the plan, then the reference's."""
    p = ctx.plan
    devices = [d for d in p.train_devices if d == "cpu" or (d == "cuda" and torch.cuda.is_available())]
    rows = []
    for device in devices:
        for n, b in p.train_variants:
            for noise in p.train_noises:
                for threads in (p.train_threads if device == "cpu" else (ctx.threads,)):
                    torch.set_num_threads(threads)
                    for batch in p.train_batches:
                        torch.manual_seed(0)
                        model = SQDRCNN(n_qubits=n, blocks=b, T=p.cnn_T, engine="torch", seed=0,
                                        **_noise(noise)).to(device)
                        setting = {"qubits": n, "blocks": b, "noise": noise or "none", "batch": batch,
                                   "threads": threads, "device": device}
                        rows.append({**setting, **_steps_per_s(model, batch, p.train_steps, p.repeats, device,
                                                               memory=device == "cpu"),
                                     **_pqc_per_s(model.quantum, batch, p.repeats, device)})
    torch.set_num_threads(ctx.threads)
    anchors = []
    for n, b in p.train_variants:
        for noisy, batch in ((0, p.anchor_train_batch), (1, p.anchor_train_noisy_batch)):
            result = run_anchor(ctx.anchors, REFERENCE_SCRIPT, [n, b, batch, noisy, p.anchor_train_steps],
                                REFERENCE_NEEDS, batch, ctx.threads, p.anchor_timeout_s)
            anchors.append({"qubits": n, "blocks": b, "noisy": bool(noisy), **result})
    return {"model": "SQDR-CNN reupload", "T": p.cnn_T, "steps": p.train_steps,
            "step": "forward + cross-entropy backward + Adam step (fused, as qsnn train)", "engine": "torch",
            "rows": rows, "anchors": anchors, "ratios": _ratios(rows, anchors)}


def _ratios(rows: list[dict[str, Any]], anchors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ours over the reference for every CPU row of a variant the reference ran (noiseless rows
    against its noiseless figure, noisy rows against its noisy one)."""
    out = []
    for row in rows:
        if row["device"] != "cpu":
            continue
        for anchor in anchors:
            same = (anchor["qubits"], anchor["blocks"]) == (row["qubits"], row["blocks"])
            if same and anchor["noisy"] == (row["noise"] != "none") and "samples_per_s" in anchor:
                out.append({**{k: row[k] for k in ("qubits", "blocks", "noise", "batch", "threads")},
                            "ratio": row["images_per_s"] / anchor["samples_per_s"]})
    return out


def target_verdicts(section: dict[str, Any]) -> list[str]:
    """One line per target of issue 16: the best measured figure and whether it meets the target."""
    cpu = [r for r in section["rows"] if r["device"] == "cpu"]
    lines = []
    for (n, b, batch), need in TARGETS["images_per_s"].items():
        found = [r["images_per_s"] for r in cpu
                 if (r["qubits"], r["blocks"], r["batch"]) == (n, b, batch) and r["noise"] == "none"]
        if found:
            best = max(found)
            lines.append(f"{b}b-{n}q noiseless, batch {batch}: best {best:,.0f} images/s, target >= {need:,.0f}: "
                         + ("met" if best >= need else "NOT met"))
    for kind, need in (("noiseless", TARGETS["noiseless_ratio"]), ("noisy", TARGETS["noisy_ratio"])):
        found = [r["ratio"] for r in section["ratios"] if (r["qubits"], r["blocks"], r["batch"]) == (9, 2, 16)
                 and (r["noise"] == "none") == (kind == "noiseless")]
        if found:
            best = max(found)
            lines.append(f"2b-9q {kind}, batch 16, over the reference stack: best {best:,.1f}x, target >= "
                         f"{need:,.0f}x: " + ("met" if best >= need else "NOT met"))
    return lines

