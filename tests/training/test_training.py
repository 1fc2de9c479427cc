"""Training: settings validation, optimisers and schedules, evaluation against a hand count,
reproducibility, exact resume, checkpoint safety, run directories and load_run."""
from __future__ import annotations

import math
import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from qsnn_qiskit.data import BatchLoader, Split, load_dataset
from qsnn_qiskit.training import (OPTIMIZERS, SCHEDULES, TrainSettings, default_engine, evaluate, load_run,
                                  resume_run, run_dataset, rundir, start_run)
from qsnn_qiskit.training.checkpoints import capture_rng, load_checkpoint, restore_rng, save_checkpoint

from support import run_metrics

TINY = dict(qubits=2, blocks=1, limit=24, epochs=3, batch_size=8, classes=[0, 1, 2])


def _settings(**changes) -> TrainSettings:
    return TrainSettings(**{**TINY, "engine": default_engine(), **changes})


@pytest.mark.parametrize("changes, match", [
    ({"epochs": 0}, "--epochs"), ({"batch_size": -1}, "--batch-size"), ({"optimizer": "lbfgs"}, "optimizer"),
    ({"lr": 0.0}, "--lr"), ({"lr": float("nan")}, "--lr"), ({"init": "zeros"}, "init"),
    ({"engine": "quantum-magic"}, "engine"), ({"model": "resnet"}, "model"), ({"device": "tpu"}, "device"),
    ({"schedule": "step"}, "schedule"), ({"dataset": "cifar"}, "dataset"), ({"qubits": 0}, "--qubits"),
    ({"classes": [2, 2]}, "distinct"), ({"seed": -1}, "--seed"), ({"head": "mlp"}, "unknown head"),
    ({"head": "none", "qubits": 2}, "needs at least n_classes=3"), ({"model": "dsqnet", "head": "none"}, "no --head"),
    ({"qubits": 10 ** 6}, "--qubits must be <= 1024"), ({"blocks": 5000}, "--blocks must be <= 1024"),
    ({"entangler": "star"}, "unknown --entangler 'star'; known: ring, chain"),
    ({"holdout": 0}, "--holdout"), ({"holdout": 10 ** 5}, "holdout 100000 must leave training images"),
    ({"entangler": "chain", "ansatz": "product"}, "--ansatz product has no entanglers"),
    ({"entangler": "chain", "ansatz": "classical"}, "--ansatz classical has no entanglers"),
    ({"entangler": "chain", "model": "spikingmlp"}, "no --entangler"),
    ({"timesteps": 0}, "--timesteps must be an integer in 1..1000"), ({"timesteps": 5000}, "--timesteps"),
    ({"augment": "rotate"}, "unknown --augment 'rotate'; known: none, flip, shift, flip[+]shift"),
])
def test_bad_settings_are_refused_before_any_work(tmp_path: Path, changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        start_run(_settings(**changes), tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("ansatz, gate", [("sqnn", "cx"), ("reupload", "cz"), (None, "cz")])
def test_entangler_chain_drops_the_ring_closing_gate(tmp_path: Path, ansatz: str | None, gate: str) -> None:
    """--entangler reaches the circuit (through the model's ansatz_options) and its run's config."""
    counts = {}
    for entangler in ("ring", "chain"):
        trainer, run_dir = start_run(_settings(qubits=4, epochs=1, ansatz=ansatz, entangler=entangler),
                                     tmp_path / entangler)
        counts[entangler] = trainer.model.quantum.ansatz.circuit.count_ops()[gate]
        assert rundir.read_config(run_dir)["model_config"]["ansatz_options"] == {"entangler": entangler}
    assert counts["ring"] - counts["chain"] == 1     # one entangling layer (blocks=1) on 4 qubits: 4 edges or 3


def test_timesteps_and_augment_reach_the_encoder_and_the_loader_and_come_back_on_resume(tmp_path: Path) -> None:
    """--timesteps is the encoder's T (rates in multiples of 1/T) and --augment the training loader's;
    a resumed run keeps both."""
    trainer, run_dir = start_run(_settings(timesteps=4, augment="shift", epochs=1), tmp_path / "run")
    assert trainer.model.encoder.T == 4 and trainer.train_loader.augment == "shift"
    rates = trainer.model.encoder(next(iter(trainer.val_loader))[0])
    assert torch.equal(rates * 4, torch.round(rates * 4))
    assert rundir.read_config(run_dir)["model_config"]["T"] == 4
    resumed = resume_run(run_dir)
    assert resumed.model.encoder.T == 4 and resumed.train_loader.augment == "shift"


def test_holdout_is_recorded_and_reloaded_with_the_run(tmp_path: Path) -> None:
    """A run with --holdout validates on the end of the training split, and so does its reload."""
    trainer, run_dir = start_run(_settings(holdout=200, epochs=1), tmp_path / "run")
    expected = load_dataset("default", classes=TINY["classes"], limit=TINY["limit"], holdout=200)
    reloaded = run_dataset(rundir.read_config(run_dir))
    for data in (trainer.data, reloaded):
        assert torch.equal(data.val.images, expected.val.images) and torch.equal(data.train.labels,
                                                                                 expected.train.labels)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_takes_a_step_that_lowers_a_quadratic(name: str) -> None:
    w = nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = OPTIMIZERS[name]([w], 0.1, 0.0)
    before = float((w.detach() ** 2).sum())
    (w ** 2).sum().backward()
    opt.step()
    assert float((w.detach() ** 2).sum()) < before


def test_defaults_follow_the_paper() -> None:
    s = TrainSettings().resolved()
    opt = OPTIMIZERS[s.optimizer]([nn.Parameter(torch.zeros(1))], s.lr, s.weight_decay)
    group = opt.param_groups[0]
    assert isinstance(opt, torch.optim.Adam) and not isinstance(opt, torch.optim.AdamW)
    assert (group["lr"], group["weight_decay"], group["betas"]) == (1e-3, 1e-3, (0.9, 0.999))
    assert TrainSettings(optimizer="sgdr").resolved().schedule == "restarts"


def _lrs(schedule: str, steps_per_epoch: int, epochs: int) -> list[float]:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = SCHEDULES[schedule](opt, 0.1, steps_per_epoch, epochs)
    lrs = []
    for _ in range(steps_per_epoch * epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
    return lrs


def test_schedules_match_their_formulas() -> None:
    spe, epochs = 4, 3
    assert _lrs("constant", spe, epochs) == [0.1] * 12
    cosine = [0.05 * (1 + math.cos(math.pi * t / 12)) for t in range(12)]
    np.testing.assert_allclose(_lrs("cosine", spe, epochs), cosine, atol=1e-12)
    # warm restarts: period 1 epoch, then 2 epochs; the rate is back at 0.1 after each restart
    restarts = [0.05 * (1 + math.cos(math.pi * t / 4)) for t in range(4)] + \
               [0.05 * (1 + math.cos(math.pi * t / 8)) for t in range(8)]
    np.testing.assert_allclose(_lrs("restarts", spe, epochs), restarts, atol=1e-12)
    onecycle = _lrs("onecycle", spe, epochs)
    assert max(onecycle) == pytest.approx(0.1, rel=0.02) and onecycle[0] < 0.01 and onecycle[-1] < 0.01


class _FixedLogits(nn.Module):
    """Logits that depend only on the first pixel: predicts class round(pixel * 3) mod 3."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        cls = (images[:, 0, 0, 0] * 3).round().long() % 3
        return nn.functional.one_hot(cls, 3).float() * 2.0


def test_evaluate_counts_like_a_hand_loop() -> None:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (23, 8, 8), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 3, (23,), generator=gen)
    model = _FixedLogits()
    result = evaluate(model, BatchLoader(Split(images, labels), 5), 3)
    expected = np.zeros((3, 3), dtype=int)
    losses = []
    for image, label in zip(images, labels):
        logits = model(image[None, None].float() / 255)
        expected[label, logits.argmax()] += 1
        losses.append(-torch.log_softmax(logits, 1)[0, label].item())
    np.testing.assert_array_equal(result.confusion, expected)
    assert result.accuracy == pytest.approx(np.trace(expected) / 23)
    assert result.loss == pytest.approx(np.mean(losses), rel=1e-6)
    np.testing.assert_allclose(result.per_class_accuracy, np.diag(expected) / expected.sum(1))


def test_same_seed_same_metrics_and_resume_is_exact(tmp_path: Path, tiny_data) -> None:
    trainer, full = start_run(_settings(), tmp_path / "full", data=tiny_data)
    trainer.fit(full, progress=False, log=lambda _: None)
    again, second = start_run(_settings(), tmp_path / "again", data=tiny_data)
    again.fit(second, progress=False, log=lambda _: None)
    assert run_metrics(full) == run_metrics(second) and len(run_metrics(full)) == 3

    other, third = start_run(_settings(seed=7), tmp_path / "other", data=tiny_data)
    other.fit(third, progress=False, log=lambda _: None)
    assert run_metrics(third) != run_metrics(full)

    # stop after one epoch (a budget of ~0 s ends the run after its first epoch), then resume
    part, split = start_run(_settings(), tmp_path / "split", data=tiny_data)
    part.fit(split, progress=False, max_seconds=1e-9, log=lambda _: None)
    assert len(run_metrics(split)) == 1
    random.random(), np.random.rand(), torch.rand(3)   # disturb the global RNGs; resume must restore them
    resumed = resume_run(split, data=tiny_data)
    resumed.fit(split, progress=False, log=lambda _: None)
    assert run_metrics(split) == run_metrics(full)
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key

    # TensorBoard holds the same per-epoch numbers, across the resume. Each event file is read on
    # its own: TensorBoard orders a folder's files by name, whose writer counter is not zero-padded,
    # so two writers of one process in the same second (this fast test) can sort out of order.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars = []
    for path in sorted((split / rundir.TENSORBOARD_DIR).glob("events.out.tfevents.*")):
        events = EventAccumulator(str(path))
        events.Reload()
        scalars += events.Scalars("val/acc") if "val/acc" in events.Tags()["scalars"] else []
    scalars.sort(key=lambda e: e.step)
    assert [e.step for e in scalars] == [1, 2, 3]
    np.testing.assert_allclose([e.value for e in scalars], [r["val_acc"] for r in run_metrics(full)], rtol=1e-6)

    # the run directory's files
    for name in (rundir.CONFIG, rundir.METRICS, rundir.CHECKPOINT, rundir.CURVES_PLOT, rundir.CONFUSION_PLOT):
        assert (full / name).is_file(), name
    assert (full / rundir.CURVES_PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any((full / rundir.TENSORBOARD_DIR).iterdir())
    config = rundir.read_config(full)
    assert config["model"] == "sqdrcnn" and config["model_config"]["n_qubits"] == 2
    assert config["settings"]["qubits"] == 2 and config["settings"]["ansatz"] == "reupload"

    # load_run gives back the trained model; an engine override keeps its outputs
    model, loaded_config = load_run(full)
    assert loaded_config == config
    images = next(iter(BatchLoader(tiny_data.val, 8)))[0]
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.model(images)
        torch.testing.assert_close(model(images), expected)
        aer_model, _ = load_run(full, engine="aer")
        torch.testing.assert_close(aer_model(images), expected, atol=1e-5, rtol=1e-5)


def test_checkpoint_round_trip_restores_rng_streams(tmp_path: Path) -> None:
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    np.random.randn()   # leaves a cached gaussian in numpy's state
    state = {"rng": capture_rng(), "weights": torch.arange(4.0), "history": [{"epoch": 1, "val_acc": 0.5}]}
    expected = (torch.rand(3), np.random.randn(2), random.random())
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    restore_rng(loaded["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    np.testing.assert_array_equal(np.random.randn(2), expected[1])
    assert random.random() == expected[2]
    assert loaded["history"] == state["history"] and torch.equal(loaded["weights"], state["weights"])
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]   # no temporary file left behind


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.parametrize("content", ["truncated", "foreign", "pickle", "text"])
def test_bad_checkpoints_give_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "last.pt"
    if content == "truncated":
        save_checkpoint(path, {"weights": torch.zeros(1000)})
        path.write_bytes(path.read_bytes()[:300])
    elif content == "foreign":
        torch.save({"state_dict": torch.zeros(2)}, path)
    elif content == "pickle":
        path.write_bytes(pickle.dumps(_Evil(), protocol=2))
    else:
        path.write_text("hello")
    with pytest.raises(ValueError, match=str(path)):
        load_checkpoint(path)


def test_load_run_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a qsnn run directory"):
        load_run(tmp_path)


def test_each_epoch_records_and_prints_its_speed_and_memory(tmp_path: Path, tiny_data) -> None:
    lines: list[str] = []
    trainer, run_dir = start_run(_settings(epochs=2), tmp_path / "run", data=tiny_data)
    trainer.fit(run_dir, progress=False, log=lines.append)
    rows = rundir.read_metrics(run_dir)
    for row, line in zip(rows, lines):
        # images/s of the training pass alone: more than the epoch's images over the whole epoch
        assert row["train_images_per_s"] > len(tiny_data.train) / row["seconds"]
        assert f"{row['train_images_per_s']:.0f} images/s" in line
        assert 0 < row["rss_mib"] <= row["peak_rss_mib"]


def test_metrics_of_a_run_recorded_before_the_speed_columns_still_load(tmp_path: Path, tiny_data) -> None:
    old = {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.1, "val_acc": 0.4, "lr": 1e-3, "seconds": 2.0}
    rundir.write_metrics(tmp_path, [old])
    (row,) = rundir.read_metrics(tmp_path)
    assert {k: row[k] for k in old} == old
    assert all(math.isnan(row[k]) for k in ("train_images_per_s", "rss_mib", "peak_rss_mib"))
