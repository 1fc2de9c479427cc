"""examples/reproduce_paper.py: the plan covers the paper's tables, the smoke run writes every table
beside the paper's numbers, and a second run resumes from what was recorded instead of redoing it."""
from __future__ import annotations

import importlib.util
import json
import sys
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
    assert exit_.value.code == 2 and "--tables takes some of 2,3,4,5,baselines" in capsys.readouterr().err


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
