"""The sizes of a `qsnn bench` run (`Plan`, by name in `PLANS`) and what every section reads (`Context`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Plan:
    """Sizes of one benchmark run. Batches are samples; ``ml_*`` are the qiskit-ml anchors'.

    ``deep``: the (ansatz, qubits, blocks) circuits of the ``noisy_deep`` section, under
    `NoiseSpec.reference`; the PennyLane default.mixed anchor runs the re-upload ones of at most
    ``mixed_max_qubits`` qubits (it holds the whole 2^n x 2^n density matrix).

    ``train_*``: the ``training`` section's SQDR-CNN settings, every combination of (qubits, blocks),
    noise (None or a ``--noise`` text), batch and threads, each timed over ``train_steps`` steps;
    the reference stack runs each variant at ``anchor_train_batch`` noiseless and
    ``anchor_train_noisy_batch`` noisy, timing ``anchor_train_steps`` steps after a warm-up."""

    qubits: int = 9
    blocks: int = 2
    batch: int = 64
    noisy_batch: int = 16
    aer_batch: int = 16
    loop_batch: int = 8
    ml_default_batch: int = 2
    ml_aer_batch: int = 2
    sweep_noiseless: tuple[int, ...] = (4, 8, 12, 16)
    sweep_noisy: tuple[int, ...] = (4, 6, 8, 10)
    sweep_batch: int = 64
    sweep_noisy_batch: int = 16
    cnn_T: int = 10
    train_variants: tuple[tuple[int, int], ...] = ((9, 2), (9, 4))
    train_noises: tuple[str | None, ...] = (None, "paper")
    train_batches: tuple[int, ...] = (16, 64)
    train_threads: tuple[int, ...] = (1, 2)
    train_steps: int = 10
    anchor_train_batch: int = 16
    anchor_train_noisy_batch: int = 4
    anchor_train_steps: int = 2
    train_devices: tuple[str, ...] = ("cpu", "cuda")
    deep: tuple[tuple[str, int, int], ...] = (
        ("reupload", 9, 2), ("reupload", 9, 4), ("reupload", 18, 4), ("hea", 9, 2), ("sqnn", 9, 2))
    deep_batch: int = 16
    mixed_max_qubits: int = 10
    repeats: int = 5
    anchor_timeout_s: float = 300.0


PLANS: dict[str, Plan] = {
    "full": Plan(),
    # the GPU check (benchmarks/gpu_check.sh): the training section on CUDA alone
    "gpu": Plan(train_devices=("cuda",), train_threads=(), repeats=3),
    "quick": Plan(qubits=3, blocks=1, batch=8, noisy_batch=4, aer_batch=2, loop_batch=2,
                  ml_default_batch=1, ml_aer_batch=1, sweep_noiseless=(2, 4), sweep_noisy=(2, 3),
                  sweep_batch=8, sweep_noisy_batch=4, cnn_T=2,
                  train_variants=((2, 1),), train_noises=(None, "bit_flip=0.02"), train_batches=(2,),
                  train_threads=(1,), train_steps=1, anchor_train_batch=1, anchor_train_noisy_batch=1,
                  anchor_train_steps=1,
                  deep=(("reupload", 3, 2), ("hea", 3, 1), ("sqnn", 3, 1)), deep_batch=2,
                  mixed_max_qubits=3, repeats=1, anchor_timeout_s=60.0),
}


@dataclass
class Context:
    """What every section reads: the plan, the anchors folder (``None``: skip them), threads."""

    plan: Plan
    anchors: Path | None
    threads: int
