"""What an engine is: a callable that runs an ansatz on a batch, differentiably, in torch."""
from __future__ import annotations

from typing import Protocol

import torch


class Engine(Protocol):
    """Executes one ansatz. Built once per layer; holds no trainable state of its own.

    ``engine(inputs, weights)``: inputs (batch, n_inputs) and weights (n_weights,) in radians ->
    expectation values (batch, n_outputs), differentiable with respect to both.
    """

    name: str

    def __call__(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor: ...
