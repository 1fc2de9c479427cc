"""`qsnn train` and `qsnn evaluate`: help, refusal of bad values, TOML configs, evaluation output,
and a run killed with SIGKILL mid-epoch that resumes to the same metrics as an uninterrupted run."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qsnn_qiskit.cli import main
from qsnn_qiskit.training import load_run, rundir

from support import ROOT, TINY_FLAGS, run_metrics

TINY = TINY_FLAGS


@pytest.mark.parametrize("command, flags", [
    ("train", ["--dataset", "--resume", "--config", "--optimizer", "--init", "--classes", "--download"]),
    ("evaluate", ["RUN_DIR", "--dataset", "--data-dir"]),
])
def test_help(command: str, flags: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert all(flag in text for flag in flags)


@pytest.mark.parametrize("flags, match", [
    (["--epochs", "0"], "--epochs must be an integer >= 1"),
    (["--batch-size", "-1"], "--batch-size must be an integer >= 1"),
    (["--optimizer", "rmsprop"], "unknown --optimizer 'rmsprop'"),
    (["--classes", "a,b"], "--classes"),
    (["--dataset", "mnist", "--data-dir", "DATA_MISSING"], "--download"),
    (["--noise", "bit_flip=2"], "bit_flip must be in [0, 1]; got 2.0"),
    (["--noise", "flips=0.1"], "bit_flip"),
    (["--noise-backend", "fake_mars"], "unknown --noise-backend 'fake_mars'; known: fake_aachen"),
    (["--noise", "bit_flip=0.1", "--noise-backend", "fake_torino"], "not both"),
    (["--noise", "placement=everywhere"], "unknown NoiseSpec.placement 'everywhere'; allowed: 'gates'"),
    (["--noise", "reference,after_entanglers=first_wire"], "unknown NoiseSpec.after_entanglers 'first_wire'"),
    (["--engine", "aer", "--noise", "reference"], "engine 'aer' cannot express amplitude damping"),
    (["--engine", "runtime", "--noise", "paper"], "engine 'runtime' cannot add noise"),
])
def test_bad_values_exit_2_and_create_nothing(tmp_path: Path, flags: list[str], match: str,
                                             capsys: pytest.CaptureFixture) -> None:
    run_dir = tmp_path / "run"
    flags = [str(tmp_path / "nodata") if f == "DATA_MISSING" else f for f in flags]
    try:
        status = main(["train", *TINY, "--run-dir", str(run_dir), *flags])
    except SystemExit as exit_info:   # argparse refuses a value it cannot convert
        status = exit_info.code
    assert status == 2
    assert match in capsys.readouterr().err
    assert not run_dir.exists()


@pytest.mark.parametrize("flags", [["--noise", "damping=input"], ["--engine", "aer", "--noise", "reference"]])
def test_bad_noise_is_one_line_without_traceback(tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture) -> None:
    assert main(["train", *TINY, "--run-dir", str(tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qsnn train: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_noise_help_says_what_each_preset_applies(capsys: pytest.CaptureFixture) -> None:
    from qsnn_qiskit import NoiseSpec
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for preset in (NoiseSpec.paper(), NoiseSpec.reference()):
        assert " ".join(preset.describe().split()) in text


def test_toml_config_and_flag_precedence(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('epochs = 1\nlearning-rate = 0.1\n')
    assert main(["train", "--config", str(bad), "--run-dir", str(tmp_path / "x")]) == 2
    assert "learning-rate" in capsys.readouterr().err and not (tmp_path / "x").exists()

    good = tmp_path / "good.toml"
    good.write_text('epochs = 0\nbatch-size = 6\noptimizer = "adamw"\nclasses = [0, 1, 2]\n')
    run_dir = tmp_path / "run"
    assert main(["train", "--config", str(good), *TINY, "--epochs", "1", "--run-dir", str(run_dir)]) == 0
    settings = rundir.read_config(run_dir)["settings"]
    assert (settings["epochs"], settings["batch_size"], settings["optimizer"]) == (1, 8, "adamw")

    # a second run into the same folder is refused; --resume takes no other settings
    assert main(["train", *TINY, "--epochs", "1", "--run-dir", str(run_dir)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(run_dir), "--epochs", "5"]) == 2
    assert "drop --epochs" in capsys.readouterr().err

    # evaluate reproduces the last epoch's validation accuracy and prints a full confusion matrix
    assert main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    val_acc = rundir.read_metrics(run_dir)[-1]["val_acc"]
    assert f"accuracy {100 * val_acc:.2f}%" in out
    assert "per-class accuracy" in out and "confusion matrix" in out
    matrix = [line.split()[1:] for line in out.splitlines()[-3:]]
    n_val = rundir.read_config(run_dir)["data"]["n_val"]
    assert sum(int(v) for row in matrix for v in row) == n_val


def test_noisy_training_stores_its_noise_and_reloads_on_aer(tmp_path: Path) -> None:
    """A noisy run keeps its noise in config.json; the trained model gives the same outputs on the
    torch engine and on Aer's exact density matrix, and differs from the same weights without noise."""
    import torch
    run_dir = tmp_path / "noisy"
    noise = "bit_flip=0.05,depolarizing=0.05,amplitude_damping=0.05"
    assert main(["train", *TINY, "--engine", "torch", "--epochs", "1", "--run-dir", str(run_dir), "--noise", noise]) == 0
    fast, config = load_run(run_dir)
    assert config["model_config"]["noise"] == noise
    aer, _ = load_run(run_dir, engine="aer")
    clean, _ = load_run(run_dir, noise=None)
    x = torch.rand(3, fast.quantum.ansatz.n_inputs, dtype=torch.float64)
    noisy_out = fast.quantum(x).detach()
    assert torch.allclose(noisy_out, aer.quantum(x).detach(), atol=1e-5)
    assert (noisy_out - clean.quantum(x).detach()).abs().max() > 1e-4


