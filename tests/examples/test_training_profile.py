"""benchmarks/training_profile.py: a row per encoder stage plus the phase coding and the quantum
layer, a step per batch size, and both files written."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def profile():
    spec = importlib.util.spec_from_file_location("training_profile", ROOT / "benchmarks" / "training_profile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_profile_times_every_stage_and_batch_and_writes_its_report(profile, tmp_path, monkeypatch):
    monkeypatch.setattr(profile, "BATCHES", (1, 3))
    assert profile.main(["--qubits", "2", "--blocks", "1", "--batch", "3", "--repeats", "1", "--out",
                         str(tmp_path)]) == 0
    result = json.loads((tmp_path / "profile.json").read_text())
    names = [s["stage"] for s in result["stages"]]
    assert names[0].startswith("phase coding") and names[-1] == "quantum layer"
    assert len(names) == 2 + 8                   # 3 x (conv + BN, IF + pool fused), pool + Linear, IF
    assert names[2] == "1: IFNeuron + MaxPool2d (fused)"
    assert all(s["forward_ms"] > 0 and s["backward_ms"] >= 0 for s in result["stages"])
    assert [b["batch"] for b in result["batches"]] == [1, 3]
    assert all(b["images_per_s"] == pytest.approx(b["batch"] / b["step_ms"] * 1e3) for b in result["batches"])
    text = (tmp_path / "profile.md").read_text()
    assert "| quantum layer |" in text and "fixed cost" in text


def test_a_bad_count_is_refused_naming_the_flag(profile, capsys):
    with pytest.raises(SystemExit):
        profile.main(["--repeats", "0"])
    assert "--repeats must be >= 1; got 0" in capsys.readouterr().err
