"""DSQ-Net in two stages: pretrain a classical spiking MLP, then train a dressed quantum net on its
frozen spike rates, on a 5-class subset (labels remapped to 0..4), as Konar et al. (2023).

    python examples/dsqnet.py --smoke                      # seconds, embedded MNIST subset
    python examples/dsqnet.py --dataset kmnist --data-dir data --snn-epochs 10 --epochs 10

Prints the validation accuracy of the spiking MLP alone and of the hybrid built on it.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from qsnn_qiskit.data import BatchLoader, load_dataset
from qsnn_qiskit.models import DSQNet, SpikingMLP, count_trainable, pretrain_spiking_mlp
from qsnn_qiskit.training import default_engine, evaluate, seed_everything, train_epoch

#: The budget ``--smoke`` sets: small enough to finish in well under 30 s on 2 CPU cores.
SMOKE = {"limit": 200, "snn_epochs": 1, "epochs": 1, "qubits": 5, "blocks": 1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="default",
                   help="default (embedded MNIST subset), mnist, fashion-mnist, kmnist or idx:PATH")
    p.add_argument("--data-dir", default=None, help="folder of the torchvision datasets (default ./data)")
    p.add_argument("--classes", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                   help="the classes kept, relabelled 0..k-1 (default: 0 1 2 3 4)")
    p.add_argument("--limit", type=int, default=None, help="cap on training images (validation: limit // 4)")
    p.add_argument("--snn-epochs", type=int, default=5, help="epochs of spiking-MLP pretraining")
    p.add_argument("--snn-lr", type=float, default=1e-3, help="Adam learning rate of the pretraining")
    p.add_argument("--epochs", type=int, default=5, help="epochs of training the dressed quantum net")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate of the dressed quantum net")
    p.add_argument("--batch-size", type=int, default=32, help="batch size of both stages")
    p.add_argument("--qubits", type=int, default=6, help="qubits of the circuit (the paper: 5 or 6)")
    p.add_argument("--blocks", type=int, default=2, help="trainable layers of the circuit")
    p.add_argument("--engine", default=None, help="where the circuit runs (default: torch if installed, else aer)")
    p.add_argument("--out", default=None,
                   help="folder for the pretrained checkpoint snn.pt (default: a temporary folder)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and batch order")
    p.add_argument("--smoke", action="store_true",
                   help=f"tiny budget for a quick check ({', '.join(f'{k}={v}' for k, v in SMOKE.items())})")
    args = p.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    return args


def run(args: argparse.Namespace, out: Path) -> dict[str, float]:
    """Pretrain, save, load into DSQNet, train it; returns the two validation accuracies."""
    seed_everything(args.seed)
    data = load_dataset(args.dataset, args.data_dir, classes=args.classes, limit=args.limit)
    generator = torch.Generator().manual_seed(args.seed)
    train = BatchLoader(data.train, args.batch_size, shuffle=True, generator=generator)
    val = BatchLoader(data.val, 256)
    print(f"{data.name}: classes {', '.join(data.class_names)}; {len(data.train)} train, {len(data.val)} val")

    start = time.perf_counter()
    snn = SpikingMLP(n_classes=data.n_classes)
    losses = pretrain_spiking_mlp(snn, train, epochs=args.snn_epochs, lr=args.snn_lr)
    snn_acc = evaluate(snn, val, data.n_classes).accuracy
    path = out / "snn.pt"
    snn.save(path)
    print(f"spiking MLP: loss {losses[-1]:.4f}, val accuracy {snn_acc:.3f} "
          f"({time.perf_counter() - start:.1f} s); saved {path}")

    start = time.perf_counter()
    engine = args.engine or default_engine()
    model = DSQNet(n_classes=data.n_classes, pretrained=path, n_qubits=args.qubits, blocks=args.blocks,
                   seed=args.seed, engine=engine)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    print(f"DSQNet: {count_trainable(model)} trainable parameters, engine {engine!r}")
    for epoch in range(1, args.epochs + 1):
        loss, acc = train_epoch(model, train, optimizer, None)
        result = evaluate(model, val, data.n_classes)
        print(f"  epoch {epoch}: train loss {loss:.4f} acc {acc:.3f} | val loss {result.loss:.4f} "
              f"acc {result.accuracy:.3f}")
    print(f"DSQNet trained in {time.perf_counter() - start:.1f} s")
    return {"snn_accuracy": snn_acc, "dsqnet_accuracy": result.accuracy}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.out is not None:
        run(args, Path(args.out))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(args, Path(tmp))


if __name__ == "__main__":
    main()