def test_noise_backend_trains_under_the_device_noise_of_its_target(tmp_path: Path, capsys) -> None:
    """--noise-backend stores device noise: the target's circuit on its physical qubits (exactness
    against Aer: tests/engines/test_device_noise.py); Aer refuses it, and --engine aer beside it is
    refused before any work."""
    import torch
    run_dir = tmp_path / "device"
    assert main(["train", *TINY, "--epochs", "1", "--run-dir", str(run_dir), "--noise-backend", "fake_torino"]) == 0
    model, config = load_run(run_dir)
    assert config["model_config"]["noise"] == "device:fake_torino"
    assert model.quantum._engine.device_noise.pack == "cones"
    clean, _ = load_run(run_dir, noise=None)
    x = torch.rand(3, model.quantum.ansatz.n_inputs, dtype=torch.float64)
    assert (model.quantum(x).detach() - clean.quantum(x).detach()).abs().max() > 1e-4
    with pytest.raises(ValueError, match="engine 'aer' does not train under device noise"):
        load_run(run_dir, engine="aer")
    capsys.readouterr()
    assert main(["train", *TINY, "--engine", "aer", "--noise-backend", "fake_torino", "--run-dir",
                 str(tmp_path / "no")]) == 2
    assert "--noise-backend fake_torino trains on engine torch only" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


def test_evaluate_refuses_a_non_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a qsnn run directory" in capsys.readouterr().err


def _train_cmd(run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "qsnn_qiskit.cli", "train", *extra, "--run-dir", str(run_dir)]


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    flags = [*TINY, "--limit", "96", "--batch-size", "4", "--epochs", "3"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(killed, *flags), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    # the first epoch's line comes after its checkpoint; kill 40% of an epoch's time later
    line = ""
    while not line.startswith("epoch 1/3:") and proc.poll() is None:
        line = proc.stdout.readline()
    assert (killed / rundir.CHECKPOINT).is_file(), line
    time.sleep(0.4 * float(re.search(r"\(([\d.]+) s,", line).group(1)))
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = run_metrics(killed)
    assert 1 <= len(before) < 3

    done = subprocess.run([sys.executable, "-m", "qsnn_qiskit.cli", "train", "--resume", str(killed),
                           "--no-progress"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"resuming {killed} after epoch {len(before)}" in done.stdout
    after = run_metrics(killed)
    assert after[:len(before)] == before and len(after) == 3

    whole = tmp_path / "whole"
    subprocess.run(_train_cmd(whole, *flags), cwd=ROOT, env=env, capture_output=True, check=True, timeout=120)
    assert after == run_metrics(whole)
    assert (killed / rundir.CONFUSION_PLOT).is_file()
