"""SQDR-CNN: spiking conv encoder -> quantum layer -> Linear."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..circuits import build_ansatz
from ..encoder import SpikingConvEncoder
from ..qnn import QuantumLayer


class SQDRCNN(nn.Module):
    """Spiking-Quantum Data Re-upload CNN (PAPER.md, "SQDR-CNN").

    images (batch, in_channels, H, W) in [0, 1] -> phase coding (T steps, K phases) -> spiking conv
    encoder -> spike rates (batch, n_inputs) -> quantum layer (batch, n_qubits) in [-1, 1] ->
    Linear(n_qubits -> n_classes) -> logits (batch, n_classes).

    The encoder's width follows the ansatz: 3 * n_qubits features for ``reupload`` and ``hea``,
    n_qubits for ``sqnn``.

    ``relu_logits=True`` reproduces the reference code's ReLU after the last Linear. It is off by
    default: a ReLU on logits clips every negative class score to 0, so a sample whose scores are
    all negative gets a flat softmax and no gradient through the clipped classes, and the paper's
    description of the post-processing MLP has no such activation.

    ``engine`` and ``engine_options`` choose where the circuit runs; they are not part of the
    model's state, so a checkpoint moves between engines.
    """

    def __init__(self, n_qubits: int = 9, blocks: int = 2, ansatz: str = "reupload",
                 n_classes: int = 10, in_channels: int = 1, T: int = 10, K: int = 8,
                 engine: str = "torch", init: str = "normal_2pi", seed: int | None = None,
                 relu_logits: bool = False, ansatz_options: dict[str, Any] | None = None,
                 **engine_options: Any) -> None:
        super().__init__()
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2; got {n_classes!r}")
        circuit = build_ansatz(ansatz, n_qubits, blocks, **(ansatz_options or {}))
        self.encoder = SpikingConvEncoder(in_channels, circuit.n_inputs, T, K)
        self.quantum = QuantumLayer(circuit, engine=engine, init=init, seed=seed, **engine_options)
        self.head = nn.Linear(circuit.n_outputs, n_classes)
        self.relu_logits = relu_logits

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.quantum(self.encoder(images)))
        return torch.relu(logits) if self.relu_logits else logits


def count_trainable(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
