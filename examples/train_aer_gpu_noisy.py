"""Noisy training on Aer, on the GPU when there is one: SQDR-CNN whose circuit runs on Aer under gate noise.

    python examples/train_aer_gpu_noisy.py --smoke                 # seconds on a CPU, embedded data
    python examples/train_aer_gpu_noisy.py --device GPU --qubits 9 --blocks 2 --classes 0 1 2 3 4 5 6 7 8 9
    python examples/train_aer_gpu_noisy.py --shots 4096            # expectation values from measured shots

The circuit runs with ``engine="aer"``: qiskit-machine-learning's EstimatorQNN over Aer, its gradients by
parameter shift with every shift of a batch in one Aer run. Without ``--shots`` the expectation values
are exact, from Aer's density-matrix simulation of the noisy circuit; with ``--shots N`` each value is
the mean of N measured shots, each shot one noise trajectory of the statevector method (as hardware);
that is far slower (on a busy 2-core CPU, 48 images of the 3-qubit smoke model took 10 minutes at
2,000 shots, against 2 s exact).
``--device auto`` (default) simulates on the GPU when this Aer build offers one (the qiskit-aer-gpu
package, in place of qiskit-aer), else on the CPU.

Noise (``--noise``, the ``qsnn train --noise`` format): by default the paper's channels, bit flip 0.02,
depolarizing 0.03 and amplitude damping 0.02 after every rotation, bit flip and depolarizing after
every CZ (``--noise paper`` adds the damping after every CZ too). Aer takes fixed rates only, so a
spec with input-dependent damping (``--noise reference``) is refused: train that on the torch engine
(``qsnn train --noise reference``).

At the end, the trained model's circuit outputs <Z_j> and logits on a few validation images are
computed on Aer (exact density matrix) and on the torch engine with the same noise, and their largest
differences are printed (about 1e-8): the package's invariant is that every exact engine gives the
same outputs for the same weights.
"""
from __future__ import annotations

import argparse
import time
from typing import Any

import torch
from qiskit_aer import AerSimulator

from qsnn_qiskit import SQDRCNN
from qsnn_qiskit.circuits import INIT_SCHEMES, NoiseSpec
from qsnn_qiskit.data import BatchLoader, load_dataset
from qsnn_qiskit.models import count_trainable
from qsnn_qiskit.training import OPTIMIZERS, evaluate, seed_everything, train_epoch

