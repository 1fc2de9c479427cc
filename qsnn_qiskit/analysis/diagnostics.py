"""Gradient diagnostics of the quantum layer (the SQDR-CNN paper's Figures 4 and 5).

- Figure 4: the variance of the gradient of the loss with respect to the circuit weights, recorded
  after every backward while a model trains (`train_with_gradient_variance`), to compare a model
  with the Linear post-processing head and one without (``SQDRCNN(head="none")``).
- Figure 5: the variance, over random weight initialisations and random inputs, of the gradient
  of an expectation value E with respect to the first circuit weight, against qubit count, per
  initialisation scheme (`variance_vs_qubits`), and its decay rate (`decay_slope`).

Every variance here is the population variance (divisor N) over the entries it names.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp
from torch import nn

from .._checks import check_int
from ..circuits import Ansatz, build_ansatz, z_observables
from ..circuits.init import INIT_SCHEMES, check_init
from ..data import BatchLoader
from ..engines import make_engine
from ..training import evaluate, train_epoch
from ..training.optim import Optimizer, Scheduler


def variance(values: torch.Tensor) -> float:
    """Population variance mean((v - mean(v))^2) over every entry of ``values`` (any shape)."""
    v = values.detach().reshape(-1).to(torch.float64)
    if v.numel() == 0:
        raise ValueError("variance of an empty tensor is undefined")
    return float(((v - v.mean()) ** 2).mean())


class GradientVarianceRecorder:
    """Appends ``variance(grad)`` of ``parameter`` to ``values`` each time a backward pass reaches it.

    A tensor hook on the leaf sees the gradient of that backward alone (before it accumulates into
    ``.grad``), so one optimiser step with one backward gives one value. Use as a context manager,
    or call ``remove()`` when done.
    """

    def __init__(self, parameter: torch.Tensor) -> None:
        if not parameter.requires_grad:
            raise ValueError("the recorded parameter does not require a gradient")
        self.values: list[float] = []
        self._handle = parameter.register_hook(self._record)

    def _record(self, grad: torch.Tensor) -> None:
        self.values.append(variance(grad))

    def remove(self) -> None:
        self._handle.remove()

    def __enter__(self) -> "GradientVarianceRecorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


@dataclass
class EpochGradients:
    """One training epoch: the weight-gradient variance after each step, and the epoch's metrics.

    ``step_variances`` has one entry per optimiser step (len(train_loader)); losses are mean
    cross-entropy, accuracies in [0, 1], ``seconds`` the wall time of training plus validation.
    """

    epoch: int
    step_variances: list[float] = field(repr=False)
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float

    @property
    def mean_variance(self) -> float:
        """Mean of ``step_variances`` over the epoch."""
        return float(np.mean(self.step_variances))


def train_with_gradient_variance(model: nn.Module, parameter: torch.Tensor, train_loader: BatchLoader,
                                 val_loader: BatchLoader, optimizer: Optimizer, epochs: int, n_classes: int,
                                 scheduler: Scheduler | None = None, device: str = "cpu",
                                 log: Callable[[str], None] | None = print) -> list[EpochGradients]:
    """Train ``model`` for ``epochs`` (``qsnn_qiskit.training.train_epoch``, cross-entropy, one backward
    per batch) recording the variance of d(loss)/d(parameter) over the entries of ``parameter``
    after every backward, and evaluate on ``val_loader`` after each epoch.

    ``parameter`` is typically ``model.quantum.weight`` (n_weights,). The gradient recorded is the
    loss's alone: weight decay is added inside the optimiser step, after the hook has run.
    """
    check_int("epochs", epochs, 1)
    history: list[EpochGradients] = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        with GradientVarianceRecorder(parameter) as recorder:
            train_loss, train_acc = train_epoch(model, train_loader, optimizer, scheduler, device)
        val = evaluate(model, val_loader, n_classes, device)
        row = EpochGradients(epoch, recorder.values, train_loss, train_acc, val.loss, val.accuracy,
                             time.perf_counter() - start)
        history.append(row)
        if log is not None:
            log(f"epoch {epoch}/{epochs}: train loss {train_loss:.4f} acc {100 * train_acc:.2f}%  val loss "
                f"{val.loss:.4f} acc {100 * val.accuracy:.2f}%  mean Var[dL/dtheta] {row.mean_variance:.3e}  "
                f"({row.seconds:.1f} s)")
    return history


#: Figure 5's expectation values E, by name: the observables measured and how E is formed from them.
#: ``z0``: <Z_0>, one model output (local); ``mean_z``: the mean of <Z_j> over all qubits (local
#: terms, normalised); ``global_z``: <Z_0 Z_1 ... Z_{n-1}>, a global observable.
OBSERVABLES: dict[str, Callable[[int], tuple[SparsePauliOp, ...]]] = {
    "z0": lambda n: z_observables(n)[:1],
    "mean_z": z_observables,
    "global_z": lambda n: (SparsePauliOp("Z" * n),),
}


def with_observable(ansatz: Ansatz, observable: str) -> Ansatz:
    """``ansatz`` measuring the observables of E = ``observable`` (an `OBSERVABLES` name)."""
    if observable not in OBSERVABLES:
        raise ValueError(f"unknown observable {observable!r}; known: {', '.join(OBSERVABLES)}")
    return dataclasses.replace(ansatz, observables=OBSERVABLES[observable](ansatz.n_qubits))


def _weights_as_inputs(ansatz: Ansatz) -> Ansatz:
    """The same circuit with its weights appended to its inputs, so each row of a batch carries its
    own weights: features (batch, n_inputs + n_weights) -> outputs (batch, n_outputs)."""
    return dataclasses.replace(ansatz, input_params=(*ansatz.input_params, *ansatz.weight_params),
                               weight_params=())


def weight_gradients(ansatz: Ansatz, inputs: torch.Tensor, weights: torch.Tensor,
                     chunk_size: int = 64) -> torch.Tensor:
    """dE/dweights for each row, E = the mean of ``ansatz``'s observables' expectation values.

    Args:
        inputs: (rows, n_inputs) circuit inputs.
        weights: (rows, n_weights) circuit weights in radians; row r is evaluated with its own.
        chunk_size: rows per engine call (memory grows with it times 2^n_qubits for a global E).

    Returns (rows, n_weights) float64: exact gradients from the torch engine's autograd.
    """
    rows = inputs.shape[0]
    if inputs.shape != (rows, ansatz.n_inputs) or weights.shape != (rows, ansatz.n_weights):
        raise ValueError(f"inputs must be (rows, {ansatz.n_inputs}) and weights (rows, {ansatz.n_weights}); "
                         f"got {tuple(inputs.shape)} and {tuple(weights.shape)}")
    engine = make_engine("torch", _weights_as_inputs(ansatz))
    no_weights = torch.zeros(0, dtype=torch.float64)
    out = []
    for start in range(0, rows, chunk_size):
        w = weights[start:start + chunk_size].to(torch.float64).requires_grad_(True)
        x = inputs[start:start + chunk_size].to(torch.float64)
        energy = engine(torch.cat([x, w], 1), no_weights).mean(1)
        (grad,) = torch.autograd.grad(energy.sum(), w)   # rows are independent: the sum's gradient per row
        out.append(grad)
    return torch.cat(out)


def initial_weights(scheme: str, rows: int, n_weights: int, generator: torch.Generator) -> torch.Tensor:
    """(rows, n_weights) independent draws of ``scheme`` (``qsnn_qiskit.circuits.init.INIT_SCHEMES``)."""
    check_init(scheme)
    return INIT_SCHEMES[scheme](torch.empty(rows, n_weights, dtype=torch.float64), generator)


def variance_vs_qubits(qubits: Sequence[int], schemes: Sequence[str] = tuple(INIT_SCHEMES), blocks: int = 2,
                       draws: int = 500, observable: str = "z0", parameter: int = 0, seed: int = 0,
                       ansatz: str = "reupload") -> dict[str, list[float]]:
    """Var over random draws of dE/dtheta_parameter, per scheme and qubit count (Figure 5).

    For each n in ``qubits`` and each scheme: ``draws`` weight vectors drawn by the scheme and
    ``draws`` input vectors uniform in [0, 1] (the encoder's spike-rate range), one pair per row;
    E = ``observable`` (`OBSERVABLES`). ``parameter`` 0 is theta_{1,1}: the first angle of the first
    qubit in the first block. Returns scheme -> [variance for each n], in the order of ``qubits``.
    """
    if draws < 2:
        raise ValueError(f"draws must be >= 2 to estimate a variance; got {draws!r}")
    generator = torch.Generator().manual_seed(seed)
    result: dict[str, list[float]] = {s: [] for s in schemes}
    for n in qubits:
        circuit = with_observable(build_ansatz(ansatz, n, blocks), observable)
        if not 0 <= parameter < circuit.n_weights:
            raise ValueError(f"parameter must be in [0, {circuit.n_weights}) for {n} qubits; got {parameter!r}")
        for scheme in schemes:
            weights = initial_weights(scheme, draws, circuit.n_weights, generator)
            inputs = torch.rand(draws, circuit.n_inputs, generator=generator, dtype=torch.float64)
            result[scheme].append(variance(weight_gradients(circuit, inputs, weights)[:, parameter]))
    return result


def decay_slope(qubits: Sequence[int], variances: Sequence[float]) -> float:
    """Least-squares slope of ln(variance) against qubit count, per qubit: Var ~ exp(slope * n)."""
    if len(qubits) != len(variances) or len(qubits) < 2:
        raise ValueError(f"need at least two (qubits, variance) pairs of equal length; got {len(qubits)} "
                         f"and {len(variances)}")
    return float(np.polyfit(np.asarray(qubits, dtype=float), np.log(np.asarray(variances, dtype=float)), 1)[0])


__all__ = ["EpochGradients", "GradientVarianceRecorder", "OBSERVABLES", "decay_slope", "initial_weights",
           "train_with_gradient_variance", "variance", "variance_vs_qubits", "weight_gradients",
           "with_observable"]
