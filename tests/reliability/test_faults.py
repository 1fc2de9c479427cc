"""Fault injection: a `qsnn train` process killed with SIGKILL at several points, a run directory that
becomes full or unwritable, damaged checkpoints given to `--resume` and `evaluate`, and hardware job
fetches that are interrupted. In every case what was written before stays intact and the next
command either completes or says what to do. (tests/test_cli.py kills a run at a random moment of
an epoch; here each point is hit deterministically by a small wrapper around the CLI.)"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from qsnn_qiskit.cli import main
from qsnn_qiskit.errors import JobFetchError
from qsnn_qiskit.hardware.jobs import JobStore, run_chunks
from qsnn_qiskit.training import rundir
from qsnn_qiskit.training.checkpoints import load_checkpoint, save_checkpoint

from support import ROOT, TINY_FLAGS, run_metrics

EPOCHS = 3
TINY = [*TINY_FLAGS, "--epochs", str(EPOCHS)]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
       "PYTHONWARNINGS": "ignore"}

#: Runs the CLI after PRELUDE (which patches one function to inject the fault).
_WRAPPER = """
import os, signal, sys
{prelude}
from qsnn_qiskit.cli import main
sys.exit(main(sys.argv[1:]))
"""

#: SIGKILL points: (prelude, epochs whose checkpoint must survive, leaves a partial temp file).
KILL_POINTS = {
    # the 5th backward pass: epoch 2, second of its three batches
    "mid-epoch": ("""
import torch
_backward, _n = torch.Tensor.backward, [0]
def backward(self, *a, **k):
    _n[0] += 1
    if _n[0] == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return _backward(self, *a, **k)
torch.Tensor.backward = backward
""", 1, False),
    # epoch 2's checkpoint: half of its bytes are in the temporary file when the process dies
    "checkpoint-temp-file": ("""
