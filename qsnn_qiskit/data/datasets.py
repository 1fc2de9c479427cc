"""Datasets for training: the embedded default, scikit-learn's 8x8 digits, torchvision MNIST /
Fashion-MNIST / KMNIST, local IDX folders; class subsets with label remapping.

Every dataset is held as uint8 images (N, H, W) (28 x 28, or 8 x 8 for digits) and int64 labels
(N,); `loaders.BatchLoader` turns a split into float batches (batch, 1, H, W) in [0, 1].
"""
from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .._checks import check_int

#: The embedded default dataset (a class-balanced subset of MNIST; see embedded/PROVENANCE.md).
DEFAULT_DATA_FILE = "mnist_default.npz"
#: Seed of the deterministic 80/20 split of datasets that have no validation split.
SPLIT_SEED = 0
VAL_FRACTION = 0.2
#: The folder convention of ../shared/data/mnist-test-10k: images 0..7999 train, 8000..9999 validation.
TEST10K_TRAIN = 8000

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
KMNIST_CLASSES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


@dataclass
class Split:
    """Images (N, H, W) uint8 and labels (N,) int64 of one split."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass
class DataBundle:
    """A dataset ready for training: train and validation splits and the class names after remapping."""

    name: str
    train: Split
    val: Split
    class_names: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into an array of its stored dtype and shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code not in _IDX_DTYPES:
            raise ValueError("bad magic number")
        shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=_IDX_DTYPES[dtype_code], offset=4 + 4 * ndim)
        return data.reshape(shape)
    except (OSError, ValueError, struct.error, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a valid IDX file ({err})") from None


def _find_idx(folder: Path, prefix: str) -> dict[str, Path]:
    """The images and labels files of ``prefix`` (``train`` or ``t10k``) in ``folder``, if both exist."""
    found = {}
    for kind, stem in (("images", f"{prefix}-images-idx3-ubyte"), ("labels", f"{prefix}-labels-idx1-ubyte")):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                found[kind] = folder / name
                break
    return found if len(found) == 2 else {}


def _read_pair(files: dict[str, Path]) -> Split:
    images, labels = read_idx(files["images"]), read_idx(files["labels"])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{files['images']} and {files['labels']} do not hold matching images "
                         f"(N, H, W) and labels (N,); got {images.shape} and {labels.shape}")
    return Split(torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels.astype(np.int64)))


def split_80_20(data: Split, seed: int = SPLIT_SEED) -> tuple[Split, Split]:
    """Deterministic split: a seeded permutation, the first 80% for training, the rest for validation."""
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    n_val = int(round(VAL_FRACTION * len(data)))
    train, val = perm[n_val:], perm[:n_val]
    return Split(data.images[train], data.labels[train]), Split(data.images[val], data.labels[val])


def load_idx_folder(folder: str | os.PathLike) -> tuple[Split, Split]:
    """A folder of IDX files in torchvision's ``raw`` naming (``train-images-idx3-ubyte[.gz]`` ...).

    With ``train-*`` and ``t10k-*`` files: train and test (used for validation). With only the
    10,000-image ``t10k-*`` files (the layout of ../shared/data/mnist-test-10k): images 0..7999 for
    training and 8000..9999 for validation. With only one other pair: an 80/20 split.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"IDX folder {folder} does not exist")
    train_files, test_files = _find_idx(folder, "train"), _find_idx(folder, "t10k")
    if train_files and test_files:
        return _read_pair(train_files), _read_pair(test_files)
    if test_files:
        data = _read_pair(test_files)
        if len(data) == 10000:
            return (Split(data.images[:TEST10K_TRAIN], data.labels[:TEST10K_TRAIN]),
                    Split(data.images[TEST10K_TRAIN:], data.labels[TEST10K_TRAIN:]))
        return split_80_20(data)
    if train_files:
        return split_80_20(_read_pair(train_files))
    raise FileNotFoundError(
        f"no IDX files in {folder}: expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] "
        "and/or t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]")


def load_default() -> tuple[Split, Split]:
    """The embedded default dataset (MNIST subset shipped in the package), split 80/20."""
    with resources.files("qsnn_qiskit.data").joinpath("embedded").joinpath(DEFAULT_DATA_FILE).open("rb") as f:
        arrays = np.load(f)
        data = Split(torch.from_numpy(arrays["images"].astype(np.uint8)),
                     torch.from_numpy(arrays["labels"].astype(np.int64)))
    return split_80_20(data)


