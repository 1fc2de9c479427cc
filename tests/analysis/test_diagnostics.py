"""Gradient diagnostics: exact per-draw gradients, the variance, the head="none" model, the recording
training loop and the benchmark script's smoke run."""
import copy
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qsnn_qiskit import SQDRCNN
from qsnn_qiskit.analysis.diagnostics import (GradientVarianceRecorder, decay_slope, initial_weights,
                                              train_with_gradient_variance, variance, variance_vs_qubits,
                                              weight_gradients, with_observable)
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.data import BatchLoader, load_dataset
from qsnn_qiskit.models import count_trainable


def _energy(ansatz, x: np.ndarray, w: np.ndarray) -> float:
    """E = mean of the observables' expectation values, with Qiskit's Statevector on the bound circuit."""
    state = Statevector(ansatz.assign(x, w))
    return float(np.mean([state.expectation_value(o).real for o in ansatz.observables]))


@pytest.mark.parametrize("observable", ["z0", "mean_z", "global_z"])
def test_weight_gradients_match_parameter_shift_on_statevector(observable):
    ansatz = with_observable(build_ansatz("reupload", 3, 2), observable)
    g = torch.Generator().manual_seed(0)
    weights = initial_weights("uniform_2pi", 2, ansatz.n_weights, g)
    inputs = torch.rand(2, ansatz.n_inputs, generator=g, dtype=torch.float64)
    grads = weight_gradients(ansatz, inputs, weights, chunk_size=1).numpy()   # chunks must not matter
    expected = np.zeros_like(grads)
    for r in range(2):
        x, w = inputs[r].numpy(), weights[r].numpy()
        for k in range(ansatz.n_weights):   # every weight is one RZ/RY angle: the shift rule is exact
            shift = np.zeros_like(w)
            shift[k] = math.pi / 2
            expected[r, k] = (_energy(ansatz, x, w + shift) - _energy(ansatz, x, w - shift)) / 2
    assert np.abs(expected).max() > 0.05   # not a vanishing case
    np.testing.assert_allclose(grads, expected, atol=1e-10, rtol=0)


def test_variance_is_the_population_variance_over_all_entries():
    assert variance(torch.tensor([[1.0, 2.0], [3.0, 4.0]])) == pytest.approx(1.25)   # (2.25+0.25)*2 / 4
    assert variance(torch.full((5,), 7.0)) == 0.0
    with pytest.raises(ValueError, match="empty"):
        variance(torch.zeros(0))


def test_decay_slope_recovers_an_exponential_rate():
    qubits = [2, 4, 6, 8]
    assert decay_slope(qubits, [3.0 * math.exp(-0.7 * n) for n in qubits]) == pytest.approx(-0.7)
    with pytest.raises(ValueError, match="at least two"):
        decay_slope([2], [0.1])


def test_variance_vs_qubits_is_the_variance_of_the_first_weights_gradient():
    result = variance_vs_qubits([2, 3], schemes=["uniform_1"], blocks=1, draws=8, observable="z0", seed=5)
    g = torch.Generator().manual_seed(5)   # the same draws, in the same order
    expected = []
    for n in (2, 3):
        ansatz = with_observable(build_ansatz("reupload", n, 1), "z0")
        w = initial_weights("uniform_1", 8, ansatz.n_weights, g)
        x = torch.rand(8, ansatz.n_inputs, generator=g, dtype=torch.float64)
        shift = np.eye(ansatz.n_weights)[0] * math.pi / 2
        d = np.array([(_energy(ansatz, xi, wi + shift) - _energy(ansatz, xi, wi - shift)) / 2
                      for xi, wi in zip(x.numpy(), w.numpy())])
        assert ((w >= 0) & (w <= 1)).all()
        expected.append(float(np.mean((d - d.mean()) ** 2)))
    np.testing.assert_allclose(result["uniform_1"], expected, rtol=1e-9)


