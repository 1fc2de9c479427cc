"""The quantum layer: one torch Parameter of circuit weights, executed by a chosen engine."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._inputs import check_real_tensor
from .circuits import Ansatz
from .circuits.init import init_weights
from .engines import make_engine


class QuantumLayer(nn.Module):
    """An ansatz as a torch layer: ``layer(x)`` with x (batch, n_inputs) -> (batch, n_outputs).

    Args:
        ansatz: the circuit, its input and weight parameters and its observables.
        engine: where it executes (``qsnn_qiskit.engines.ENGINES``); a run-time choice only.
        init: weight initialisation scheme (``qsnn_qiskit.circuits.init.INIT_SCHEMES``).
        seed: seed of the initial weights (``None``: fresh randomness).
        **engine_options: passed to the engine. torch: ``device``, ``noise``, ``precision``;
            aer: ``device`` ("CPU"/"GPU"), ``method``, ``seed``, ``noise``, ``shots``;
            runtime: ``target``, ``shots``, ``precision``, ``session``, ``seed`` (and no ``noise``:
            hardware brings its own). ``noise`` is a ``NoiseSpec``, an Aer ``NoiseModel``, a
            ``--noise`` string or a fake backend name (``qsnn_qiskit.circuits.noise.noisy_circuit``);
            an engine that cannot express it refuses it (aer: the input-dependent damping of the
            ``reference`` preset).

    ``layer.weight`` (n_weights,) is the only state; ``state_dict`` is the same for every engine, so
    a layer trained on one engine loads into another.
    """

    def __init__(self, ansatz: Ansatz, engine: str = "torch", init: str = "normal_2pi",
                 seed: int | None = None, **engine_options: Any) -> None:
        super().__init__()
        self.ansatz = ansatz
        self.weight = nn.Parameter(init_weights(ansatz.n_weights, init, seed))
        self.engine_name = engine
        self._engine = make_engine(engine, ansatz, **engine_options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: a real floating tensor (batch, n_inputs) of finite angles -> (batch, n_outputs) in the
        dtype of ``x``; an empty batch gives an empty (0, n_outputs) output (engines never see it)."""
        shape = f"(batch, {self.ansatz.n_inputs})"
        check_real_tensor(x, "quantum layer input", shape)
        if x.ndim != 2:
            raise ValueError(f"quantum layer input must have shape {shape}; got {tuple(x.shape)}")
        self.ansatz.check_features(x.shape[1])
        if not torch.isfinite(x).all():
            raise ValueError("quantum layer input contains NaN or Inf; circuit angles must be finite")
        if x.shape[0] == 0:   # still attached to the weights, so a loss over it can be backpropagated
            return x.new_zeros(0, self.ansatz.n_outputs) + 0 * self.weight.sum().to(x.dtype)
        return self._engine(x, self.weight)

    def extra_repr(self) -> str:
        a = self.ansatz
        return (f"ansatz={a.name!r}, qubits={a.n_qubits}, inputs={a.n_inputs}, "
                f"weights={a.n_weights}, outputs={a.n_outputs}, engine={self.engine_name!r}")