import pathlib
_write_bytes, _n = pathlib.Path.write_bytes, [0]
def write_bytes(self, data):
    if self.name.startswith(".last.pt."):
        _n[0] += 1
        if _n[0] == 2:
            _write_bytes(self, data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
    return _write_bytes(self, data)
pathlib.Path.write_bytes = write_bytes
""", 1, True),
    # epoch 2's checkpoint is in place, metrics.csv still has one row
    "between-checkpoint-and-metrics": ("""
from qsnn_qiskit.training import load_run, rundir
_write, _n = rundir.write_metrics, [0]
def write_metrics(*a, **k):
    _n[0] += 1
    if _n[0] == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return _write(*a, **k)
rundir.write_metrics = write_metrics
""", 2, False),
    # every epoch is done; killed while drawing the final plots
    "final-plots": ("""
from qsnn_qiskit.training import plots
def plot_curves(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)
plots.plot_curves = plot_curves
""", 3, False),
}


def _qsnn(*argv: str, prelude: str = "", prefix: list[str] = ()) -> subprocess.CompletedProcess:
    """`qsnn ARGV` in a new process, after ``prelude`` (Python that injects a fault)."""
    return subprocess.run([*prefix, sys.executable, "-c", _WRAPPER.format(prelude=prelude), *argv], cwd=ROOT,
                          env=ENV, capture_output=True, text=True, timeout=300)


def _temp_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.rglob(".*.tmp"))


def _resume_and_compare(run_dir: Path, whole: list[dict]) -> None:
    done = _qsnn("train", "--resume", str(run_dir), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert run_metrics(run_dir) == whole
    assert (run_dir / rundir.CONFUSION_PLOT).is_file()
    assert not list((run_dir / rundir.CHECKPOINT.parent).glob(".*.tmp")), "resume removes stale temp files"


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Metrics of the uninterrupted run that every interrupted one must end with."""
    run_dir = tmp_path_factory.mktemp("whole") / "run"
    done = _qsnn("train", *TINY, "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr
    return run_metrics(run_dir)


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_sigkill_keeps_the_last_checkpoint_and_resume_matches(tmp_path: Path, whole: list[dict],
                                                              point: str) -> None:
    prelude, kept, partial = KILL_POINTS[point]
    run_dir = tmp_path / "run"
    killed = _qsnn("train", *TINY, "--run-dir", str(run_dir), prelude=prelude)
    assert killed.returncode == -9, killed.stderr
    assert load_checkpoint(run_dir / rundir.CHECKPOINT)["epoch"] == kept
    rows = len(run_metrics(run_dir))
    assert rows == (kept - 1 if point == "between-checkpoint-and-metrics" else kept)
    assert run_metrics(run_dir) == whole[:rows]
    assert rundir.read_config(run_dir)["settings"]["epochs"] == EPOCHS
    temps = _temp_files(run_dir)
    if partial:   # the half-written temporary file is there, under a name nothing else reads
        (temp,) = temps
        assert temp.parent == (run_dir / rundir.CHECKPOINT).parent and temp.name.startswith(".last.pt.")
        with pytest.raises(ValueError, match="corrupted"):
            load_checkpoint(temp)
    else:
        assert temps == []
    _resume_and_compare(run_dir, whole)


#: After epoch 1's metrics are written, every later write in the process fails: a file size limit
#: gives a real EFBIG from the kernel; the others are injected where the data reaches the disk.
_FAIL_AFTER_EPOCH_1 = """
import errno, resource
from qsnn_qiskit.training import load_run, rundir
_write = rundir.write_metrics
def write_metrics(*a, **k):
    _write(*a, **k)
    {fail}
rundir.write_metrics = write_metrics
"""
_LIMIT = ("signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
          "resource.setrlimit(resource.RLIMIT_FSIZE, ({}, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))")
_RAISE = "os.fsync = lambda fd: (_ for _ in ()).throw(OSError(errno.{0}, os.strerror(errno.{0})))"
#: name -> (fault, errno name, reason, which file fails first: the checkpoint, or TensorBoard's
#: event file, whose background writer names no file, so the error names its folder)
WRITE_FAULTS = {
    "EFBIG-checkpoint": (_LIMIT.format(16384), "EFBIG", "File too large", "checkpoint"),
    "EFBIG-tensorboard": (_LIMIT.format(200), "EFBIG", "File too large", "tensorboard"),
    "ENOSPC": (_RAISE.format("ENOSPC"), "ENOSPC", "No space left on device", "checkpoint"),
    "EROFS": (_RAISE.format("EROFS"), "EROFS", "Read-only file system", "checkpoint"),
}


def _check_write_failure(failed: subprocess.CompletedProcess, run_dir: Path, code: str, reason: str,
                         first: str, whole: list[dict]) -> None:
    assert failed.returncode == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    (message,) = [line for line in failed.stderr.splitlines() if line.strip()]   # one paragraph
    checkpoint = run_dir / rundir.CHECKPOINT
    file = checkpoint if first == "checkpoint" else run_dir / rundir.TENSORBOARD_DIR
    assert message.startswith(f"qsnn train: error: could not write {file}: {reason} ({code})"), message
    assert f"({checkpoint}, epoch 1)" in message and "intact" in message
    assert message.endswith(f"continue with: qsnn train --resume {run_dir}")
    assert load_checkpoint(checkpoint)["epoch"] == 1
    assert run_metrics(run_dir) == whole[:1]
    assert _temp_files(run_dir) == []


@pytest.mark.parametrize("fault", sorted(WRITE_FAULTS))
def test_full_or_read_only_run_directory_is_a_clear_error_and_resumes(tmp_path: Path, whole: list[dict],
                                                                       fault: str) -> None:
    fail, code, reason, first = WRITE_FAULTS[fault]
    run_dir = tmp_path / "run"
    failed = _qsnn("train", *TINY, "--run-dir", str(run_dir), prelude=_FAIL_AFTER_EPOCH_1.format(fail=fail))
    _check_write_failure(failed, run_dir, code, reason, first, whole)
    _resume_and_compare(run_dir, whole)


#: Runs a command as a root without the capabilities that let root ignore file permissions.
_NO_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0,
                    reason="needs root and util-linux setpriv to make permissions bind")
def test_run_directory_made_unwritable_is_a_clear_error_and_resumes(tmp_path: Path, whole: list[dict]) -> None:
    """A real EACCES: after epoch 1 the run's checkpoint folder loses its write permission."""
    run_dir = tmp_path / "run"
    folder = run_dir / rundir.CHECKPOINT.parent
    chmod = f"os.chmod({str(folder)!r}, 0o555)"
    failed = _qsnn("train", *TINY, "--run-dir", str(run_dir), prelude=_FAIL_AFTER_EPOCH_1.format(fail=chmod),
                   prefix=_NO_OVERRIDE)
    _check_write_failure(failed, run_dir, "EACCES", "Permission denied", "checkpoint", whole)
    os.chmod(folder, 0o755)   # the user fixes the permissions
    _resume_and_compare(run_dir, whole)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished one-epoch run (trained in this process)."""
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", *TINY[:-1], "1", "--run-dir", str(run_dir)]) == 0
    return run_dir


def _damage(path: Path, how: str, tmp_path: Path) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif how == "foreign":   # someone else's torch file
        torch.save({"state_dict": {"w": torch.zeros(3)}}, path)
    elif how == "json":
        path.write_text('{"epoch": 1}')
    elif how == "folder":
        path.unlink()
        path.mkdir()


@pytest.mark.parametrize("command", ["resume", "evaluate"])
@pytest.mark.parametrize("how", ["truncated", "empty", "garbage", "foreign", "json", "folder"])
def test_damaged_checkpoint_is_refused_with_what_to_do(tmp_path: Path, trained: Path, how: str, command: str,
                                                       capsys: pytest.CaptureFixture) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    checkpoint = run_dir / rundir.CHECKPOINT
    _damage(checkpoint, how, tmp_path)
    argv = ["train", "--resume", str(run_dir), "--no-progress"] if command == "resume" else ["evaluate", str(run_dir)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qsnn {'train' if command == 'resume' else 'evaluate'}: error: ")
    assert str(checkpoint) in err
    assert "move it aside" in err or how == "folder"
    assert run_metrics(run_dir) == run_metrics(trained)   # nothing rewritten


def test_moving_a_damaged_checkpoint_aside_retrains_from_the_first_epoch(tmp_path: Path, trained: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    """What the error message advises works: the run trains again from epoch 1 with its own settings."""
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    checkpoint = run_dir / rundir.CHECKPOINT
    _damage(checkpoint, "truncated", tmp_path)
    checkpoint.rename(checkpoint.with_suffix(".damaged"))
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 0
    assert "after epoch 0" in capsys.readouterr().out
    assert run_metrics(run_dir) == run_metrics(trained)


def test_checkpoint_of_another_model_is_refused_on_resume(tmp_path: Path, trained: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    state = load_checkpoint(run_dir / rundir.CHECKPOINT)
    state["model"] = {"w": torch.zeros(2)}
    save_checkpoint(run_dir / rundir.CHECKPOINT, state)
    assert main(["evaluate", str(run_dir)]) == 2
    assert "does not fit the model" in capsys.readouterr().err
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 2


def _submit_argv(run_dir: Path) -> list[str]:
    return ["submit", str(run_dir), "--target", "fake_torino", "--limit", "4", "--chunk-size", "2", "--seed", "1"]


def _records(run_dir: Path) -> list[dict]:
    """Every job record, each checked to be valid JSON."""
    return [json.loads(p.read_text()) for p in sorted((run_dir / "jobs" / "fake_torino").glob("chunk-*.json"))]


def test_submit_interrupted_while_fetching_keeps_records_and_reruns(tmp_path: Path, trained: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    import qsnn_qiskit.hardware.jobs as jobs

    calls = []
    real = jobs.expectation_values

    def interrupted(result):
        calls.append(1)
        if len(calls) == 2:   # Ctrl-C while the second chunk's result is read
            raise KeyboardInterrupt
        return real(result)

    monkeypatch.setattr(jobs, "expectation_values", interrupted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(_submit_argv(run_dir)) == 130
        err = capsys.readouterr().err
        assert "interrupted" in err and "run the same command again" in err
        first, second = _records(run_dir)
        assert first["status"] == "done" and second["status"] == "submitted" and second["attempts"] == 1
        assert _temp_files(run_dir) == [] and not (run_dir / "submit").exists()

        monkeypatch.setattr(jobs, "expectation_values", real)
        assert main(_submit_argv(run_dir)) == 0
    out = capsys.readouterr().out
    assert f"chunk 0: done earlier (job {first['job_id']})" in out
    again = _records(run_dir)
    assert again[0] == first   # the finished chunk is not sent again
    # a local-mode job dies with its process: the interrupted chunk is sent again, not counted as failed
    assert again[1]["status"] == "done" and again[1]["attempts"] == 1 and again[1]["job_id"] != second["job_id"]
    summary = json.loads((run_dir / "submit" / "fake_torino" / "summary.json").read_text())
    assert summary["samples"] == 4 and summary["failed_chunks"] == []


def test_sigkill_while_writing_a_job_record(tmp_path: Path, trained: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    prelude = textwrap.dedent("""
        import warnings; warnings.simplefilter("ignore")
        from qsnn_qiskit import _atomic
        _atomic_write = _atomic.atomic_write
        def atomic_write(path, write):
            if path.name == "chunk-0001.json":   # the record of the second job, just sent
                def half(tmp):
                    write(tmp)
                    tmp.write_bytes(tmp.read_bytes()[:40])
                    os.kill(os.getpid(), signal.SIGKILL)
                return _atomic_write(path, half)
            return _atomic_write(path, write)
        _atomic.atomic_write = atomic_write
    """)
    killed = _qsnn(*_submit_argv(run_dir), prelude=prelude)
    assert killed.returncode == -9, killed.stderr
    (first,) = _records(run_dir)   # the second record never replaced anything: only a temp file
    assert first["status"] == "done" and len(_temp_files(run_dir)) == 1

    listed = _qsnn("jobs", str(run_dir))
    assert listed.returncode == 0 and first["job_id"] in listed.stdout, listed.stderr
    done = _qsnn(*_submit_argv(run_dir))
    assert done.returncode == 0, done.stderr
    again = _records(run_dir)
    assert again[0] == first and again[1]["status"] == "done" and again[1]["attempts"] == 1


class _Job:
    """A cloud job double whose result cannot be fetched (``result`` raises ``error``)."""

    def __init__(self, job_id: str, state: str = "RUNNING", error: BaseException | None = None,
                 evs: np.ndarray | None = None) -> None:
        self._id, self._state, self._error, self._evs = job_id, state, error, evs

    def job_id(self) -> str:
        return self._id

    def status(self) -> str:
        return self._state

    def result(self):
        if self._error is not None:
            raise self._error
        return [type("R", (), {"data": type("D", (), {"evs": self._evs})()})()]


def test_cloud_fetch_failure_is_not_a_job_failure(tmp_path: Path) -> None:
    """A network error while waiting for a live cloud job keeps its record 'submitted' and asks for a
    rerun; the rerun fetches that job instead of sending a new one."""
    store = JobStore(tmp_path, "cloud")
    values = np.arange(6, dtype=float).reshape(2, 3)
    sent = []

    def submit(v):
        sent.append(1)
        return _Job("job-1", error=ConnectionError("connection reset by peer"))

    with pytest.raises(JobFetchError, match=r"job-1 .*run the same command again") as info:
        run_chunks(store, [([0, 1], values)], "ibm_x", submit, retrieve=None, local=False, log=lambda s: None)
    assert isinstance(info.value, OSError) and str(store.path(0)) in str(info.value)
    record = json.loads(store.path(0).read_text())
    assert (record["status"], record["attempts"], record["history"]) == ("submitted", 1, [])

    # the service is down when the rerun fetches: the same clear error, nothing sent
    def down(job_id):
        raise TimeoutError("service unavailable")

    with pytest.raises(JobFetchError, match="service unavailable"):
        run_chunks(store, [([0, 1], values)], "ibm_x", submit, down, local=False, log=lambda s: None)
    assert len(sent) == 1 and json.loads(store.path(0).read_text()) == record

    evs = np.array([[0.5, -0.5], [0.25, 0.0]])
    (done,) = run_chunks(store, [([0, 1], values)], "ibm_x", submit, lambda i: _Job(i, "DONE", evs=evs),
                         local=False, log=lambda s: None)
    assert len(sent) == 1 and done.status == "done" and done.attempts == 1
    np.testing.assert_allclose(done.evs, evs.T)

    # a job that did fail (state ERROR) is still retried, as before
    failing = JobStore(tmp_path, "failing")
    (gave_up,) = run_chunks(failing, [([0, 1], values)], "ibm_x",
                            lambda v: _Job("bad", "ERROR", error=RuntimeError("calibration")), None,
                            local=False, max_attempts=2, log=lambda s: None)
    assert gave_up.status == "given_up" and gave_up.attempts == 2


def test_cli_reports_a_fetch_failure_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    from qsnn_qiskit.commands import submit

    def failing(*args, **kwargs):
        raise JobFetchError("fetching job j-7 (chunk 0) failed: ConnectionError: reset; run the same command again")

    monkeypatch.setattr(submit, "submit_run", failing)
    assert main(["submit", str(tmp_path), "--target", "fake_torino"]) == 1
    assert capsys.readouterr().err == ("qsnn submit: error: fetching job j-7 (chunk 0) failed: ConnectionError: "
                                       "reset; run the same command again\n")


def test_write_error_names_the_file_and_keeps_the_old_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism under the CLI messages: any OSError of an atomic write becomes a WriteError naming
    the file, the old content stays, and no temporary file is left."""
    from qsnn_qiskit._atomic import atomic_write_text
    from qsnn_qiskit.errors import WriteError

    path = tmp_path / "metrics.csv"
    atomic_write_text(path, "old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError) as info:
        atomic_write_text(path, "new\n")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert str(info.value) == (f"could not write {path}: No space left on device (ENOSPC); "
                               f"{path} was left as it was")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]
