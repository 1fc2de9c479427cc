"""Data-parallel training under torchrun (two CPU processes, gloo): the same metrics and weights as
one process with the same global batch and seed, rank 0 alone writing, an exact distributed
resume, bad flags refused before any rank joins the group; and SyncBatchNorm2d against
BatchNorm2d on the whole batch."""
from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import qsnn_qiskit
from qsnn_qiskit.cli import main
from qsnn_qiskit.training import distributed, load_run, rundir
from qsnn_qiskit.training.checkpoints import load_checkpoint
from qsnn_qiskit.training.sync_batchnorm import SyncBatchNorm2d, convert_batchnorm, placeholder_batch

# 43 = 6 x 7 + 1: global batches of 7 split 3/4 over two ranks, and the last one (1 image)
# leaves rank 0 with no sample at all
LIMIT, BATCH = 43, 7
FLAGS = ["--dataset", "default", "--classes", "0,1,2", "--limit", str(LIMIT), "--qubits", "2", "--blocks", "1",
         "--epochs", "2", "--batch-size", str(BATCH), "--engine", "torch", "--no-progress"]
COLUMNS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr")
TOL = dict(rtol=1e-5, atol=1e-5)


def _env() -> dict[str, str]:
    """The parent's environment, with the qsnn_qiskit these tests import first on PYTHONPATH."""
    checkout = str(Path(qsnn_qiskit.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def _torchrun(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``args`` (a module or script and its arguments) under torchrun with two local processes."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)


def _rows(run_dir: Path) -> np.ndarray:
    return np.array([[row[k] for k in COLUMNS] for row in rundir.read_metrics(run_dir)])


def _files(run_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())


def _assert_same_weights(run_dir: Path, reference: Path) -> None:
    got, want = load_checkpoint(run_dir / rundir.CHECKPOINT), load_checkpoint(reference / rundir.CHECKPOINT)
    assert list(got["model"]) == list(want["model"])   # no DDP "module." prefix, same layer names
    for key, value in want["model"].items():
        torch.testing.assert_close(got["model"][key], value, **TOL, msg=key)
    assert torch.equal(got["rng"]["loader"], want["rng"]["loader"])   # same shuffles and flips drawn


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: one process, the same flags."""
    run_dir = tmp_path_factory.mktemp("single") / "run"
    assert main(["train", *FLAGS, "--run-dir", str(run_dir)]) == 0
    return run_dir


def test_two_processes_train_like_one(tmp_path: Path, single: Path) -> None:
    assert LIMIT % BATCH == 1
    result = _torchrun(["-m", "qsnn_qiskit.cli", "train", *FLAGS], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    made = list((tmp_path / rundir.RUNS_ROOT).iterdir())
    assert len(made) == 1 and list(tmp_path.iterdir()) == [tmp_path / rundir.RUNS_ROOT]   # one run directory
    run_dir = made[0]
    assert result.stdout.count(f"run directory {run_dir.relative_to(tmp_path)}") == 2   # rank 0 alone prints
    assert result.stdout.count("epoch 2/2:") == 1

    np.testing.assert_allclose(_rows(run_dir), _rows(single), **TOL)
    _assert_same_weights(run_dir, single)
    # rank 0 alone wrote: the files of a single-process run, one TensorBoard file, no temporary files
    assert [f for f in _files(run_dir) if "tfevents" not in f] == \
        [f for f in _files(single) if "tfevents" not in f]
    assert len(list((run_dir / rundir.TENSORBOARD_DIR).iterdir())) == 1
    config = rundir.read_config(run_dir)
    assert config["world_size"] == 2 and rundir.read_config(single)["world_size"] == 1
    assert config["settings"]["batch_size"] == BATCH   # the global batch
    model, _ = load_run(run_dir)   # a single process loads the distributed checkpoint
    assert all(type(m) is nn.BatchNorm2d for m in model.modules() if isinstance(m, nn.BatchNorm2d))


_PARTIAL = """
import sys
from qsnn_qiskit.training import distributed
from qsnn_qiskit.training import TrainSettings, start_run

with distributed.process_group("cpu"):
    settings = TrainSettings(dataset="default", classes=[0, 1, 2], limit={limit}, qubits=2, blocks=1, epochs=2,
                             batch_size={batch}, engine="torch")
    trainer, run_dir = start_run(settings, sys.argv[1])
    trainer.fit(run_dir, progress=False, max_seconds=1e-9)   # a ~0 s budget: stop after epoch 1
"""


def test_distributed_resume_continues_exactly(tmp_path: Path, single: Path) -> None:
    script = tmp_path / "partial.py"
    script.write_text(_PARTIAL.format(limit=LIMIT, batch=BATCH))
    run_dir = tmp_path / "run"
    first = _torchrun([str(script), str(run_dir)], cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert len(rundir.read_metrics(run_dir)) == 1
    # a checkpoint write interrupted by a kill leaves a temporary file; resume removes it
    stale = run_dir / rundir.CHECKPOINT.parent / f".{rundir.CHECKPOINT.name}.abc123.tmp"   # as atomic_write names it
    stale.write_bytes(b"partial")

    resumed = _torchrun(["-m", "qsnn_qiskit.cli", "train", "--resume", str(run_dir), "--no-progress"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.count("resuming") == 1 and "after epoch 1 of 2" in resumed.stdout
    assert not stale.exists()
    np.testing.assert_allclose(_rows(run_dir), _rows(single), **TOL)
    _assert_same_weights(run_dir, single)
    assert not [f for f in _files(run_dir) if Path(f).name.startswith(".")]


def test_bad_flag_under_torchrun_fails_fast_on_every_rank(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = _torchrun(["-m", "qsnn_qiskit.cli", "train", *FLAGS, "--optimizer", "lbfgs"], cwd=tmp_path, timeout=120)
    assert time.perf_counter() - started < 100
    assert result.returncode != 0
    # each rank refuses the flag itself, before joining the group; torchrun stops the other rank as
    # soon as one exits, so the second may be stopped before it prints its line
    assert result.stderr.count("qsnn train: error: unknown --optimizer 'lbfgs'") in (1, 2), result.stderr[-3000:]
    assert "run directory" not in result.stdout and list(tmp_path.iterdir()) == []   # nothing created


def test_bad_flag_with_processes_is_refused_before_torchrun_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys) -> None:
    from qsnn_qiskit.training import launch

    monkeypatch.setattr(launch.subprocess, "run", lambda *a, **k: pytest.fail(f"torchrun started: {a}"))
    monkeypatch.chdir(tmp_path)
    assert main(["train", *FLAGS, "--optimizer", "lbfgs", "--processes", "2"]) == 2
    assert capsys.readouterr().err.count("unknown --optimizer 'lbfgs'") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("world", [1, 2, 3])
def test_shards_partition_every_global_batch(monkeypatch: pytest.MonkeyPatch, world: int) -> None:
    monkeypatch.setattr(distributed, "world_size", lambda: world)
    for n in range(12):
        parts = []
        for r in range(world):
            monkeypatch.setattr(distributed, "rank", lambda r=r: r)
            parts.append(distributed.shard(n))
        assert [i for p in parts for i in range(n)[p]] == list(range(n))
        sizes = [p.stop - p.start for p in parts]
        assert max(sizes) - min(sizes) <= 1 and (min(sizes) > 0 or n < world)


def test_without_process_group_everything_is_rank_0_of_1() -> None:
    values = torch.tensor([1.5, 2.0])
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (0, 1, True)
    assert distributed.all_reduce_sum(values) is values and distributed.from_main("x") == "x"
    assert distributed.on_main(lambda: 7) == 7 and distributed.shard(5) == slice(0, 5)
    assert distributed.requested_world_size({}) == 1 and distributed.requested_world_size({"WORLD_SIZE": "4"}) == 4
    with pytest.raises(ValueError, match="WORLD_SIZE must be a positive integer; got 'two'"):
        distributed.requested_world_size({"WORLD_SIZE": "two"})


def _refuse() -> None:
    assert distributed.is_main()
    raise ValueError("run directory x already exists")


def _on_two_ranks(rank: int, store: str) -> None:
    """Rank ``rank`` of a two-rank gloo group: the collectives of ``distributed``, then
    SyncBatchNorm2d on this rank's part of a batch against BatchNorm2d on all of it."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (rank, 2, rank == 0)
        assert distributed.from_main(f"from {rank}") == "from 0"
        assert distributed.all_reduce_sum(torch.tensor([1.0, rank])).tolist() == [2.0, 1.0]
        assert distributed.on_main(lambda: f"made by {distributed.rank()}") == "made by 0"
        with pytest.raises(ValueError, match="run directory x already exists"):   # rank 0's error, everywhere
            distributed.on_main(_refuse)
        _check_batchnorm(rank, (3, 2), momentum=0.1)
        _check_batchnorm(rank, (4, 0), momentum=None)   # rank 1 has no sample: a placeholder
    finally:
        dist.destroy_process_group()


def _check_batchnorm(rank: int, sizes: tuple[int, int], momentum: float | None) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(sum(sizes), 3, 4, 5, generator=gen) * 2 + 1
    upstream = torch.randn(x.shape, generator=gen)   # d loss / d output
    reference = nn.BatchNorm2d(3, momentum=momentum)
    with torch.no_grad():
        reference.weight.copy_(torch.randn(3, generator=gen))
        reference.bias.copy_(torch.randn(3, generator=gen))
    sync = convert_batchnorm(nn.Sequential(copy.deepcopy(reference)))[0]
    assert type(sync) is SyncBatchNorm2d and list(sync.state_dict()) == list(reference.state_dict())
    start = sum(sizes[:rank])
    part = slice(start, start + sizes[rank])
    placeholder = sizes[rank] == 0
    mine = (x[:1] if placeholder else x[part]).clone().requires_grad_()
    whole = x.clone().requires_grad_()
    for _ in range(2):   # two steps: running statistics and accumulated gradients
        expected = reference(whole)
        (expected * upstream).sum().backward()
        with placeholder_batch(sync, placeholder):
            y = sync(mine)
        ((y * (upstream[:1] if placeholder else upstream[part])).sum() * (0.0 if placeholder else 1.0)).backward()
    if not placeholder:
        torch.testing.assert_close(y, expected[part], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(mine.grad, whole.grad[part], rtol=1e-5, atol=1e-5)
    grads = torch.stack([sync.weight.grad, sync.bias.grad])
    dist.all_reduce(grads)   # DDP sums (then averages) what each rank's part contributes
    torch.testing.assert_close(grads, torch.stack([reference.weight.grad, reference.bias.grad]),
                               rtol=1e-5, atol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(sync, name), getattr(reference, name), rtol=1e-6, atol=1e-6)
    sync.eval(), reference.eval()
    torch.testing.assert_close(sync(x), reference(x))   # eval mode: running statistics, no collective


def test_collectives_and_sync_batchnorm_on_two_gloo_ranks(tmp_path: Path) -> None:
    mp.spawn(_on_two_ranks, args=(str(tmp_path / "store"),), nprocs=2)


def test_processes_flag_starts_torchrun_and_trains_like_one(tmp_path: Path, single: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _env().items():
        monkeypatch.setenv(key, value)
    run_dir = tmp_path / "run"
    assert main(["train", *FLAGS, "--run-dir", str(run_dir), "--processes", "2", "--threads", "1"]) == 0
    assert rundir.read_config(run_dir)["world_size"] == 2
    np.testing.assert_allclose(_rows(run_dir), _rows(single), **TOL)
    assert all(row["train_images_per_s"] > 0 and row["rss_mib"] > 0 for row in rundir.read_metrics(run_dir))


def test_torchrun_command_drops_the_processes_flag_in_both_spellings() -> None:
    from qsnn_qiskit.training.launch import torchrun_command

    command = torchrun_command(["train", "--processes", "3", "--epochs", "2", "--processes=3"], 3)
    assert command[1:7] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "3", "-m"]
    assert command[7:] == ["qsnn_qiskit.cli", "train", "--epochs", "2"]


def test_processes_flag_under_torchrun_is_refused(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", *FLAGS, "--processes", "2"]) == 2
    assert "under torchrun, drop --processes" in capsys.readouterr().err


def test_threads_default_shares_the_cores_among_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    from qsnn_qiskit.training.launch import threads_per_process

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert [threads_per_process(None, p) for p in (1, 2, 3, 8)] == [4, 2, 1, 1]
    assert threads_per_process(3, 2) == 3
    with pytest.raises(ValueError, match="--threads must be an integer >= 1"):
        threads_per_process(0, 1)
