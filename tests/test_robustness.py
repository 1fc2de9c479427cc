"""Image corruptions (shape, range, seeding, growing intensity, independent references) and the
robustness testbench (rows against a direct computation, CSV / markdown / PNG, the CLI)."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from qsnn_qiskit.cli import main
from qsnn_qiskit.corruptions import CORRUPTIONS, LEVELS, SEVERITY
from qsnn_qiskit.data import load_dataset
from qsnn_qiskit.robustness import (COLUMNS, FILES, corruption_generator, evaluate_robustness,
                                    write_report)

RANDOM = ("gaussian_noise", "salt_and_pepper", "speckle")


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    """32 real digit images (32, 1, 28, 28) in [0, 1] from the embedded dataset."""
    return load_dataset("default").val.images[:32].unsqueeze(1).float() / 255.0


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_shape_range_and_seeding(name, digits):
    colour = torch.rand(3, 3, 16, 12, generator=_gen(1))
    for images in (digits, colour):
        for level in LEVELS:
            out = CORRUPTIONS[name](images, level, _gen(5))
            assert out.shape == images.shape and out.dtype == images.dtype
            assert out.min() >= 0.0 and out.max() <= 1.0
            assert not torch.equal(out, images)
            assert torch.equal(out, CORRUPTIONS[name](images, level, _gen(5)))   # same seed, same result
    other = CORRUPTIONS[name](digits, 3, _gen(6))
    assert torch.equal(other, CORRUPTIONS[name](digits, 3, _gen(5))) == (name not in RANDOM)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_change_grows_with_level(name, digits):
    change = [float((CORRUPTIONS[name](digits, lv, _gen(0)) - digits).abs().mean()) for lv in LEVELS]
    assert all(a < b for a, b in zip(change, change[1:])), change


def test_bad_input_is_refused(digits):
    for level in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="level must be an integer in 1..5"):
            CORRUPTIONS["speckle"](digits, level, _gen())
    with pytest.raises(ValueError, match=r"\(batch, C, H, W\)"):
        CORRUPTIONS["contrast"](digits[:, 0], 1, _gen())


def test_blur_matches_scipy(digits):
    for level in LEVELS:
        sigma = SEVERITY["gaussian_blur"][level - 1]
        ours = CORRUPTIONS["gaussian_blur"](digits.double(), level, None).numpy()
        ref = gaussian_filter(digits.double().numpy(), sigma=(0, 0, sigma, sigma), mode="mirror",
                              radius=(0, 0, int(np.ceil(3 * sigma)), int(np.ceil(3 * sigma))))
        np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_contrast_and_noise_statistics():
    mid = 0.25 + 0.5 * torch.rand(8, 1, 20, 20, generator=_gen(2), dtype=torch.float64)  # no clipping
    for level in LEVELS:
        out = CORRUPTIONS["contrast"](mid, level, None)
        torch.testing.assert_close(out.mean((-2, -1)), mid.mean((-2, -1)))
        torch.testing.assert_close(out.std((-2, -1)), SEVERITY["contrast"][level - 1] * mid.std((-2, -1)))
    grey = torch.full((4, 1, 100, 100), 0.5, dtype=torch.float64)
    noisy = CORRUPTIONS["gaussian_noise"](grey, 1, _gen(3)) - grey     # sigma 0.08: 0.5 +- 6 sigma unclipped
    assert abs(float(noisy.std()) - SEVERITY["gaussian_noise"][0]) < 0.002
    sp = CORRUPTIONS["salt_and_pepper"](grey, 5, _gen(4))
    assert abs(float((sp == 0).double().mean()) - 0.1) < 0.005
    assert abs(float((sp == 1).double().mean()) - 0.1) < 0.005


class _Brightness(nn.Module):
    """Class 1 if an image's mean exceeds a threshold: logits (batch, 2)."""

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        score = 50 * (images.mean((1, 2, 3)) - self.threshold)
        return torch.stack([-score, score], 1)


