"""examples/train_aer_gpu_noisy.py: its smoke run trains on Aer under noise and agrees with the torch
engine; asking for a GPU that Aer does not offer is a clear usage error."""
import importlib.util
import math
from pathlib import Path

import pytest
from qiskit_aer import AerSimulator

HAS_GPU = "GPU" in AerSimulator().available_devices()


def _example():
    path = Path(__file__).resolve().parents[2] / "examples" / "train_aer_gpu_noisy.py"
    spec = importlib.util.spec_from_file_location("example_train_aer_gpu_noisy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_trains_noisy_on_aer_and_agrees_with_the_torch_engine(capsys):
    result = _example().main(["--smoke"])
    out = capsys.readouterr().out
    assert len(result["history"]) == 1
    row = result["history"][0]
    assert math.isfinite(row["train_loss"]) and math.isfinite(row["val_loss"])
    assert 0 <= row["train_acc"] <= 1 and 0 <= row["val_acc"] <= 1
    assert result["device"] == ("GPU" if HAS_GPU else "CPU")
    assert result["aer_vs_torch"] < 1e-4 and result["aer_vs_torch_logits"] < 1e-4
    assert "epoch 1/1: train loss" in out
    assert "exact density matrix" in out and "bit_flip=0.02,depolarizing=0.03,amplitude_damping=0.02" in out
    assert f"max |<Z_j> difference| {result['aer_vs_torch']:.2e}" in out
    if not HAS_GPU:
        assert "simulating on the CPU" in out


@pytest.mark.skipif(HAS_GPU, reason="this Aer build has a GPU device")
def test_device_gpu_without_aer_gpu_is_a_clear_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        _example().parse_args(["--smoke", "--device", "GPU"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "pip install qiskit-aer-gpu" in err and "--device CPU" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("noise, words", [("bitflip=0.1", "--noise"), ("reference", "Aer cannot express")])
def test_bad_noise_is_refused_before_training(capsys, noise, words):
    with pytest.raises(SystemExit) as exc:
        _example().parse_args(["--smoke", "--noise", noise])
    assert exc.value.code == 2
    assert words in capsys.readouterr().err
