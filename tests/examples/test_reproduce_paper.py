"""examples/reproduce_paper.py: the plan covers the paper's tables, the smoke run writes every table
beside the paper's numbers, and a second run resumes from what was recorded instead of redoing it."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("reproduce_paper", ROOT / "examples" / "reproduce_paper.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_plan_has_one_experiment_per_cell_and_shares_the_common_one(example):
    exps = example.plan(["2", "3", "4", "5"], example.Budget())
    keys = [e.key for e in exps]
    assert len(keys) == len(set(keys)) == 3 + 3 + 4 + 20   # 2b-9q re-upload serves Tables 2 and 3
    table2 = {e.settings["ansatz"]: (e.settings["blocks"], e.settings["qubits"]) for e in exps if e.table == "2"}
    assert table2 == {"reupload": (2, 9), "sqnn": (2, 9), "hea": (2, 9)}
    evaluated = {e.key: e.evaluate_of for e in exps if e.evaluate_of}
    assert evaluated == {"4b-9q-noisy-eval": "4b-9q", "4b-18q-noisy-eval": "4b-18q"}
    assert {e.settings["noise"] for e in exps if e.table == "4"} == {"reference"}
    t5 = [e.settings for e in exps if e.table == "5"]
    assert {(s["optimizer"], s["init"]) for s in t5} == set(example.PAPER["5"])
    assert all("lr" not in s and "schedule" not in s for s in t5)   # the paper's lr 1e-3, constant


def test_smoke_writes_all_tables_and_a_rerun_resumes(example, tmp_path, capsys):
    args = ["--smoke", "--out", str(tmp_path), "--run-root", str(tmp_path / "runs")]
    example.main(args + ["--tables", "2,4"])
    first = json.loads((tmp_path / "paper_tables_smoke.json").read_text())
    assert set(first["results"]) == {"2b-9q", "sqnn-2b-9q", "hea-2b-9q", "4b-9q", "2b-18q", "4b-18q",
                                     "2b-9q-noisy", "2b-18q-noisy", "4b-9q-noisy-eval", "4b-18q-noisy-eval"}
    noisy_eval = first["results"]["4b-9q-noisy-eval"]
    assert noisy_eval["epochs"] == 0 and noisy_eval["val_images"] == example.SMOKE.noisy_eval_images
    capsys.readouterr()

    done = example.main(args)                      # all tables: only Table 5 is new
    assert "10 already recorded" in capsys.readouterr().out
    assert len(done) == 30 and all(0 <= r["val_acc"] <= 1 for r in done.values())
    assert all(done[k] == v for k, v in first["results"].items())
    md = (tmp_path / "paper_tables_smoke.md").read_text()
    for title in ("Table 2", "Table 3", "Table 4", "Table 5"):
        assert f"## {title}" in md
    assert "| data re-upload |" in md and "84.03" in md and "/ 84.03 |" in md   # ours beside the paper's


def test_bad_arguments_are_refused(example, capsys):
    with pytest.raises(SystemExit) as exit_:
        example.parse_args(["--tables", "2,7"])
    assert exit_.value.code == 2 and "--tables takes some of 2,3,4,5,baselines,noisy" in capsys.readouterr().err


@pytest.mark.parametrize("minutes", ["-1", "0", "nan", "inf"])
def test_a_noisy_budget_that_is_not_a_positive_number_is_refused(example, capsys, minutes):
    with pytest.raises(SystemExit) as exit_:
        example.parse_args(["--tables", "noisy", "--noisy-minutes", minutes])
    assert exit_.value.code == 2 and "--noisy-minutes must be a finite number > 0" in capsys.readouterr().err


def test_plan_of_the_baselines_table_uses_the_recipe_of_the_best_run(example):
    exps = example.plan(["baselines"], example.Budget())
    cells = {e.settings["ansatz"] + f"-{e.settings['blocks']}b-{e.settings['qubits']}q": e for e in exps}
    assert set(cells) == {"reupload-2b-9q", "reupload-4b-9q", "product-2b-9q", "classical-2b-9q", "none-2b-9q"}
    for e in exps:
        assert e.table == "baselines" and e.robustness and e.evaluate_of is None
        assert {k: e.settings[k] for k in ("epochs", "lr", "schedule", "init")} == \
            {"epochs": 74, "lr": 0.02, "schedule": "onecycle", "init": "uniform_2pi"}


def test_a_results_file_written_before_the_baselines_budget_existed_stays_valid(example):
    """The default budget is recorded as before (no epochs_baselines key), so earlier cells are kept."""
    assert "epochs_baselines" not in example.budget_record(example.Budget())
    assert example.budget_record(example.Budget(epochs_baselines=10))["epochs_baselines"] == 10


def test_smoke_baselines_record_accuracy_parameters_time_and_robustness(example, tmp_path, capsys):
    from qsnn_qiskit.data.corruptions import CORRUPTIONS, LEVELS

    args = ["--smoke", "--tables", "baselines", "--out", str(tmp_path), "--run-root", str(tmp_path / "runs")]
    done = example.main(args)
    assert set(done) == set(example.BASELINES)
    for cell in done.values():
        assert 0 <= cell["val_acc"] <= 1 and cell["seconds"] > 0 and cell["params"] > 0
        assert set(cell["robustness"]) == {"clean", *CORRUPTIONS}
        assert all(set(cell["robustness"][c]) == {str(level) for level in LEVELS} for c in CORRUPTIONS)
    assert done["bl-classical-2b-9q"]["params"] == done["bl-product-2b-9q"]["params"] \
        == done["bl-reupload-2b-9q"]["params"]   # the classical layer has exactly the circuit's weight count
    md = (tmp_path / "paper_tables_smoke.md").read_text()
    assert "## Baselines: does the circuit help?" in md and "| classical layer of 2b-9q's shape | " in md
    capsys.readouterr()
    example.main(args)
    assert "5 already recorded" in capsys.readouterr().out


NOISY_ORDER = ("2b-9q", "2b-18q", "4b-9q", "4b-18q")


def test_plan_of_the_noisy_table_runs_cheap_variants_first_with_the_recipe_of_the_best_run(example):
    exps = example.plan(["noisy"], example.Budget())
    keys = [e.key for e in exps]
    assert len(keys) == len(set(keys)) == 4 * (1 + 3 + 9) + 3   # the sweep's factor 1 is a matrix cell
    assert [e.key for e in exps if e.calibrate] == [f"noisy-{v}-calibration" for v in NOISY_ORDER]
    trained = [e for e in exps if e.epochs_from]
    assert [e.key for e in trained] == [f"noisy-{v}-{n}" for v in NOISY_ORDER for n in ("paper", "reference", "none")]
    assert keys[:4] == ["noisy-2b-9q-calibration", "noisy-2b-9q-paper", "noisy-2b-9q-reference", "noisy-2b-9q-none"]
    variants = [e.row.split()[0] for e in exps]
    assert [v for i, v in enumerate(variants) if i == 0 or variants[i - 1] != v] == list(NOISY_ORDER)   # in turn
    best = example.plan(["baselines"], example.Budget())[0].settings
    for e in trained:
        assert e.epochs_from == f"noisy-{e.row.split()[0]}-calibration" and e.reuse == (e.settings["noise"] is None)
        assert {k: e.settings[k] for k in ("epochs", "lr", "schedule", "init")} == \
            {k: best[k] for k in ("epochs", "lr", "schedule", "init")}
        assert (e.settings["blocks"], e.settings["qubits"]) == example.VARIANTS[e.row.split()[0]]
    evaluated = [e for e in exps if e.evaluate_of]
    assert all(e.images == 2000 and keys.index(e.evaluate_of) < keys.index(e.key) for e in evaluated)
    assert all(keys.index(e.epochs_from) < keys.index(e.key) for e in trained)
    doubled = next(e for e in evaluated if e.key == "noisy-2b-9q-none@paper-x2").settings["noise"]
    paper = example.NoiseSpec.paper()
    assert doubled == replace(paper, bit_flip=0.04, depolarizing=0.06, amplitude_damping=0.04)
    assert next(e for e in evaluated if e.key == "noisy-2b-9q-paper@none").settings == {"noise": None}
    assert not any(e.table == "noisy" for e in example.plan(["2", "3", "4", "5", "baselines"], example.Budget()))


def test_epochs_fill_the_budget_within_one_and_the_recipe(example):
    assert example.epochs_within(1800, 100, 74) == 18
    assert example.epochs_within(1800, 20, 74) == 74
    assert example.epochs_within(1800, 5000, 74) == 1


def test_calibration_plans_the_epochs_under_the_slower_preset(example, monkeypatch):
    seconds = {"paper": 120.0, "reference": 60.0}
    monkeypatch.setattr(example, "estimate_epoch_seconds", lambda settings, data, steps: seconds[settings.noise])
    exp = example.plan(["noisy"], example.Budget())[0]
    cell = example._calibrate(exp, example.TrainSettings(), None, example.Budget(noisy_minutes=30))
    assert cell["epoch_seconds"] == seconds and cell["budget_seconds"] == 1800 and cell["epochs"] == 15


def test_a_recorded_noiseless_run_of_the_same_settings_stands_in_for_the_twin(example, tmp_path):
    budget, base = example.Budget(), example.TrainSettings()
    twin = next(e for e in example.plan(["noisy"], budget) if e.key == "noisy-2b-9q-none")
    settings = replace(base, **twin.settings)   # 74 epochs, as the calibration below
    recorded = {**asdict(settings.resolved()), "head": "linear", "run_dir": "elsewhere"}
    done = {"noisy-2b-9q-calibration": {"epochs": 74},
            "bl-reupload-2b-9q": {"val_acc": 0.85, "epochs": 74, "seconds": 2000.0, "settings": recorded}}
    assert example._recorded_run(done, settings, tmp_path) is None          # its checkpoint is not here
    (tmp_path / "bl-reupload-2b-9q" / "checkpoints").mkdir(parents=True)
    (tmp_path / "bl-reupload-2b-9q" / "checkpoints" / "last.pt").touch()
    assert example._recorded_run(done, replace(settings, epochs=73), tmp_path) is None
    assert example._recorded_run(done, replace(settings, limit=512), tmp_path) is None
    cell = example._run(twin, done, base, None, budget, tmp_path)
    assert cell["reused"] == "bl-reupload-2b-9q" and cell["val_acc"] == 0.85 and cell["seconds"] == 0


def test_noisy_markdown_shows_the_twin_the_paper_a_stopped_run_the_matrix_and_the_sweep(example):
    exps = example.plan(["noisy"], example.Budget())
    done = {"noisy-2b-9q-calibration": {"epoch_seconds": {"paper": 30.0, "reference": 24.0}, "epochs": 10},
            "noisy-2b-9q-paper": {"val_acc": 0.7, "epochs": 3, "seconds": 60.0, "images": 8000,
                                  "settings": {"epochs": 10}},
            "noisy-2b-9q-none": {"val_acc": 0.8, "reused": "bl-reupload-2b-9q", "seconds": 0.0},
            "noisy-2b-9q-paper@reference": {"val_acc": 0.25}, "noisy-2b-9q-none@paper-x0.25": {"val_acc": 0.5}}
    meta = {"smoke": False, "data": "8000 training / 2000 validation images", "command": "python x", "seconds": 60.0,
            "machine": {"cpu": "cpu", "cores": 2, "torch_threads": 1, "gpu": None},
            "budget": example.budget_record(example.Budget()), "seed": 7}
    md = example.markdown(done, exps, meta)
    assert "## Table 4 at a real budget: trained under noise" in md and "- seed of every run: 7" in md
    assert "| 2b-9q | paper | 70.00 | 80.00 (reused bl-reupload-2b-9q) | 82.67 | 84.03 | 3 of 10 | 0.5 | 1.0 | 8000 |" \
        in md
    assert "| 4b-18q | reference | - | - | 84.70 | 88.32 |  |  |  |  |" in md
    for preset in ("paper", "reference"):
        assert f"- `{preset}`: {example.NoiseSpec.parse(preset).describe()}" in md
    assert "### 2b-9q: trained under (rows) x evaluated under (columns)" in md
    assert "| paper | - | - | 25.00 |" in md
    assert "| 0.25 | 0.005 | 0.0075 | 0.005 | 0 | 50.00 |" in md and "| 2 | 0.04 | 0.06 | 0.04 | 0 | - |" in md


def test_smoke_noisy_table_and_a_resume_trains_the_recorded_epochs(example, tmp_path, capsys, monkeypatch):
    args = ["--smoke", "--tables", "noisy", "--out", str(tmp_path), "--run-root", str(tmp_path / "runs")]
    done = example.main(args)
    assert list(done) == [e.key for e in example.plan(["noisy"], example.SMOKE)]
    assert set(done["noisy-2b-9q-calibration"]["epoch_seconds"]) == {"paper", "reference"}
    for variant in NOISY_ORDER:
        assert done[f"noisy-{variant}-calibration"]["epochs"] == 1
        assert {done[f"noisy-{variant}-{n}"]["settings"]["noise"] for n in ("paper", "reference", "none")} == \
            {"paper", "reference", None}
    assert all(0 <= r["val_acc"] <= 1 and r["val_images"] == 8 for k, r in done.items() if "@" in k)
    md = (tmp_path / "paper_tables_smoke.md").read_text()
    assert "## Table 4 at a real budget" in md and "### 4b-18q: trained under" in md and "| 2b-9q | paper | " in md
    assert "### Accuracy against noise strength" in md

    # killed after 2b-9q's calibration: the rerun trains the epochs it recorded and does not time again
    path = tmp_path / "paper_tables_smoke.json"
    stored = json.loads(path.read_text())
    stored["results"]["noisy-2b-9q-calibration"]["epochs"] = 2
    for key in [k for k in stored["results"] if k.startswith("noisy-2b-9q-") and "calibration" not in k]:
        del stored["results"][key]
        for run_dir in (tmp_path / "runs").glob(f"*/{key}"):
            shutil.rmtree(run_dir)
    path.write_text(json.dumps(stored))
    monkeypatch.setattr(example, "estimate_epoch_seconds", lambda *a: pytest.fail("timed again"))
    capsys.readouterr()
    done = example.main(args)
    assert f"{1 + 3 * 13} already recorded" in capsys.readouterr().out
    assert [done[f"noisy-2b-9q-{n}"]["epochs"] for n in ("paper", "reference", "none")] == [2, 2, 2]