def test_evaluate_robustness_matches_direct_computation(digits):
    threshold = float(digits.mean((1, 2, 3)).median())
    labels = (digits.mean((1, 2, 3)) > threshold).long()
    model = _Brightness(threshold)
    rows = evaluate_robustness(model, (digits, labels), levels=[1, 3, 5], seed=7, batch_size=len(digits))
    assert [r["corruption"] for r in rows] == ["clean"] + [n for n in CORRUPTIONS for _ in range(3)]
    assert rows[0]["accuracy"] == 1.0 and rows[0]["n_images"] == 32
    for row in rows[1:]:
        corrupted = CORRUPTIONS[row["corruption"]](digits, row["level"],
                                                   corruption_generator(7, row["corruption"], row["level"]))
        logits = model(corrupted)
        assert row["accuracy"] == pytest.approx(float((logits.argmax(1) == labels).double().mean()))
        assert row["loss"] == pytest.approx(float(nn.functional.cross_entropy(logits, labels)), rel=1e-5)
        assert row["severity"] == SEVERITY[row["corruption"]][row["level"] - 1]
    assert min(r["accuracy"] for r in rows) < 1.0       # the corruptions do change predictions
    # seeded: the same rows again; a subset of corruptions keeps its values
    again = evaluate_robustness(model, (digits, labels), levels=[1, 3, 5], seed=7, batch_size=len(digits))
    assert again == rows
    subset = evaluate_robustness(model, (digits, labels), corruptions=["speckle"], levels=[3], seed=7,
                                 batch_size=len(digits))
    assert subset[1] == next(r for r in rows if r["corruption"] == "speckle" and r["level"] == 3)
    with pytest.raises(ValueError, match="known: gaussian_noise"):
        evaluate_robustness(model, (digits, labels), corruptions=["fog"])
    with pytest.raises(ValueError, match="levels must be integers in 1..5"):
        evaluate_robustness(model, (digits, labels), levels=[0])


def test_report_files(tmp_path, digits):
    labels = torch.zeros(len(digits), dtype=torch.long)
    rows = evaluate_robustness(_Brightness(0.1), (digits, labels), seed=1)
    paths = write_report(rows, tmp_path / "out", title="test")
    assert {p.name for p in (tmp_path / "out").iterdir()} == set(FILES.values())   # no temporary files
    with open(paths["csv"], newline="") as f:
        read = list(csv.DictReader(f))
    assert list(read[0]) == list(COLUMNS) and len(read) == 1 + 5 * len(CORRUPTIONS)
    for got, row in zip(read, rows):
        assert got["corruption"] == row["corruption"] and int(got["level"]) == row["level"]
        assert float(got["accuracy"]) == pytest.approx(row["accuracy"])
    text = paths["markdown"].read_text()
    assert "| corruption | level 1 | level 2 | level 3 | level 4 | level 5 |" in text
    for name in CORRUPTIONS:
        assert f"| {name} |" in text
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_robustness_on_a_trained_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "--limit", "32", "--epochs", "1", "--qubits", "2", "--blocks", "1",
                 "--batch-size", "16", "--run-dir", str(run_dir), "--no-progress"]) == 0
    assert main(["robustness", str(run_dir), "--limit", "8", "--levels", "1,5",
                 "--corruptions", "contrast,speckle", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "| contrast |" in out and "| speckle |" in out and "gaussian_noise |" not in out
    with open(run_dir / "robustness" / FILES["csv"], newline="") as f:
        read = list(csv.DictReader(f))
    assert [(r["corruption"], r["level"]) for r in read] == [
        ("clean", "0"), ("contrast", "1"), ("contrast", "5"), ("speckle", "1"), ("speckle", "5")]
    assert all(r["n_images"] == "8" for r in read)
    with pytest.raises(SystemExit):
        main(["robustness", str(run_dir), "--corruptions", "fog"])
    assert "unknown corruption(s) 'fog'" in capsys.readouterr().err
    assert main(["robustness", str(tmp_path / "missing")]) == 2
