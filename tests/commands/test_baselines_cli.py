"""`qsnn train --ansatz product|classical|none`: the baselines train, reload with load_run to the
same outputs, and the hardware commands and noise options refuse those without a circuit (exit 2, a
message naming the ansatz and the circuits allowed, nothing written)."""
from __future__ import annotations

from pathlib import Path

import pytest

from qsnn_qiskit.cli import main
from qsnn_qiskit.data import BatchLoader
from qsnn_qiskit.training import TrainSettings, evaluate, load_run, run_dataset, rundir

from support import TINY_FLAGS

BASELINES = ("product", "classical", "none")
CIRCUITS = "reupload, hea, sqnn, product"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny trained run per baseline (TINY_FLAGS, 1 epoch)."""
    root = tmp_path_factory.mktemp("baselines")
    for ansatz in BASELINES:
        assert main(["train", *TINY_FLAGS, "--ansatz", ansatz, "--epochs", "1", "--run-dir", str(root / ansatz)]) == 0
    return {a: root / a for a in BASELINES}


def _files(run_dir: Path) -> set[Path]:
    return {p.relative_to(run_dir) for p in run_dir.rglob("*")}


@pytest.mark.parametrize("ansatz", BASELINES)
def test_a_trained_baseline_reloads_to_its_recorded_metrics(runs: dict[str, Path], ansatz: str) -> None:
    model, config = load_run(runs[ansatz])
    assert config["model_config"]["ansatz"] == ansatz
    assert (model.quantum is None) == (ansatz != "product")
    data = run_dataset(config)
    result = evaluate(model, BatchLoader(data.val, 64), data.n_classes)
    last = rundir.read_metrics(runs[ansatz])[-1]
    assert result.accuracy == pytest.approx(last["val_acc"], abs=1e-9)
    assert result.loss == pytest.approx(last["val_loss"], rel=1e-5)
    TrainSettings(**config["settings"]).resolved()   # what --resume validates: the stored settings pass


@pytest.mark.parametrize("ansatz", ["classical", "none"])
@pytest.mark.parametrize("command", [["transpile", "--target", "fake_torino"],
                                     ["submit", "--target", "fake_torino", "--limit", "4"]])
def test_hardware_commands_refuse_a_run_without_a_circuit(runs: dict[str, Path], ansatz: str, command: list[str],
                                                          capsys: pytest.CaptureFixture) -> None:
    before = _files(runs[ansatz])
    assert main([command[0], str(runs[ansatz]), *command[1:]]) == 2
    err = capsys.readouterr().err
    assert f"qsnn {command[0]}: error: {runs[ansatz]} was trained with --ansatz {ansatz}, which has no circuit" in err
    assert f"--ansatz is a circuit: {CIRCUITS}" in err and "Traceback" not in err
    assert _files(runs[ansatz]) == before


def test_the_product_run_transpiles_without_two_qubit_gates(runs: dict[str, Path],
                                                            capsys: pytest.CaptureFixture) -> None:
    assert main(["transpile", str(runs["product"]), "--target", "fake_torino", "--no-draw"]) == 0
    assert "0 two-qubit gates" in capsys.readouterr().out


@pytest.mark.parametrize("flags, match", [
    (["--ansatz", "classical", "--noise", "reference"],
     f"--noise reference: --ansatz classical has no circuit to put noise on; noisy training needs a circuit "
     f"ansatz: {CIRCUITS}"),
    (["--ansatz", "none", "--noise-backend", "fake_torino"],
     "--noise-backend fake_torino: --ansatz none has no circuit"),
    (["--ansatz", "classical", "--engine", "aer"],
     f"--engine aer: --ansatz classical has no circuit, so it runs on the torch engine only (give --engine torch "
     f"or leave it out); other engines need a circuit ansatz: {CIRCUITS}"),
    (["--ansatz", "quantum"], f"unknown --ansatz 'quantum'; known: {CIRCUITS}, classical, none"),
    (["--model", "dsqnet", "--ansatz", "classical"], f"unknown --ansatz 'classical'; known: {CIRCUITS}"),
])
def test_baseline_flags_that_need_a_circuit_exit_2_and_create_nothing(tmp_path: Path, flags: list[str], match: str,
                                                                      capsys: pytest.CaptureFixture) -> None:
    run_dir = tmp_path / "run"
    assert main(["train", *TINY_FLAGS, "--run-dir", str(run_dir), *flags]) == 2
    assert match in capsys.readouterr().err
    assert not run_dir.exists()


def test_evaluate_on_another_engine_refuses_a_classical_run(runs: dict[str, Path],
                                                            capsys: pytest.CaptureFixture) -> None:
    assert main(["evaluate", str(runs["classical"]), "--engine", "aer"]) == 2
    assert "ansatz 'classical' has no circuit" in capsys.readouterr().err


def test_train_help_describes_the_baselines(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "product (product: reupload without entanglers)" in text
    assert "classical, a classical tanh layer" in text and "none, no layer at all" in text