def test_head_none_logits_are_the_circuits_first_outputs():
    model = SQDRCNN(n_qubits=4, blocks=1, n_classes=3, seed=2, head="none").eval()
    with torch.no_grad():
        for m in model.encoder.modules():   # strong weights so that the spike rates differ from 0
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.abs_().mul_(3.0)
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(images)
        rates = model.encoder(images)
    assert rates.abs().sum() > 0
    ansatz = model.quantum.ansatz
    w = model.quantum.weight.detach().numpy()
    expected = [[Statevector(ansatz.assign(r, w)).expectation_value(ansatz.observables[j]).real for j in range(3)]
                for r in rates.numpy()]
    np.testing.assert_allclose(logits.numpy(), expected, atol=1e-6, rtol=0)   # float32 logits
    assert not any(k.startswith("head.") for k in model.state_dict())
    assert count_trainable(model) == count_trainable(model.encoder) + 12


def test_head_none_needs_as_many_outputs_as_classes_and_heads_are_named():
    with pytest.raises(ValueError, match=r"n_classes=10.*has 9\. Use n_qubits >= 10"):
        SQDRCNN(n_qubits=9, blocks=1, n_classes=10, head="none")
    with pytest.raises(ValueError, match="unknown head 'mlp'; known: linear, none"):
        SQDRCNN(n_qubits=2, blocks=1, n_classes=2, head="mlp")
    assert [k for k in SQDRCNN(n_qubits=2, blocks=1, n_classes=2).state_dict() if k.startswith("head.")] == \
        ["head.weight", "head.bias"]


def test_recorder_sees_each_backward_once_before_accumulation():
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0, 4.0]))
    with GradientVarianceRecorder(w) as recorder:
        (w ** 2).sum().backward()           # grad 2w = [2, 4, 8]
        (w * torch.tensor([1.0, 1.0, 1.0])).sum().backward()   # grad [1, 1, 1], .grad now accumulates
    (w ** 2).sum().backward()               # after removal: not recorded
    assert recorder.values == pytest.approx([variance(torch.tensor([2.0, 4.0, 8.0])), 0.0])


def test_training_loop_records_one_variance_per_step():
    torch.manual_seed(0)
    data = load_dataset("default", classes=[0, 1, 2], limit=40)
    model = SQDRCNN(n_qubits=3, blocks=1, n_classes=3, seed=0, head="none")
    train, val = BatchLoader(data.train, 16), BatchLoader(data.val, 64)   # 3 steps per epoch, fixed order
    first_images, first_labels = next(iter(train))
    probe = copy.deepcopy(model)
    torch.nn.functional.cross_entropy(probe(first_images), first_labels).backward()
    history = train_with_gradient_variance(model, model.quantum.weight, train, val,
                                           torch.optim.Adam(model.parameters(), lr=0.01), 2, 3, log=None)
    assert [len(row.step_variances) for row in history] == [3, 3]
    assert history[0].step_variances[0] == pytest.approx(variance(probe.quantum.weight.grad), rel=1e-9)
    assert history[0].step_variances[0] > 0
    assert history[1].mean_variance == pytest.approx(np.mean(history[1].step_variances))
    assert all(0 <= row.val_acc <= 1 and math.isfinite(row.train_loss) for row in history)


def test_benchmark_quick_run_writes_its_files(tmp_path, capsys):
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "gradient_variance.py"
    spec = importlib.util.spec_from_file_location("benchmark_gradient_variance", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--quick", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"gradient_variance_{s}_quick.{e}" for s in ("mlp", "init") for e in ("json", "md", "png"))
    mlp = json.loads((tmp_path / "gradient_variance_mlp_quick.json").read_text())
    for m in mlp["models"].values():
        assert len(m["step_variances"]) == m["steps_per_epoch"] * mlp["epochs"]
    assert mlp["models"]["none"]["parameters"] < mlp["models"]["linear"]["parameters"]
    init = json.loads((tmp_path / "gradient_variance_init_quick.json").read_text())
    assert set(init["observables"]) == {"z0", "mean_z", "global_z"}
    assert all(len(v) == len(init["qubits"]) for r in init["observables"].values() for v in r["variances"].values())
    assert "Beside the paper" in (tmp_path / "gradient_variance_mlp_quick.md").read_text()
    assert (tmp_path / "gradient_variance_init_quick.png").read_bytes()[:4] == b"\x89PNG"
