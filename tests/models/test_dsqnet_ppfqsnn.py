"""DSQ-Net and PPF-QSNN: shapes, the frozen pretrained part, the spiking-MLP checkpoint, the fusion."""
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qsnn_qiskit import PPFQSNN, DSQNet
from qsnn_qiskit.engines import ENGINES
from qsnn_qiskit.models import SpikingMLP, build_model, pretrain_spiking_mlp

ENGINE = "torch" if "torch" in ENGINES else "aer"


def _images(n: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _trained_looking_mlp(seed: int = 0, **config) -> SpikingMLP:
    """A SpikingMLP whose hidden neurons fire at varied rates on random images."""
    torch.manual_seed(seed)
    mlp = SpikingMLP(n_classes=5, **config)
    with torch.no_grad():
        mlp.features.fc.weight.mul_(4.0)
    return mlp


def _if_rates(currents: torch.Tensor, T: int, threshold: float) -> torch.Tensor:
    """Integrate-and-fire with a constant current, reset to 0, written out: spike count / T."""
    v = torch.zeros_like(currents)
    count = torch.zeros_like(currents)
    for _ in range(T):
        v = v + currents
        spike = (v > threshold).to(currents.dtype)
        count += spike
        v = v * (1 - spike)
    return count / T


def _dressed_reference(dressed, features: torch.Tensor) -> torch.Tensor:
    """post_net(<Z_i>(tanh(pre_net(features)) * pi/2, weights)) with Qiskit's Statevector."""
    ansatz = dressed.quantum.ansatz
    angles = (torch.tanh(dressed.pre_net(features)) * math.pi / 2).detach().numpy()
    weights = dressed.quantum.weight.detach().numpy()
    z = [[Statevector(ansatz.assign(a, weights)).expectation_value(op).real for op in ansatz.observables]
         for a in angles]
    return dressed.post_net(torch.tensor(np.array(z), dtype=torch.float32))


def test_defaults_give_working_models_on_28x28_images():
    images = _images()
    assert DSQNet(n_classes=5)(images).shape == (3, 5)
    assert PPFQSNN(n_classes=10)(images).shape == (3, 10)


def test_spiking_features_are_integrate_and_fire_rates_of_the_linear_currents():
    mlp = _trained_looking_mlp(T=10, threshold=1.0)
    images = _images(4)
    rates = mlp.features(images)
    expected = _if_rates(mlp.features.fc(images.flatten(1)), T=10, threshold=1.0)
    torch.testing.assert_close(rates, expected, atol=1e-6, rtol=0)
    assert 0 < rates.mean() < 1   # neither silent nor saturated, so the test says something


@pytest.mark.parametrize("engine", sorted({"aer", ENGINE}))
def test_dsqnet_forward_is_the_dressed_circuit_on_the_spike_rates(engine):
    mlp = _trained_looking_mlp()
    model = DSQNet(n_classes=5, pretrained=mlp, n_qubits=3, blocks=2, seed=1, engine=engine)
    images = _images(2)
    expected = _dressed_reference(model.dressed, mlp.features(images))
    torch.testing.assert_close(model(images), expected, atol=1e-5, rtol=0)


def test_backward_reaches_the_dressed_net_but_not_the_frozen_pretrained_part():
    mlp = _trained_looking_mlp()
    before = {k: v.clone() for k, v in mlp.state_dict().items()}
    model = DSQNet(n_classes=5, pretrained=mlp, n_qubits=3, blocks=1, seed=0, engine=ENGINE)
    model.train()
    assert not model.features.training and model.dressed.training
    frozen = {k: v.clone() for k, v in model.features.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1, weight_decay=1e-2)
    loss = torch.nn.functional.cross_entropy(model(_images(4)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for p in (model.dressed.quantum.weight, model.dressed.pre_net.weight, model.dressed.post_net.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert all(not p.requires_grad and p.grad is None for p in model.features.parameters())
    quantum_before = model.dressed.quantum.weight.detach().clone()
    optimizer.step()
    for k, v in model.features.state_dict().items():
        assert torch.equal(v, frozen[k])
    assert not torch.equal(model.dressed.quantum.weight, quantum_before)
    # the caller's model is left as it was: trainable, same weights
    assert all(p.requires_grad for p in mlp.parameters())
    assert all(torch.equal(v, before[k]) for k, v in mlp.state_dict().items())


def test_unfrozen_dsqnet_trains_its_spiking_part_end_to_end():
    model = DSQNet(n_classes=5, pretrained=_trained_looking_mlp(), freeze=False, n_qubits=3, blocks=1,
                   engine=ENGINE)
    model.train()
    assert model.features.training
    torch.nn.functional.cross_entropy(model(_images(4)), torch.tensor([0, 1, 2, 3])).backward()
    assert model.features.fc.weight.grad.abs().sum() > 0


def test_spiking_mlp_checkpoint_round_trip_and_dsqnet_loads_it(tmp_path):
    mlp = _trained_looking_mlp(T=6, coding="phase", hidden=32)
    path = tmp_path / "snn.pt"
    mlp.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["snn.pt"]   # no temporary file left
    loaded = SpikingMLP.load(path)
    assert loaded.config == mlp.config
    images = _images(2)
    torch.testing.assert_close(loaded(images), mlp(images), atol=0, rtol=0)
    model = DSQNet(n_classes=5, pretrained=str(path), T=6, coding="phase", hidden=32, n_qubits=2,
                   engine=ENGINE)
    for k, v in mlp.features.state_dict().items():
        assert torch.equal(model.features.state_dict()[k], v)
    with pytest.raises(ValueError, match=r"hidden=32 \(DSQNet was given 128\)"):
        DSQNet(pretrained=path, T=6, coding="phase", n_qubits=2, engine=ENGINE)


def test_corrupted_foreign_and_missing_checkpoints_are_refused(tmp_path):
    good = tmp_path / "good.pt"
    SpikingMLP(hidden=8).save(good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": SpikingMLP(hidden=8).state_dict()}, foreign)
    for path in (truncated, garbage):
        with pytest.raises(ValueError, match="corrupted or not a spiking MLP checkpoint"):
            SpikingMLP.load(path)
    with pytest.raises(ValueError, match="no 'qsnn-spiking-mlp' marker"):
        DSQNet(pretrained=foreign, hidden=8)
    with pytest.raises(FileNotFoundError):
        SpikingMLP.load(tmp_path / "missing.pt")


def _ppf(alpha: float, learn_alpha: bool = False) -> PPFQSNN:
    return PPFQSNN(n_classes=4, alpha=alpha, learn_alpha=learn_alpha, n_qubits=2, blocks=1, seed=3,
                   engine=ENGINE)


@pytest.mark.parametrize("alpha", [1.0, 0.0, 0.3])
def test_ppf_output_is_the_alpha_mix_of_the_branches_run_separately(alpha):
    model = _ppf(alpha)
    images = _images(3)
    torch.manual_seed(7)   # rate coding draws spikes: same seed, same spikes
    fused = model(images)
    torch.manual_seed(7)
    spiking = model.spiking(images)
    quantum = model.quantum(images.flatten(1))
    if alpha == 1.0:
        assert torch.equal(fused, spiking)
    elif alpha == 0.0:
        assert torch.equal(fused, quantum)
    else:
        torch.testing.assert_close(fused, alpha * spiking + (1 - alpha) * quantum)
    assert not torch.allclose(spiking, quantum)


def test_learned_alpha_gets_the_analytic_gradient():
    model = _ppf(0.25, learn_alpha=True)
    assert model.alpha.item() == pytest.approx(0.25)
    images = _images(3)
    g = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(7)
    (model(images) * g).sum().backward()
    torch.manual_seed(7)
    spiking, quantum = (t.detach() for t in model.branches(images))
    expected = 0.25 * 0.75 * (g * (spiking - quantum)).sum()
    torch.testing.assert_close(model.alpha_logit.grad, expected, atol=1e-6, rtol=1e-5)
    assert [n for n, _ in _ppf(0.25).named_parameters() if "alpha" in n] == []   # fixed: not trained


def test_registry_builds_both_from_json_configuration():
    images = _images(2)
    for name, n_classes in (("dsqnet", 5), ("ppfqsnn", 10)):
        config = json.loads(json.dumps({"n_classes": n_classes, "n_qubits": 2, "blocks": 1, "seed": 0}))
        model = build_model(name, **config)
        assert model(images).shape == (2, n_classes)
    assert build_model("dsqnet", n_classes=5)(images).shape == (2, 5)
    assert build_model("ppfqsnn", n_classes=10)(images).shape == (2, 10)


@pytest.mark.parametrize("build,error,match", [
    (lambda: PPFQSNN(alpha=1.5), ValueError, r"alpha .* in \[0, 1\]; got 1.5"),
    (lambda: PPFQSNN(alpha=0.0, learn_alpha=True), ValueError, "strictly inside"),
    (lambda: PPFQSNN(learn_alpha="yes"), TypeError, "learn_alpha"),
    (lambda: DSQNet(n_qubits=0), ValueError, "n_qubits of ansatz .[a-z]*. must be an integer >= 1; got 0"),
    (lambda: PPFQSNN(n_qubits=0), ValueError, "n_qubits of ansatz .[a-z]*. must be an integer >= 1; got 0"),
    (lambda: DSQNet(coding="morse"), ValueError, "unknown coding 'morse'"),
    (lambda: DSQNet(n_classes=1), ValueError, "n_classes must be an integer >= 2"),
    (lambda: DSQNet(pretrained=42), TypeError, "pretrained must be a SpikingMLP"),
    (lambda: SpikingMLP(threshold=0), ValueError, "threshold"),
])
def test_bad_arguments_give_clear_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_bad_images_are_refused_before_any_circuit_runs():
    model = DSQNet(n_qubits=2, engine=ENGINE)
    with pytest.raises(ValueError, match=r"C\*H\*W = 784"):
        model(torch.rand(2, 1, 14, 14))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        model(torch.rand(2, 1, 28, 28) * 3)


def test_pretraining_lowers_the_loss_on_a_separable_task():
    torch.manual_seed(0)
    dark, bright = torch.rand(16, 1, 28, 28) * 0.2, 0.8 + torch.rand(16, 1, 28, 28) * 0.2
    images, labels = torch.cat([dark, bright]), torch.tensor([0] * 16 + [1] * 16)
    loader = [(images[i::4], labels[i::4]) for i in range(4)]
    mlp = SpikingMLP(n_classes=2, hidden=16, T=5)
    losses = pretrain_spiking_mlp(mlp, loader, epochs=15, lr=1e-2)
    assert len(losses) == 15 and losses[-1] < 0.5 * losses[0]
    assert (mlp(images).argmax(1) == labels).float().mean() == 1.0


def test_fixed_alpha_is_configuration_and_state_dicts_cross_alphas():
    source, target = _ppf(0.2), _ppf(0.9)
    assert "fixed_alpha" not in source.state_dict()
    target.load_state_dict(source.state_dict())
    assert target.alpha.item() == pytest.approx(0.9)
    for k, v in source.state_dict().items():
        assert torch.equal(target.state_dict()[k], v)


def _example(name: str):
    path = Path(__file__).resolve().parents[2] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dsqnet_example_smoke(tmp_path, capsys):
    example = _example("dsqnet")
    result = example.run(example.parse_args(["--smoke"]), tmp_path)
    assert SpikingMLP.load(tmp_path / "snn.pt").config["n_classes"] == 5
    assert 0 <= result["dsqnet_accuracy"] <= 1 and 0 <= result["snn_accuracy"] <= 1
    assert "DSQNet trained" in capsys.readouterr().out


def test_ppf_example_smoke(capsys, tmp_path):
    rows = _example("ppf_qsnn").main(["--smoke", "--out", str(tmp_path / "alpha.md")])
    assert [r["alpha"] for r in rows[:3]] == [0.0, 0.5, 1.0] and len(rows) == 4
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert "| alpha | learned |" in capsys.readouterr().out
    report = (tmp_path / "alpha.md").read_text()
    assert report.count("\n| 0.") + report.count("\n| 1.") == 4          # three fixed alphas and the learned one
    assert f"| {rows[0]['accuracy']:.3f} |" in report and "- budget: 1 epoch(s)" in report


def test_dsqnet_from_the_command_line_freezes_the_spiking_mlp_trained_first(tmp_path):
    from qsnn_qiskit.cli import main
    from qsnn_qiskit.training import load_run

    data = ["--classes", "0,1,2,3,4", "--limit", "60", "--batch-size", "20", "--no-progress"]
    assert main(["train", "--model", "spikingmlp", "--epochs", "2", "--run-dir", str(tmp_path / "snn"), *data]) == 0
    assert main(["train", "--model", "dsqnet", "--pretrained", str(tmp_path / "snn"), "--qubits", "3",
                 "--blocks", "1", "--epochs", "1", "--lr", "0.01", "--run-dir", str(tmp_path / "dsq"), *data]) == 0
    snn, _ = load_run(tmp_path / "snn")
    dsq, config = load_run(tmp_path / "dsq")
    assert config["settings"]["pretrained"] == str(tmp_path / "snn")
    for name, tensor in snn.features.state_dict().items():     # frozen: exactly the pretrained weights
        assert torch.equal(dsq.features.state_dict()[name], tensor), name
    fresh = build_model("dsqnet", **config["model_config"])    # the stored config alone gives fresh features
    assert not torch.equal(fresh.features.fc.weight, dsq.features.fc.weight)


@pytest.mark.parametrize("model, pretrained, message", [
    ("sqdrcnn", "snn", "only models with a pretrained part"),
    ("dsqnet", "missing", "does not exist"),
    ("dsqnet", "dsq-run", "not a spiking MLP"),
])
def test_bad_pretrained_is_refused_before_a_run_directory_exists(tmp_path, capsys, model, pretrained, message):
    from qsnn_qiskit.cli import main

    tiny = ["--classes", "0,1,2", "--limit", "12", "--epochs", "1", "--no-progress"]
    assert main(["train", "--model", "dsqnet", "--qubits", "2", "--blocks", "1", "--run-dir",
                 str(tmp_path / "dsq-run"), *tiny]) == 0
    (tmp_path / "snn").mkdir()
    capsys.readouterr()
    assert main(["train", "--model", model, "--pretrained", str(tmp_path / pretrained), "--run-dir",
                 str(tmp_path / "new"), *tiny]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
