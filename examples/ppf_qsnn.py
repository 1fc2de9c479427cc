"""PPF-QSNN: how the fusion ratio alpha changes accuracy (Xu et al. 2024).

Trains one PPFQSNN per fixed alpha (alpha = the spiking branch's share: 1 is the spiking MLP alone,
0 the dressed quantum circuit alone) and one with a learned alpha, from the same seed and batch
order, and prints a markdown table of validation accuracy and loss.

    python examples/ppf_qsnn.py --smoke                    # seconds, embedded MNIST subset
    python examples/ppf_qsnn.py --alphas 0 0.25 0.5 0.75 1 --epochs 5
    python examples/ppf_qsnn.py --dataset idx:../shared/data/mnist-test-10k --out benchmarks/results/ppf_alpha.md
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

from qsnn_qiskit._atomic import atomic_write_text
from qsnn_qiskit.analysis import machine
from qsnn_qiskit.data import BatchLoader, load_dataset
from qsnn_qiskit.models import PPFQSNN
from qsnn_qiskit.training import default_engine, evaluate, seed_everything, train_epoch

#: The budget ``--smoke`` sets: small enough to finish in well under 30 s on 2 CPU cores.
SMOKE = {"limit": 128, "epochs": 1, "alphas": [0.0, 0.5, 1.0], "qubits": 4, "blocks": 1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="default",
                   help="default (embedded MNIST subset), mnist, fashion-mnist, kmnist or idx:PATH")
    p.add_argument("--data-dir", default=None, help="folder of the torchvision datasets (default ./data)")
    p.add_argument("--classes", type=int, nargs="+", default=None, help="classes kept (default: all 10)")
    p.add_argument("--limit", type=int, default=None, help="cap on training images (validation: limit // 4)")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0],
                   help="fixed fusion ratios to train, each in [0, 1]")
    p.add_argument("--learned-start", type=float, default=0.5,
                   help="starting alpha of the learned-alpha model, in (0, 1)")
    p.add_argument("--epochs", type=int, default=3, help="training epochs of each model")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    p.add_argument("--batch-size", type=int, default=32, help="batch size")
    p.add_argument("--qubits", type=int, default=6, help="qubits of the quantum branch's circuit")
    p.add_argument("--blocks", type=int, default=2, help="re-upload blocks of the circuit")
    p.add_argument("--engine", default=None, help="where the circuit runs (default: torch if installed, else aer)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and batch order (the same for every alpha)")
    p.add_argument("--out", type=Path, help="also write the table, with the data, budget, machine and "
                                             "command, to this markdown file")
    p.add_argument("--smoke", action="store_true",
                   help=f"tiny budget for a quick check ({', '.join(f'{k}={v}' for k, v in SMOKE.items())})")
    args = p.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    return args


def train_one(args: argparse.Namespace, data, alpha: float, learn_alpha: bool) -> dict[str, float]:
    """Train one PPFQSNN; returns its final alpha and validation accuracy and loss."""
    seed_everything(args.seed)
    model = PPFQSNN(n_classes=data.n_classes, alpha=alpha, learn_alpha=learn_alpha, n_qubits=args.qubits,
                    blocks=args.blocks, seed=args.seed, engine=args.engine or default_engine())
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    train = BatchLoader(data.train, args.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(args.seed))
    val = BatchLoader(data.val, 256)
    for _ in range(args.epochs):
        train_epoch(model, train, optimizer, None)
    result = evaluate(model, val, data.n_classes)
    return {"alpha": model.alpha.item(), "accuracy": result.accuracy, "loss": result.loss}


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    args = parse_args(argv)
    data = load_dataset(args.dataset, args.data_dir, classes=args.classes, limit=args.limit)
    table = ["| alpha | learned | val accuracy | val loss | seconds |", "| --- | --- | --- | --- | --- |"]
    print(f"{data.name}: {data.n_classes} classes; {len(data.train)} train, {len(data.val)} val; "
          f"{args.epochs} epoch(s) per model\n")
    print("\n".join(table))
    rows = []
    for alpha, learned in [(a, False) for a in args.alphas] + [(args.learned_start, True)]:
        start = time.perf_counter()
        row = train_one(args, data, alpha, learned)
        label = f"{args.learned_start:.2f} -> {row['alpha']:.3f}" if learned else f"{alpha:.2f}"
        table.append(f"| {label} | {'yes' if learned else 'no'} | {row['accuracy']:.3f} | {row['loss']:.4f} | "
                     f"{time.perf_counter() - start:.1f} |")
        print(table[-1], flush=True)
        rows.append(row)
    if args.out is not None:
        m = machine(torch.get_num_threads())
        atomic_write_text(args.out, "\n".join([
            "# PPF-QSNN: validation accuracy against the fusion ratio alpha", "",
            "alpha is the spiking branch's share of the fused logits: 1 is the spiking MLP alone, 0 the dressed "
            "quantum circuit alone; the last row learns alpha. Every model starts from the same seed and sees "
            "the same batches.", "",
            f"- data: {data.name}, {data.n_classes} classes, {len(data.train)} training / {len(data.val)} "
            "validation images" + (" (the 8k/2k split of the MNIST test set)" if data.name == "idx" else ""),
            f"- budget: {args.epochs} epoch(s) per model, Adam lr {args.lr:g}, batch {args.batch_size}, "
            f"{args.qubits} qubits, {args.blocks} blocks",
            f"- machine: {m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch thread(s)",
            f"- command: `python examples/ppf_qsnn.py {' '.join(map(shlex.quote, argv if argv is not None else sys.argv[1:]))}`",
            "", *table, ""]))
        print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