#: ``--noise`` default: the paper's gate noise (Section 5.2), as ``qsnn train --noise`` takes it.
PAPER_NOISE = "bit_flip=0.02,depolarizing=0.03,amplitude_damping=0.02"
#: The budget ``--smoke`` sets: well under a minute on a busy 2-core CPU.
SMOKE = {"qubits": 3, "blocks": 1, "classes": [0, 1, 2], "limit": 48, "epochs": 1, "compare": 4}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", choices=("auto", "GPU", "CPU"),
                   help="where Aer simulates: auto (GPU if Aer offers one, else CPU; default), GPU or CPU")
    p.add_argument("--noise", default=PAPER_NOISE, help=f"gate noise, as `qsnn train --noise` (default {PAPER_NOISE})")
    p.add_argument("--shots", type=int, default=None,
                   help="shots per expectation value (default: none, exact density-matrix values)")
    p.add_argument("--qubits", type=int, default=4, help="qubits of the re-upload circuit (default 4)")
    p.add_argument("--blocks", type=int, default=2, help="re-upload blocks (default 2)")
    p.add_argument("--init", default="uniform_2pi", choices=sorted(INIT_SCHEMES),
                   help="circuit weight initialisation (default uniform_2pi)")
    p.add_argument("--dataset", default="default",
                   help="default (embedded MNIST subset), mnist, fashion-mnist, kmnist or idx:PATH")
    p.add_argument("--data-dir", default=None, help="folder of the torchvision datasets (default ./data)")
    p.add_argument("--classes", type=int, nargs="+", default=[0, 1, 2, 3],
                   help="the classes kept, relabelled 0..k-1 (default: 0 1 2 3)")
    p.add_argument("--limit", type=int, default=400,
                   help="cap on training images (validation: limit // 4; default 400)")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    p.add_argument("--batch-size", type=int, default=16, help="batch size (default 16)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    p.add_argument("--compare", type=int, default=8,
                   help="validation images compared between Aer and torch (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and batch order (default 0)")
    p.add_argument("--smoke", action="store_true",
                   help=f"tiny budget for a quick check ({', '.join(f'{k}={v}' for k, v in SMOKE.items())})")
    args = p.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    for name in ("qubits", "blocks", "limit", "epochs", "batch_size", "compare"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    if args.shots is not None and args.shots < 1:
        p.error(f"--shots must be >= 1 (or left out for exact values); got {args.shots}")
    try:
        spec = NoiseSpec.parse(args.noise)
    except ValueError as err:
        p.error(f"--noise: {err}")
    if spec.damping == "input":
        p.error(f"--noise {args.noise}: its amplitude damping rate is sigmoid(an input angle), which Aer cannot "
                "express (fixed rates only); give a fixed amplitude_damping, or train it with `qsnn train "
                "--engine torch`")
    args.device, note = _resolve_device(args.device, p)
    if note:
        print(note)
    return args


def _resolve_device(requested: str, parser: argparse.ArgumentParser) -> tuple[str, str | None]:
    """The Aer device to use and a note to print; exits with status 2 if GPU is asked for but absent."""
    available = AerSimulator().available_devices()
    if requested == "auto":
        if "GPU" in available:
            return "GPU", None
        return "CPU", ("note: this qiskit-aer build has no GPU device (available: " + ", ".join(available)
                       + "); simulating on the CPU. For GPU simulation install qiskit-aer-gpu in place of qiskit-aer")
    if requested not in available:
        parser.error(f"--device {requested}: this qiskit-aer build offers {', '.join(available)} only. "
                     "For GPU simulation `pip install qiskit-aer-gpu` (Linux, NVIDIA CUDA) in place of "
                     "qiskit-aer, or run with --device CPU")
    return requested, None


def _model(args: argparse.Namespace, n_classes: int, engine: str, **engine_options: Any) -> SQDRCNN:
    return SQDRCNN(n_qubits=args.qubits, blocks=args.blocks, n_classes=n_classes, init=args.init,
                   seed=args.seed, engine=engine, noise=args.noise, **engine_options)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train on Aer under noise, printing each epoch; then compare Aer with the torch engine.

    Returns ``history`` (per epoch: train/val loss and accuracy, seconds), ``final_val_acc``,
    ``aer_vs_torch`` (max |<Z_j>| difference in float64 between exact Aer and the torch engine, same
    noise and weights, on the encoder's rates of ``--compare`` validation images),
    ``aer_vs_torch_logits`` (the same for the logits, float32) and, with shots, ``shots_vs_exact``
    (max |<Z_j>| difference of the shot-based model from exact Aer: statistical error).
    """
    seed_everything(args.seed)
    data = load_dataset(args.dataset, args.data_dir, classes=args.classes, limit=args.limit)
    train = BatchLoader(data.train, args.batch_size, shuffle=True, augment="flip",
                        generator=torch.Generator().manual_seed(args.seed))
    val = BatchLoader(data.val, 64)
    model = _model(args, data.n_classes, "aer", device=args.device, shots=args.shots)
    optimizer = OPTIMIZERS["adam"](model.parameters(), args.lr, 1e-3)
    how = f"{args.shots} shots" if args.shots else "exact density matrix"
    print(f"{data.name}: classes {', '.join(data.class_names)}; {len(data.train)} train, {len(data.val)} val")
    print(f"SQDR-CNN {args.blocks}b-{args.qubits}q, {count_trainable(model)} parameters, on Aer {args.device} "
          f"({how}), noise {args.noise}")
    history = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss, acc = train_epoch(model, train, optimizer, None)
        result = evaluate(model, val, data.n_classes)
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, "train_loss": loss, "train_acc": acc, "val_loss": result.loss,
                        "val_acc": result.accuracy, "seconds": seconds})
        print(f"epoch {epoch}/{args.epochs}: train loss {loss:.4f} acc {100 * acc:.2f}%  val loss {result.loss:.4f} "
              f"acc {100 * result.accuracy:.2f}%  ({seconds:.1f} s, {len(data.train) / seconds:.1f} images/s)")

    images = data.val.images[:args.compare].unsqueeze(1).to(torch.float32) / 255.0
    state = model.state_dict()
    exact = model if args.shots is None else _model(args, data.n_classes, "aer", device=args.device)
    reference = _model(args, data.n_classes, "torch")
    for m in (exact, reference):
        m.load_state_dict(state)
    models = {"trained": model, "exact": exact, "torch": reference}
    with torch.no_grad():
        for m in models.values():
            m.eval()
        rates = model.encoder(images).double()   # the same encoder weights in all three
        expvals = {k: m.quantum(rates) for k, m in models.items()}
        logits = {k: m(images) for k, m in models.items()}
    out = {"history": history, "final_val_acc": history[-1]["val_acc"], "device": args.device,
           "aer_vs_torch": float((expvals["exact"] - expvals["torch"]).abs().max()),
           "aer_vs_torch_logits": float((logits["exact"] - logits["torch"]).abs().max())}
    print(f"Aer ({args.device}, exact density matrix) vs torch engine, same noise and weights, {len(images)} "
          f"images: max |<Z_j> difference| {out['aer_vs_torch']:.2e} (float64), max |logit difference| "
          f"{out['aer_vs_torch_logits']:.2e} (float32)")
    if args.shots is not None:
        out["shots_vs_exact"] = float((expvals["trained"] - expvals["exact"]).abs().max())
        print(f"Aer with {args.shots} shots vs exact: max |<Z_j> difference| {out['shots_vs_exact']:.2e} "
              f"(statistical: the standard error of one value is at most 1/sqrt(shots) = {args.shots ** -0.5:.1e})")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_args(argv))


if __name__ == "__main__":
    main()
