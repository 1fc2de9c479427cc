"""The submit pipeline: inference of a trained run on a target's backend, beside the exact
simulator's, in chunks sent as jobs that survive restarts (`jobs.JobStore`); results written to
RUN_DIR/submit/<target>/ (predictions.csv, summary.json)."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .._atomic import atomic_write_text
from .._checks import check_int
from ..backends import Target, get_backend, load_target, runtime_service, transpile_for
from ..backends.packing import MIN_SUCCESS, check_min_success, choose_packing, resolve_pack
from ..backends.primitives import is_local, make_estimator, open_mode, resolve_precision, restrict_local_noise
from ..data import BatchLoader, Split
from ..training import load_run, run_dataset, rundir
from .circuit import quantum_layer, require_circuit
from .jobs import JobRecord, JobStore, run_chunks

SUBMIT_DIR = "submit"


@dataclass
class SubmitResult:
    """Per-sample labels and predictions on the backend and on the exact noiseless simulator."""

    target: str
    backend: str
    labels: np.ndarray              # (n,)
    exact_pred: np.ndarray          # (n,)
    hardware_pred: np.ndarray       # (n,) -1 where the job gave up
    exact_quantum: np.ndarray       # (n, n_outputs) exact expectation values
    hardware_quantum: np.ndarray    # (n, n_outputs) NaN where the job gave up
    records: list[JobRecord]
    pack: str = "none"              # how the jobs ran: light "cones" or the whole circuit ("none")
    trained_noise: str | None = None   # the noise the model trained under (the exact reference is noiseless)

    @property
    def exact_accuracy(self) -> float:
        return float((self.exact_pred == self.labels).mean())

    @property
    def hardware_accuracy(self) -> float:
        return float((self.hardware_pred == self.labels).mean())

    @property
    def failed_chunks(self) -> list[int]:
        return [r.chunk for r in self.records if r.status != "done"]


def _quantum_io(model: nn.Module, layer: nn.Module, images: torch.Tensor, replace: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``model`` capturing the inputs and outputs of its quantum ``layer``; with ``replace``, the
    layer's output is replaced by those values. Returns (features (n, n_inputs), quantum out, logits)."""
    seen: dict[str, torch.Tensor] = {}

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        seen["x"], seen["y"] = args[0].detach(), output.detach()
        return None if replace is None else replace.to(dtype=output.dtype)

    handle = layer.register_forward_hook(hook)
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
               data_dir: str | None = None, seed: int | None = None, log: Callable[[str], None] = print,
               pack: str | None = None, min_success: float = MIN_SUCCESS, preview: bool = True) -> SubmitResult:
    """Run the first ``limit`` validation images of a run on ``target``, ``chunk_size`` per job.

    Job records go to RUN_DIR/jobs/<target>/ as each job is sent; results to RUN_DIR/submit/<target>/
    (predictions.csv, summary.json). Calling again after a crash fetches what was sent. A run
    without a circuit (``--ansatz classical|none``) is a ``ValueError`` before any work.
    ``pack``: ``"cones"`` runs each output's light cone, several images per circuit execution
    (`backends.packing`), ``"none"`` the whole circuit per image; default: cones when every cone
    embeds without SWAPs (and packs at all), else none. ``min_success``: the least estimated success
    probability of a cone's qubit group. ``preview``: a local backend's packed jobs are computed
    cone by cone (`preview.ConePreview`: exact noisy cones, sampled shots), in seconds; False runs
    them through EstimatorV2 in local testing mode, the code path of real hardware (whole circuits
    on Aer, as unpacked jobs always run there: about a minute per image for 2b-9q on fake_torino).
    """
    for name, value in (("limit", limit), ("chunk_size", chunk_size), ("max_attempts", max_attempts)):
        check_int(name, value, 1)
    if pack is not None:
        resolve_pack(pack, False)   # an unknown mode fails before any work
    check_min_success(min_success)
    spec = load_target(target)
    precision = resolve_precision(spec.runtime, shots, None)
    require_circuit(run_dir, "qsnn submit")   # before the backend: a real one would open a connection
    backend = get_backend(spec)   # a real backend without credentials fails here, before any work
    trained_noise = rundir.read_config(run_dir)["model_config"].get("noise")
    model, config = load_run(run_dir, **({"noise": None} if trained_noise else {}))   # the exact reference: noiseless
    data = run_dataset(config, dataset, data_dir)
    n = min(limit, len(data.val))
    images, labels_t = next(iter(BatchLoader(Split(data.val.images[:n], data.val.labels[:n]), n)))
    labels = labels_t.numpy()
    layer = quantum_layer(model)
    features, exact_q, exact_logits = _quantum_io(model, layer, images)

    ansatz = layer.ansatz
    weights = layer.weight.detach().double().numpy()
    x = features.double().numpy()
    packed, mode = choose_packing(ansatz, spec, backend, pack, min(chunk_size, n), min_success, log)
    isa, observables = (packed.isa, packed.observables) if packed is not None else transpile_for(ansatz, spec, backend)

    def rows(part: np.ndarray) -> np.ndarray:
        """Parameter values for the samples ``part``: packed image slots, or one circuit run per sample."""
        if packed is not None:
            return packed.rows(part, weights)
        return _parameter_matrix(list(isa.parameters), ansatz, part, weights)

    chunks = [(list(range(s, min(s + chunk_size, n))), rows(x[s:s + chunk_size])) for s in range(0, n, chunk_size)]
    local = is_local(backend)
    opened: dict[str, Any] = {}   # made on the first submit (fetching opens nothing): a cone preview, or mode + estimator

    def submit(chunk_values: np.ndarray) -> Any:
        if packed is not None and local and preview:
            if "preview" not in opened:
                from .preview import ConePreview
                opened["preview"] = ConePreview(packed, backend)
            return opened["preview"].run(chunk_values, precision, seed)
        if "estimator" not in opened:
            restrict_local_noise(backend, isa)
            opened["mode"] = open_mode(backend)
            opened["estimator"] = make_estimator(opened["mode"], spec.runtime, precision, local, seed)
        return opened["estimator"].run([(isa, [[o] for o in observables], chunk_values)])

    retrieve = None if local else runtime_service(spec.backend.instance).job
    decode = None if packed is None else packed.demux
    try:
        records = run_chunks(JobStore(run_dir, spec.name), chunks, backend.name, submit, retrieve, local,
                             max_attempts, log, decode)
    finally:
        if "mode" in opened:
            opened["mode"].close()   # the Batch takes no more jobs; those sent have finished
    hw_q = np.full(exact_q.shape, np.nan)
    for r in records:
        if r.status == "done":
            hw_q[r.samples] = np.asarray(r.evs)
    done = ~np.isnan(hw_q).any(axis=1)
    _, _, hw_logits = _quantum_io(model, layer, images, torch.from_numpy(np.nan_to_num(hw_q)))
    hw_pred = np.where(done, hw_logits.argmax(1).numpy(), -1)
    result = SubmitResult(spec.name, backend.name, labels, exact_logits.argmax(1).numpy(), hw_pred,
                          exact_q.double().numpy(), hw_q, records, mode, trained_noise)
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
        "precision": precision, "pack": r.pack, "trained_noise": r.trained_noise,
        "exact_accuracy": r.exact_accuracy, "hardware_accuracy": r.hardware_accuracy,
        "agreement": float((r.exact_pred == r.hardware_pred).mean()),
        "mean_abs_expectation_error": None if np.isnan(diff).all() else float(np.nanmean(np.abs(diff))),
        "jobs": [{"chunk": j.chunk, "job_id": j.job_id, "status": j.status, "attempts": j.attempts}
                 for j in r.records],
        "failed_chunks": r.failed_chunks,
    }
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=2) + "\n")
