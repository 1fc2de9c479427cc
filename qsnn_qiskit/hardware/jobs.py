"""Hardware jobs that survive restarts: one JSON record per chunk of samples under RUN_DIR/jobs/.

A record is written (atomically) as soon as its job exists: job id, the parameter values sent,
status, attempts. Re-running after a crash fetches jobs that were sent instead of sending them
again; a job that failed is sent again, at most ``max_attempts`` times in all. A cloud job whose
result cannot be fetched (network, service) but has not failed is not sent again: ``JobFetchError``
asks for a rerun, which fetches it. Records hold no credentials.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._atomic import atomic_write_text
from .._checks import check_int
from ..errors import JobFetchError

JOBS_DIR = "jobs"
#: job states after which a job will never produce a result
FAILED_STATES = ("ERROR", "CANCELLED", "FAILED")


@dataclass
class JobRecord:
    """One chunk of samples and the job that evaluates it.

    ``parameter_values`` (n_samples, n_params) are in the ISA circuit's parameter order; ``evs``
    (n_samples, n_outputs) is filled when the job is done. ``status``: pending, submitted, done,
    failed (will be retried) or given_up.
    """

    target: str
    backend: str
    chunk: int
    samples: list[int]
    parameter_values: list[list[float]]
    parameters_sha256: str
    status: str = "pending"
    job_id: str | None = None
    attempts: int = 0
    local: bool = True
    submitted: str | None = None
    finished: str | None = None
    error: str | None = None
    evs: list[list[float]] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def _sha(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _state(job: Any) -> str:
    status = job.status()
    return str(getattr(status, "name", status)).upper()


def _fetch_error(store: JobStore, record: JobRecord, err: BaseException) -> JobFetchError:
    return JobFetchError(f"fetching job {record.job_id} (chunk {record.chunk}) failed: {type(err).__name__}: "
                         f"{str(err)[:300]}; the job was not sent again and its id stays in "
                         f"{store.path(record.chunk)}: run the same command again to fetch it (if the job "
                         "no longer exists, delete that file to send the chunk anew)")


def expectation_values(result: Any) -> np.ndarray:
    """(n_samples, n_outputs) from the result of one PUB whose observables are shaped (K, 1)."""
    return np.asarray(result[0].data.evs, dtype=float).T


class JobStore:
    """The job records of one target in RUN_DIR/jobs/<target>/chunk-NNNN.json."""

    def __init__(self, run_dir: str | Path, target: str) -> None:
        self.folder = Path(run_dir) / JOBS_DIR / target

    def path(self, chunk: int) -> Path:
        return self.folder / f"chunk-{chunk:04d}.json"

    def load(self, chunk: int) -> JobRecord | None:
        path = self.path(chunk)
        if not path.is_file():
            return None
        try:
            return JobRecord(**json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as err:
            raise ValueError(f"job record {path} is damaged ({err}); delete it to send that chunk again") from None

    def save(self, record: JobRecord) -> None:
        atomic_write_text(self.path(record.chunk), json.dumps(asdict(record), indent=1) + "\n")

    def records(self) -> list[JobRecord]:
        return [self.load(int(p.stem.split("-")[1])) for p in sorted(self.folder.glob("chunk-*.json"))]


def all_records(run_dir: str | Path) -> list[JobRecord]:
    """Every job record of a run directory, all targets."""
    root = Path(run_dir) / JOBS_DIR
    return [r for folder in sorted(root.glob("*")) if folder.is_dir()
            for r in JobStore(run_dir, folder.name).records()]


def run_chunks(store: JobStore, chunks: Sequence[tuple[list[int], np.ndarray]], backend: str,
               submit: Callable[[np.ndarray], Any], retrieve: Callable[[str], Any] | None,
               local: bool, max_attempts: int = 3, log: Callable[[str], None] = print,
               decode: Callable[[np.ndarray, int], np.ndarray] | None = None) -> list[JobRecord]:
    """Evaluate every chunk (sample indices, parameter values (n, n_params)) once, across restarts.

    ``submit(values)`` sends one job and returns it; ``retrieve(job_id)`` gets a job sent by an earlier
    process (``None`` in local testing mode, whose jobs die with their process: those are sent again).
    A record is saved right after each submit, and again when the job finishes or fails.
    ``decode(evs, n_samples)`` turns a job's expectation values (`expectation_values`, one row per
    PUB row) into (n_samples, n_outputs) (default: as they are; light-cone packed jobs
    demultiplex their slots).
    """
    check_int("max_attempts", max_attempts, 1)
    records = []
    for k, (samples, values) in enumerate(chunks):
        values = np.asarray(values, dtype=float)
        record = store.load(k)
        if record is not None and record.parameters_sha256 != _sha(values):
            log(f"chunk {k}: the stored job was for other parameters (model or data changed); sending anew")
            record = None
        if record is None:
            record = JobRecord(store.folder.name, backend, k, list(map(int, samples)), values.tolist(),
                               _sha(values), local=local)
        records.append(_finish(store, record, values, submit, retrieve, local, max_attempts, log,
                               decode or (lambda evs, n: evs)))
    return records


def _finish(store: JobStore, record: JobRecord, values: np.ndarray, submit: Callable[[np.ndarray], Any],
            retrieve: Callable[[str], Any] | None, local: bool, max_attempts: int,
            log: Callable[[str], None], decode: Callable[[np.ndarray, int], np.ndarray]) -> JobRecord:
    job = None
    if record.status == "done":
        log(f"chunk {record.chunk}: done earlier (job {record.job_id})")
        return record
    if record.status == "submitted" and record.job_id:
        if retrieve is not None and not record.local:
            log(f"chunk {record.chunk}: fetching job {record.job_id} sent earlier")
            try:
                job = retrieve(record.job_id)
            except Exception as err:
                raise _fetch_error(store, record, err) from err
        else:
            log(f"chunk {record.chunk}: job {record.job_id} ran in local testing mode in a process that "
                "ended; sending it again")
            record.history.append({"job_id": record.job_id, "status": "lost"})
            record.status, record.attempts = "failed", max(record.attempts - 1, 0)
    if record.status == "given_up" or (record.status == "failed" and record.attempts >= max_attempts):
        record.status = "given_up"
        store.save(record)
        log(f"chunk {record.chunk}: gave up after {record.attempts} attempts ({record.error})")
        return record
    while True:
        if job is None:
            job = submit(values)
            record.job_id, record.status, record.local = job.job_id(), "submitted", local
            record.attempts += 1
            record.submitted, record.error = _now(), None
            store.save(record)
            log(f"chunk {record.chunk}: sent job {record.job_id} (attempt {record.attempts}/{max_attempts})")
        try:
            result = job.result()
            if _state(job) in FAILED_STATES:
                raise RuntimeError(f"job ended in state {_state(job)}")
            record.evs = np.asarray(decode(expectation_values(result), len(record.samples))).tolist()
            record.status, record.finished = "done", _now()
            store.save(record)
            return record
        except Exception as err:   # a job failure is recorded and retried, not raised
            if not local and not _failed(job):   # the job lives on: the fetch failed, not the job
                raise _fetch_error(store, record, err) from err
            record.error = f"{type(err).__name__}: {str(err)[:300]}"
            record.history.append({"job_id": record.job_id, "status": "failed", "error": record.error})
            record.status = "failed" if record.attempts < max_attempts else "given_up"
            store.save(record)
            log(f"chunk {record.chunk}: job {record.job_id} failed ({record.error})")
            if record.status == "given_up":
                return record
            job = None


def _failed(job: Any) -> bool:
    """Whether ``job`` ended without a result; False when its state cannot be read (unknown)."""
    try:
        return _state(job) in FAILED_STATES
    except Exception:
        return False