def load_digits() -> tuple[Split, Split]:
    """scikit-learn's 1,797 handwritten digits (8 x 8, 17 grey levels, shipped inside scikit-learn),
    grey levels 0..16 scaled to 0..255, split 80/20 (1,438 training, 359 validation)."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = np.rint(digits.images * (255 / 16)).astype(np.uint8)
    return split_80_20(Split(torch.from_numpy(images), torch.from_numpy(digits.target.astype(np.int64))))


def _torchvision(cls_name: str, folder: str) -> Callable[[str | None, bool], tuple[Split, Split]]:
    def load(data_dir: str | None, download: bool) -> tuple[Split, Split]:
        import torchvision.datasets as tvd

        root = Path(data_dir or "data")
        cls = getattr(tvd, cls_name)
        splits = []
        for train in (True, False):
            try:
                ds = cls(root=str(root), train=train, download=download)
            except RuntimeError as err:
                where = root / folder / "raw"
                raise FileNotFoundError(
                    f"{cls_name} not found under {where} ({err}). Run again with --download (needs "
                    f"network), or copy the four IDX files (train-images-idx3-ubyte.gz, "
                    f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) "
                    f"into {where}, or point --data-dir at the folder that holds {folder}/raw") from None
            splits.append(Split(ds.data.to(torch.uint8), torch.as_tensor(ds.targets, dtype=torch.int64)))
        return splits[0], splits[1]
    return load


@dataclass(frozen=True)
class DatasetSpec:
    """How to load a named dataset: ``load(data_dir, download) -> (train, val)`` and its class names."""

    load: Callable[[str | None, bool], tuple[Split, Split]]
    class_names: tuple[str, ...]
    needs_data_dir: bool = False


def _idx(data_dir: str | None, download: bool) -> tuple[Split, Split]:
    if download:
        raise ValueError("--download does not apply to an IDX folder; copy the files there instead")
    return load_idx_folder(data_dir)  # type: ignore[arg-type]


#: name -> dataset. ``idx:PATH`` is also accepted and means ``idx`` with data_dir PATH.
DATASETS: dict[str, DatasetSpec] = {
    "default": DatasetSpec(lambda data_dir, download: load_default(), MNIST_CLASSES),
    "digits": DatasetSpec(lambda data_dir, download: load_digits(), MNIST_CLASSES),
    "mnist": DatasetSpec(_torchvision("MNIST", "MNIST"), MNIST_CLASSES),
    "fashion-mnist": DatasetSpec(_torchvision("FashionMNIST", "FashionMNIST"), FASHION_CLASSES),
    "kmnist": DatasetSpec(_torchvision("KMNIST", "KMNIST"), KMNIST_CLASSES),
    "idx": DatasetSpec(_idx, MNIST_CLASSES, needs_data_dir=True),
}


def resolve_dataset(name: str, data_dir: str | None) -> tuple[str, str | None]:
    """Validate a dataset name; ``idx:PATH`` becomes (``idx``, PATH). Returns (name, data_dir)."""
    if name.startswith("idx:"):
        if data_dir is not None:
            raise ValueError(f"dataset {name!r} names its folder already; drop --data-dir")
        name, data_dir = "idx", name[4:]
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)} or idx:PATH")
    if DATASETS[name].needs_data_dir and not data_dir:
        raise ValueError(f"dataset {name!r} needs a folder: --data-dir PATH or --dataset idx:PATH")
    return name, data_dir


def check_classes(classes: Sequence[int] | None, n_available: int = 10) -> None:
    """Raise ``ValueError`` unless ``classes`` is None or at least two distinct labels in [0, n_available)."""
    if classes is None:
        return
    for label in classes:
        check_int("each of classes (a label)", label, 0, n_available - 1)
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise ValueError(f"classes must be at least two distinct labels; got {list(classes)}")


def select_classes(data: Split, classes: Sequence[int]) -> Split:
    """Keep the samples of ``classes`` and relabel them 0..len(classes)-1 in the order given."""
    wanted = torch.tensor(list(classes), dtype=torch.int64)
    keep = torch.isin(data.labels, wanted)
    new_label = (data.labels[keep, None] == wanted).to(torch.int64).argmax(1)
    return Split(data.images[keep], new_label)


def load_dataset(name: str = "default", data_dir: str | None = None, download: bool = False,
                 classes: Sequence[int] | None = None, limit: int | None = None,
                 holdout: int | None = None) -> DataBundle:
    """Load a dataset by name, keep ``classes`` (relabelled 0..k-1), and cap the training split at
    ``limit`` samples (the validation split at ``limit // 4``, at least one per class kept).

    ``holdout``: the last ``holdout`` images of the training split become the validation split and
    the dataset's own validation split is not loaded into the bundle: a split to tune on, so the
    reported validation figure is not tuned to the set it is reported on. Applied first, before
    ``classes`` and ``limit``."""
    name, data_dir = resolve_dataset(name, data_dir)
    spec = DATASETS[name]
    check_classes(classes, len(spec.class_names))
    check_int("limit", limit, 1, optional=True)
    check_int("holdout", holdout, 1, optional=True)
    train, val = spec.load(data_dir, download)
    if holdout is not None:
        if holdout >= len(train):
            raise ValueError(f"holdout {holdout} must leave training images: dataset {name!r} has "
                             f"{len(train)} in its training split")
        train, val = Split(train.images[:-holdout], train.labels[:-holdout]), \
            Split(train.images[-holdout:], train.labels[-holdout:])
    names = spec.class_names
    if classes is not None:
        train, val = select_classes(train, classes), select_classes(val, classes)
        names = tuple(spec.class_names[c] for c in classes)
    if limit is not None:
        train = Split(train.images[:limit], train.labels[:limit])
        n_val = max(limit // 4, len(names))
        val = Split(val.images[:n_val], val.labels[:n_val])
    for split_name, split in (("training", train), ("validation", val)):
        if len(split) == 0:
            raise ValueError(f"dataset {name!r} has no {split_name} samples of the chosen classes")
    return DataBundle(name, train, val, names)
