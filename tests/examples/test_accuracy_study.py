"""benchmarks/accuracy_study.py: the plan keeps the validation images out of tuning, a run of the
study starts what is missing, skips what is finished, refuses a run directory of other settings,
and the report tabulates the finished runs."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = {"qubits": 2, "blocks": 1, "limit": 24, "epochs": 2, "batch_size": 8, "dataset": "default"}


@pytest.fixture()
def study(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("accuracy_study", ROOT / "benchmarks" / "accuracy_study.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # its dataclasses look their module up there
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path / "results" / "accuracy_study")
    yield module
    del sys.modules[spec.name]


def test_plan_tunes_on_held_out_images_and_reports_seeds_of_the_chosen_recipe(study):
    runs = study.plan()
    assert len({r.name for r in runs}) == len(runs)
    tune = [r for r in runs if r.stage == "tune"]
    assert tune and all(r.settings["holdout"] == 1000 for r in tune)
    assert all("holdout" not in r.settings for r in runs if r.stage != "tune")
    final = {(r.settings["blocks"], r.variant, r.seed) for r in runs if r.stage == "final"}
    assert {(b, study.CHOSEN, s) for b in (2, 4) for s in study.SEEDS} <= final
    assert study.CHOSEN in study.VARIANTS


def test_run_starts_what_is_missing_skips_what_is_done_and_refuses_other_settings(study, tmp_path, capsys,
                                                                                   monkeypatch):
    tiny = [study.PlannedRun(f"tiny-{a}", "tune", a, "2b-9q", {**TINY, "augment": a}) for a in ("flip", "shift")]
    monkeypatch.setattr(study, "plan", lambda: tiny)
    root = tmp_path / "runs"
    study.run_study(root, ["tune"], jobs=2)
    assert "2 runs to start or resume" in capsys.readouterr().out
    for run in tiny:
        config = json.loads((root / run.name / "config.json").read_text())
        assert config["settings"]["augment"] == run.variant and config["settings"]["limit"] == 24
    study.run_study(root, ["tune"], jobs=2)
    assert "0 runs to start or resume" in capsys.readouterr().out

    written = study.report(root, "test")
    assert [r["name"] for r in written["runs"]] == ["tiny-flip", "tiny-shift"]
    assert all(len(r["curve"]) == 2 and 0 <= r["val_acc"] <= 100 for r in written["runs"])

    tiny[1].settings["lr"] = 0.5
    with pytest.raises(ValueError, match="tiny-shift holds a run of other settings.*'lr': \\(0.5, 0.001\\)"):
        study.run_study(root, ["tune"], jobs=1)
