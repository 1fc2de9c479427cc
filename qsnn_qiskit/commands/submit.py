"""`qsnn submit RUN_DIR --target NAME --dataset NAME --limit N`: inference of a trained model on a
backend, beside the exact simulator's, with jobs that survive restarts (qsnn_qiskit.jobs)."""
from __future__ import annotations

import argparse
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..data import BatchLoader, Split
from ..engines.runtime import is_local, make_estimator, open_mode, resolve_precision, restrict_local_noise
from ..hardware import get_backend, runtime_service, transpile_for
from ..jobs import JobRecord, JobStore, run_chunks
from .._atomic import atomic_write_text
from ..runs import load_run, run_dataset
from ..targets import Target, load_target, target_names

SUBMIT_DIR = "submit"


@dataclass
class SubmitResult:
    """Per-sample labels and predictions on the backend and on the exact simulator."""

    target: str
    backend: str
    labels: np.ndarray              # (n,)
    exact_pred: np.ndarray          # (n,)
    hardware_pred: np.ndarray       # (n,) -1 where the job gave up
    exact_quantum: np.ndarray       # (n, n_outputs) exact expectation values
    hardware_quantum: np.ndarray    # (n, n_outputs) NaN where the job gave up
    records: list[JobRecord]

    @property
    def exact_accuracy(self) -> float:
        return float((self.exact_pred == self.labels).mean())

    @property
    def hardware_accuracy(self) -> float:
        return float((self.hardware_pred == self.labels).mean())

    @property
    def failed_chunks(self) -> list[int]:
        return [r.chunk for r in self.records if r.status != "done"]


