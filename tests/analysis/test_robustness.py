"""The robustness testbench: rows against a direct computation, CSV / markdown / PNG, the CLI."""
from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

from qsnn_qiskit.analysis.robustness import COLUMNS, FILES, corruption_generator, evaluate_robustness, write_report
from qsnn_qiskit.cli import main
from qsnn_qiskit.data.corruptions import CORRUPTIONS, SEVERITY


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
    with pytest.raises(ValueError, match="levels must be an integer in 1..5"):
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
