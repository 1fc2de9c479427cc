"""Regenerate the embedded default dataset, qsnn_qiskit/data/embedded/mnist_default.npz.

Source: the MNIST test set in ../shared/data/mnist-test-10k (IDX, gzip). Only images 0..7999 are
used (8000..9999 stay an unseen validation split). For each digit 0..9 the first PER_CLASS images
of that digit in index order are taken; the result is stored in index order as uint8 images
(N, 28, 28), uint8 labels (N,) and the int32 source indices (N,), with np.savez_compressed.

    .venv/bin/python scripts/make_default_dataset.py [--source DIR] [--per-class N]
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from qsnn_qiskit.data.datasets import DEFAULT_DATA_FILE, TEST10K_TRAIN, read_idx

ROOT = Path(__file__).resolve().parents[1]
PER_CLASS = 300


def build(source: Path, per_class: int) -> dict[str, np.ndarray]:
    """The first ``per_class`` images of each digit among images 0..7999 of ``source``, in index order."""
    images = read_idx(source / "t10k-images-idx3-ubyte.gz")[:TEST10K_TRAIN]
    labels = read_idx(source / "t10k-labels-idx1-ubyte.gz")[:TEST10K_TRAIN]
    picked = np.sort(np.concatenate([np.flatnonzero(labels == d)[:per_class] for d in range(10)]))
    return {"images": images[picked].astype(np.uint8), "labels": labels[picked].astype(np.uint8),
            "source_indices": picked.astype(np.int32)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "mnist-test-10k",
                        help="folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")
    parser.add_argument("--per-class", type=int, default=PER_CLASS, help=f"images per digit (default {PER_CLASS})")
    args = parser.parse_args()
    arrays = build(args.source, args.per_class)
    out = ROOT / "qsnn_qiskit" / "data" / "embedded" / DEFAULT_DATA_FILE
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    digest = hashlib.sha256(arrays["images"].tobytes() + arrays["labels"].tobytes()).hexdigest()
    print(f"wrote {out} ({out.stat().st_size} bytes): {len(arrays['labels'])} images, "
          f"source indices {arrays['source_indices'].min()}..{arrays['source_indices'].max()}, "
          f"sha256(images+labels) {digest}")


if __name__ == "__main__":
    main()
