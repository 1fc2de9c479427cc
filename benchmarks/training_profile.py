"""Where a SQDR-CNN training step's time goes: each encoder stage's forward and backward, the
phase coding, the quantum layer, and the whole step against the batch size (its time at batch 1 is
the fixed cost of a step: Python, dispatch, autograd and oneDNN calls, before any arithmetic).
Writes benchmarks/results/training/profile.{json,md}.

    python benchmarks/training_profile.py                 # 2b-9q, batch 16, 1 thread: about a minute
    python benchmarks/training_profile.py --threads 2 --batch 64

Every figure is the fastest of --repeats timed runs of 10 calls after a warm-up: on a shared
machine noise only adds time, and this machine's spread over minutes (+-30%) swamps a median.
Time on a quiet machine: nothing else should run beside it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qsnn_qiskit._atomic import atomic_write_text  # noqa: E402
from qsnn_qiskit.analysis.provenance import machine  # noqa: E402
from qsnn_qiskit.models import SQDRCNN  # noqa: E402
from qsnn_qiskit.spiking.coding import phase_encode  # noqa: E402
from qsnn_qiskit.training.optim import OPTIMIZERS  # noqa: E402

#: batch sizes of the step-against-batch table
BATCHES = (1, 4, 16, 64)


def _ms(call: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs, as the time of one call in ms (10 calls a run, after 3 untimed)."""
    for _ in range(3):
        call()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(10):
            call()
        runs.append((time.perf_counter() - start) / 10 * 1e3)
    return min(runs)


def _stage_name(modules: tuple[torch.nn.Module, ...]) -> str:
    names = []
    for module in modules:
        inner = getattr(module, "module", module)
        names += [type(p).__name__ for p in (inner if isinstance(inner, torch.nn.Sequential) else [inner])]
    return " + ".join(names) + (" (fused)" if len(modules) > 1 else "")


def _stages(model: SQDRCNN, images: torch.Tensor, repeats: int) -> list[dict]:
    """Forward and backward ms of the phase coding, each encoder stage and the quantum layer."""
    enc = model.encoder
    rows = [{"stage": "phase coding (no gradient)", "forward_ms": _ms(lambda: phase_encode(images, enc.T, enc.K),
                                                                       repeats), "backward_ms": 0.0}]
    h = phase_encode(images, enc.T, enc.K)
    for i, (modules, step) in enumerate(enc.features.steps()):      # as the encoder's forward runs them
        x = h.detach().requires_grad_(i > 0)           # the images need no gradient; later stages do
        out = step(x)
        upstream = torch.randn_like(out)
        forward = _ms(lambda: step(x), repeats)
        both = _ms(lambda: step(x).backward(upstream), repeats)
        rows.append({"stage": f"{i}: {_stage_name(modules)}", "forward_ms": forward,
                     "backward_ms": max(both - forward, 0.0)})
        h = out.detach()
    rates = h.mean(0).requires_grad_()
    forward = _ms(lambda: model.quantum(rates), repeats)
    both = _ms(lambda: model.quantum(rates).sum().backward(), repeats)
    rows.append({"stage": "quantum layer", "forward_ms": forward, "backward_ms": max(both - forward, 0.0)})
    return rows


def _step_against_batch(model: SQDRCNN, repeats: int) -> list[dict]:
    """The whole training step (forward, cross-entropy backward, fused Adam step) per batch size,
    with the encoder's and the quantum layer's forward + backward alone."""
    optimiser = OPTIMIZERS["adam"](model.parameters(), 1e-3, 0.0)
    rows = []
    for batch in BATCHES:
        generator = torch.Generator().manual_seed(batch)
        images = torch.rand(batch, 1, 28, 28, generator=generator)
        labels = torch.randint(0, 10, (batch,), generator=generator)
        rates = torch.rand(batch, model.quantum.ansatz.n_inputs, generator=generator).requires_grad_()

        def step() -> None:
            optimiser.zero_grad(set_to_none=True)
            F.cross_entropy(model(images), labels).backward()
            optimiser.step()

        step_ms = _ms(step, repeats)
        rows.append({"batch": batch, "step_ms": step_ms, "images_per_s": batch / step_ms * 1e3,
                     "encoder_ms": _ms(lambda: model.encoder(images).sum().backward(), repeats),
                     "quantum_ms": _ms(lambda: model.quantum(rates).sum().backward(), repeats)})
    return rows


def _markdown(r: dict) -> str:
    m = r["machine"]
    lines = ["# Where a training step's time goes", "",
             f"Command: `{r['command']}` ({r['date']}). Machine: {m['cpu']}, {m['cores']} cores, "
             f"torch threads {r['threads']}; torch {m['versions'].get('torch', '?')}.", "",
             f"SQDR-CNN {r['blocks']}b-{r['qubits']}q (re-upload, T = 10, engine=\"torch\"), random 28x28 images. "
             "Every figure: the fastest of the timed runs after a warm-up.", "",
             f"## Stages at batch {r['batch']}", "",
             "Each stage alone on its real input (the images' spikes for stage 0), its backward from a random "
             "upstream gradient; backward = forward + backward minus forward.", "",
             "| stage | forward (ms) | backward (ms) | share of the sum |", "| --- | ---: | ---: | ---: |"]
    total = sum(s["forward_ms"] + s["backward_ms"] for s in r["stages"])
    for s in r["stages"]:
        share = (s["forward_ms"] + s["backward_ms"]) / total
        lines.append(f"| {s['stage']} | {s['forward_ms']:.3f} | {s['backward_ms']:.3f} | {share:.0%} |")
    lines += [f"| sum | | | {total:.2f} ms |", "", "## The step against the batch size", "",
              "Whole step = forward + cross-entropy backward + fused Adam step. Its time at batch 1 is the fixed "
              "cost of a step, paid at every batch size.", "",
              "| batch | step (ms) | images/s | encoder forward + backward (ms) "
              "| quantum layer forward + backward (ms) |",
              "| ---: | ---: | ---: | ---: | ---: |"]
    for s in r["batches"]:
        lines.append(f"| {s['batch']} | {s['step_ms']:.2f} | {s['images_per_s']:,.0f} | {s['encoder_ms']:.2f} | "
                     f"{s['quantum_ms']:.2f} |")
    one = r["batches"][0]
    at = next((s for s in r["batches"] if s["batch"] == r["batch"]), None)
    if at is not None and at["batch"] > 1:
        lines += ["", f"At batch {at['batch']} the fixed cost (the step at batch 1, {one['step_ms']:.2f} ms) is "
                      f"{one['step_ms'] / at['step_ms']:.0%} of the step ({at['step_ms']:.2f} ms)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--qubits", type=int, default=9)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--batch", type=int, default=16, help="batch of the stage table (default 16)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--repeats", type=int, default=7, help="timed runs per figure, the fastest kept (default 7)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "training",
                   help="folder for profile.json and profile.md")
    args = p.parse_args(argv)
    for name in ("qubits", "blocks", "batch", "threads", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1; got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = SQDRCNN(n_qubits=args.qubits, blocks=args.blocks, engine="torch", seed=0)
    images = torch.rand(args.batch, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    flags = argv if argv is not None else sys.argv[1:]
    results = {"command": " ".join(["python benchmarks/training_profile.py", *flags]),
               "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(args.threads),
               "threads": args.threads, "qubits": args.qubits, "blocks": args.blocks, "batch": args.batch,
               "stages": _stages(model, images, args.repeats), "batches": _step_against_batch(model, args.repeats)}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "profile.json", json.dumps(results, indent=2) + "\n")
    text = _markdown(results)
    atomic_write_text(args.out / "profile.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
