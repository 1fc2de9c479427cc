"""Datasets: IDX reading, the embedded default subset and its provenance, splits, class subsets,
the batch loader's flips, and clear errors for missing or bad data."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from qsnn_qiskit.data import BatchLoader
from qsnn_qiskit.data.datasets import (Split, load_dataset, load_default, load_idx_folder, read_idx,
                                       select_classes, split_80_20)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist-test-10k"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared MNIST files not at {SHARED}")


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def _raw_mnist(kind: str) -> np.ndarray:
    """The shared MNIST file parsed by fixed offsets (16-byte image header, 8-byte label header)."""
    raw = gzip.decompress((SHARED / f"t10k-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz").read_bytes())
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28) if kind == "images" \
        else np.frombuffer(raw, np.uint8, offset=8)


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_read_idx_round_trip(tmp_path: Path, name: str) -> None:
    array = np.random.default_rng(0).integers(0, 256, size=(5, 4, 3))
    _write_idx(tmp_path / name, array)
    np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_read_idx_rejects_garbage(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(ValueError, match="not a valid IDX file"):
        read_idx(tmp_path / "bad")


@needs_shared
def test_shared_folder_uses_the_8k_2k_convention() -> None:
    train, val = load_idx_folder(SHARED)
    images, labels = _raw_mnist("images"), _raw_mnist("labels")
    assert (len(train), len(val)) == (8000, 2000)
    np.testing.assert_array_equal(train.images.numpy(), images[:8000])
    np.testing.assert_array_equal(val.labels.numpy(), labels[8000:])


def test_idx_folder_with_train_and_test_pairs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 6), ("t10k", 3)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, (n,)))
    train, val = load_idx_folder(tmp_path)
    assert (len(train), len(val)) == (6, 3)
    bundle = load_dataset(f"idx:{tmp_path}")
    assert bundle.name == "idx" and len(bundle.train) == 6


def test_default_dataset_is_a_balanced_subset_of_the_first_8000_images() -> None:
    from importlib import resources

    with resources.files("qsnn_qiskit.data").joinpath("embedded").joinpath("mnist_default.npz").open("rb") as f:
        arrays = dict(np.load(f))
    assert arrays["images"].shape == (3000, 28, 28) and arrays["images"].dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(arrays["labels"]), [300] * 10)
    assert arrays["source_indices"].max() < 8000
    assert resources.files("qsnn_qiskit.data").joinpath("embedded").joinpath("PROVENANCE.md").is_file()
    if SHARED.is_dir():
        idx = arrays["source_indices"]
        np.testing.assert_array_equal(arrays["images"], _raw_mnist("images")[idx])
        np.testing.assert_array_equal(arrays["labels"], _raw_mnist("labels")[idx])


def test_default_split_is_80_20_disjoint_and_deterministic() -> None:
    (train_a, val_a), (train_b, _) = load_default(), load_default()
    assert (len(train_a), len(val_a)) == (2400, 600)
    assert torch.equal(train_a.images, train_b.images)
    flat_train = {bytes(img.numpy().tobytes()) for img in train_a.images}
    assert not any(bytes(img.numpy().tobytes()) in flat_train for img in val_a.images)


def test_split_80_20_partitions_the_data() -> None:
    data = Split(torch.arange(50, dtype=torch.uint8).view(50, 1, 1), torch.arange(50) % 10)
    train, val = split_80_20(data)
    assert (len(train), len(val)) == (40, 10)
    assert sorted(torch.cat([train.images, val.images]).flatten().tolist()) == list(range(50))


def test_class_subset_relabels_in_the_given_order() -> None:
    labels = torch.tensor([0, 1, 2, 3, 1, 3, 4])
    data = Split(torch.arange(7, dtype=torch.uint8).view(7, 1, 1), labels)
    sub = select_classes(data, [3, 1])
    assert sub.images.flatten().tolist() == [1, 3, 4, 5]
    assert sub.labels.tolist() == [1, 0, 1, 0]
    bundle = load_dataset("default", classes=[7, 2, 5])
    assert bundle.class_names == ("7", "2", "5") and set(bundle.train.labels.tolist()) == {0, 1, 2}


def test_limit_caps_the_splits() -> None:
    bundle = load_dataset("default", limit=40)
    assert len(bundle.train) == 40 and len(bundle.val) == 10


def test_holdout_validates_on_the_end_of_the_training_split() -> None:
    whole = load_dataset("default")
    tuned = load_dataset("default", holdout=100)
    assert len(tuned.train) == len(whole.train) - 100 and len(tuned.val) == 100
    assert torch.equal(tuned.val.images, whole.train.images[-100:])
    assert torch.equal(tuned.train.labels, whole.train.labels[:-100])
    with_classes = load_dataset("default", holdout=100, classes=[0, 1])
    assert set(with_classes.val.labels.tolist()) <= {0, 1} and len(with_classes.val) < 100


def test_batch_loader_flips_some_images_and_replays_from_its_generator() -> None:
    images = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    split = Split(images, torch.arange(20) % 10)
    runs = [list(BatchLoader(split, 8, shuffle=True, augment="flip", generator=torch.Generator().manual_seed(3)))
            for _ in range(2)]
    for (xa, ya), (xb, yb) in zip(*runs):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    flipped = 0
    for x, y in runs[0]:
        assert x.shape[1:] == (1, 28, 28) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
        for image, label in zip(x, y):
            source = [i for i in range(20) if i % 10 == label.item()]
            candidates = [images[i].float() / 255 for i in source]
            same = any(torch.equal(image[0], c) for c in candidates)
            mirrored = any(torch.equal(image[0], c.flip(-1)) for c in candidates)
            assert same or mirrored
            flipped += mirrored and not same
    assert 0 < flipped < 20
    plain = torch.cat([x for x, _ in BatchLoader(split, 7)])
    assert torch.equal(plain[:, 0], images.float() / 255)


def test_batch_loader_shifts_each_image_within_two_pixels_and_replays() -> None:
    images = torch.randint(1, 256, (12, 10, 10), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    split = Split(images, torch.arange(12))
    runs = [torch.cat([x for x, _ in BatchLoader(split, 5, augment="shift", generator=torch.Generator().manual_seed(4))])
            for _ in range(2)]
    assert torch.equal(runs[0], runs[1])
    moved = 0
    for image, source in zip(runs[0][:, 0], images.float() / 255):
        padded = torch.nn.functional.pad(source, (2, 2, 2, 2))
        offsets = [(dy, dx) for dy in range(5) for dx in range(5)
                   if torch.equal(image, padded[dy:dy + 10, dx:dx + 10])]
        assert len(offsets) == 1   # the nonzero source pins the translation down
        moved += offsets[0] != (2, 2)
    assert moved >= 6


def test_digits_is_scikit_learns_8x8_set_split_80_20() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = load_dataset("digits")
    assert data.train.images.shape[1:] == (8, 8) and (len(data.train), len(data.val)) == (1438, 359)
    both = torch.cat([data.train.images, data.val.images]).double() * 16 / 255
    labels = torch.cat([data.train.labels, data.val.labels])
    ours = sorted((int(y), tuple(x.round().flatten().tolist())) for x, y in zip(both, labels))
    theirs = sorted((int(y), tuple(x.flatten().tolist())) for x, y in zip(digits.images, digits.target))
    assert ours == theirs
    assert set(data.val.labels.tolist()) == set(range(10))


def test_missing_torchvision_dataset_says_where_and_how(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("fashion-mnist", data_dir=str(tmp_path))
    message = str(err.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message and "--download" in message


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "cifar"}, "unknown dataset"),
    ({"name": "idx"}, "needs a folder"),
    ({"name": "default", "classes": [1, 1]}, "distinct"),
    ({"name": "default", "classes": [3, 12]}, "0..9"),
    ({"name": "default", "limit": 0}, "limit"),
    ({"name": "default", "holdout": 0}, "holdout"),
    ({"name": "default", "holdout": 10 ** 6}, "holdout 1000000 must leave training images"),
])
def test_bad_dataset_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_dataset(**kwargs)


def test_missing_idx_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no IDX files"):
        load_dataset(f"idx:{tmp_path}")