def _quantum_io(model: nn.Module, images: torch.Tensor, replace: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``model`` capturing the quantum layer's inputs and outputs; with ``replace``, its output
    is replaced by those values. Returns (features (n, n_inputs), quantum out, logits)."""
    seen: dict[str, torch.Tensor] = {}

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        seen["x"], seen["y"] = args[0].detach(), output.detach()
        return None if replace is None else replace.to(dtype=output.dtype)

    handle = model.quantum.register_forward_hook(hook)
    try:
        with torch.no_grad():
            logits = model(images)
    finally:
        handle.remove()
    return seen["x"], seen["y"], logits


def _parameter_matrix(isa_parameters: list, ansatz: Any, features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, n_isa_params): each sample's features and the weights in the ISA circuit's parameter order."""
    column = {p: ("x", j) for j, p in enumerate(ansatz.input_params)}
    column |= {p: ("w", k) for k, p in enumerate(ansatz.weight_params)}
    out = np.empty((features.shape[0], len(isa_parameters)))
    for c, p in enumerate(isa_parameters):
        kind, j = column[p]
        out[:, c] = features[:, j] if kind == "x" else weights[j]
    return out


def submit_run(run_dir: str | Path, target: str | Target, dataset: str | None = None, limit: int = 32,
               chunk_size: int = 32, shots: int | None = None, max_attempts: int = 3,
               data_dir: str | None = None, seed: int | None = None, log: Callable[[str], None] = print
               ) -> SubmitResult:
    """Run the first ``limit`` validation images of a run on ``target``, ``chunk_size`` per job.

    Job records go to RUN_DIR/jobs/<target>/ as each job is sent; results to RUN_DIR/submit/<target>/
    (predictions.csv, summary.json). Calling again after a crash fetches what was sent.
    """
    for name, value, low in (("limit", limit, 1), ("chunk_size", chunk_size, 1), ("max_attempts", max_attempts, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    spec = load_target(target)
    precision = resolve_precision(spec.runtime, shots, None)
    backend = get_backend(spec)   # a real backend without credentials fails here, before any work
    model, config = load_run(run_dir)
    data = run_dataset(config, dataset, data_dir)
    n = min(limit, len(data.val))
    images, labels_t = next(iter(BatchLoader(Split(data.val.images[:n], data.val.labels[:n]), n)))
    labels = labels_t.numpy()
    features, exact_q, exact_logits = _quantum_io(model, images)

    ansatz = model.quantum.ansatz
    isa, observables = transpile_for(ansatz, spec, backend)
    weights = model.quantum.weight.detach().double().numpy()
    values = _parameter_matrix(list(isa.parameters), ansatz, features.double().numpy(), weights)
    local = is_local(backend)
    opened: list[Any] = []   # (mode, estimator), made on the first submit: fetching opens nothing

    def submit(chunk_values: np.ndarray) -> Any:
        if not opened:
            restrict_local_noise(backend, isa)
            mode = open_mode(backend)
            opened.extend([mode, make_estimator(mode, spec.runtime, precision, local, seed)])
        return opened[1].run([(isa, [[o] for o in observables], chunk_values)])

    retrieve = None if local else runtime_service(spec.backend.instance).job
    chunks = [(list(range(s, min(s + chunk_size, n))), values[s:s + chunk_size]) for s in range(0, n, chunk_size)]
    try:
        records = run_chunks(JobStore(run_dir, spec.name), chunks, backend.name, submit, retrieve, local,
                             max_attempts, log)
    finally:
        if opened:
            opened[0].close()   # the Batch takes no more jobs; those sent have finished
    hw_q = np.full(exact_q.shape, np.nan)
    for r in records:
        if r.status == "done":
            hw_q[r.samples] = np.asarray(r.evs)
    done = ~np.isnan(hw_q).any(axis=1)
    _, _, hw_logits = _quantum_io(model, images, torch.from_numpy(np.nan_to_num(hw_q)))
    hw_pred = np.where(done, hw_logits.argmax(1).numpy(), -1)
    result = SubmitResult(spec.name, backend.name, labels, exact_logits.argmax(1).numpy(), hw_pred,
                          exact_q.double().numpy(), hw_q, records)
    _write_results(Path(run_dir) / SUBMIT_DIR / spec.name, result, data.class_names, precision)
    return result


def _write_results(folder: Path, r: SubmitResult, class_names: tuple[str, ...], precision: float) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    k = r.exact_quantum.shape[1]
    writer.writerow(["sample", "label", "exact_pred", "hardware_pred"]
                    + [f"exact_q{j}" for j in range(k)] + [f"hardware_q{j}" for j in range(k)])
    for i in range(len(r.labels)):
        writer.writerow([i, int(r.labels[i]), int(r.exact_pred[i]), int(r.hardware_pred[i])]
                        + [f"{v:.6f}" for v in r.exact_quantum[i]] + [f"{v:.6f}" for v in r.hardware_quantum[i]])
    atomic_write_text(folder / "predictions.csv", buffer.getvalue())
    diff = r.hardware_quantum - r.exact_quantum
    summary = {
        "target": r.target, "backend": r.backend, "samples": len(r.labels), "class_names": list(class_names),
        "precision": precision, "exact_accuracy": r.exact_accuracy, "hardware_accuracy": r.hardware_accuracy,
        "agreement": float((r.exact_pred == r.hardware_pred).mean()),
        "mean_abs_expectation_error": None if np.isnan(diff).all() else float(np.nanmean(np.abs(diff))),
        "jobs": [{"chunk": j.chunk, "job_id": j.job_id, "status": j.status, "attempts": j.attempts}
                 for j in r.records],
        "failed_chunks": r.failed_chunks,
    }
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=2) + "\n")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "submit", help="run a trained model's inference on a backend (fake or real IBM)",
        description="Evaluate the first --limit validation images of a `qsnn train` run on a target's "
                    "backend through qiskit-ibm-runtime's EstimatorV2 (Batch mode), beside the exact "
                    "simulator. Job ids go to RUN_DIR/jobs/<target>/ as soon as each job exists; running "
                    "the same command again after a crash fetches those jobs instead of sending them "
                    "again. Results: RUN_DIR/submit/<target>/predictions.csv and summary.json. A real "
                    "backend needs a saved IBM Quantum account or QISKIT_IBM_TOKEN.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `qsnn train`")
    p.add_argument("--target", required=True,
                   help=f"a target name ({', '.join(target_names())}) or the path of a target .toml file")
    p.add_argument("--dataset", help="dataset of the images (default: the run's)")
    p.add_argument("--data-dir", help="folder of --dataset (torchvision root or IDX folder)")
    p.add_argument("--limit", type=int, default=32, help="number of validation images (default 32)")
    p.add_argument("--chunk-size", type=int, default=32, help="images per job (default 32)")
    p.add_argument("--shots", type=int, help="shots per expectation value (default: the target's)")
    p.add_argument("--max-attempts", type=int, default=3,
                   help="times a chunk is sent before its failure is final (default 3)")
    p.add_argument("--seed", type=int, help="simulator seed (local testing mode only)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    r = submit_run(args.run_dir, args.target, args.dataset, args.limit, args.chunk_size, args.shots,
                   args.max_attempts, args.data_dir, args.seed)
    print(f"{r.backend} ({r.target}): {len(r.labels)} images, accuracy {100 * r.hardware_accuracy:.2f}% "
          f"(exact simulator {100 * r.exact_accuracy:.2f}%), predictions agree on "
          f"{100 * float((r.exact_pred == r.hardware_pred).mean()):.2f}%")
    if r.failed_chunks:
        print(f"chunks {r.failed_chunks} failed after every attempt; their images count as wrong")
    print(f"wrote {Path(args.run_dir) / SUBMIT_DIR / r.target}/ (predictions.csv, summary.json)")
    return 1 if r.failed_chunks else 0
