"""SQDR-CNN: spiking conv encoder -> quantum layer -> Linear (or the circuit outputs as logits), and
its baselines with a classical stand-in (or nothing) in place of the circuit."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._checks import check_int
from ..circuits import build_ansatz
from ..qnn import QuantumLayer
from ..spiking.encoder import SpikingConvEncoder
from .standins import STAND_INS, build_stand_in


class FirstOutputs(nn.Module):
    """The parameter-free head of ``head="none"``: x (batch, n_outputs) -> x[:, :k] (batch, k)."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :self.k]

    def extra_repr(self) -> str:
        return f"k={self.k}"


#: ``SQDRCNN(head=...)`` choices: the paper's Linear post-processing, or the circuit's outputs as logits.
HEADS = ("linear", "none")


class SQDRCNN(nn.Module):
    """Spiking-Quantum Data Re-upload CNN (PAPER.md, "SQDR-CNN").

    images (batch, in_channels, H, W) in [0, 1] -> phase coding (T steps, K phases) -> spiking conv
    encoder -> spike rates (batch, n_inputs) -> quantum layer (batch, n_qubits) in [-1, 1] ->
    head -> logits (batch, n_classes).

    ``head`` picks the post-processing: ``"linear"`` (default, the paper's MLP) is
    Linear(n_qubits -> n_classes); ``"none"`` takes the first n_classes outputs <Z_0>, ...,
    <Z_{n_classes-1}> of the quantum layer as the logits, with no classical parameters after the
    circuit (the "without MLP" model of the paper's Figure 4; it needs n_qubits >= n_classes).

    The encoder's width follows the ansatz: 3 * n_qubits features for ``reupload``, ``product`` and
    ``hea``, n_qubits for ``sqnn``.

    Baselines of the same shape (``models.standins.STAND_INS``) keep the encoder and the head and
    replace only the circuit: ``ansatz="classical"`` is a ``ClassicalReupload`` layer of the re-upload
    circuit's widths and weight count (``blocks`` deep), ``ansatz="none"`` feeds the encoder's
    3 * n_qubits rates straight into the head (``blocks`` unused). ``model.quantum`` is the
    ``QuantumLayer``, or None for these; ``model.stand_in`` is the layer in its place, or None for a
    circuit. They run on the ``torch`` engine only, take no engine options (no noise) and ignore
    ``init`` (a scheme of rotation angles); ``ansatz="product"`` is the re-upload circuit without
    entanglers, a circuit like the others.

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
                 relu_logits: bool = False, head: str = "linear", ansatz_options: dict[str, Any] | None = None,
                 **engine_options: Any) -> None:
        super().__init__()
        check_int("n_classes", n_classes, 2)
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; known: {', '.join(HEADS)}")
        if ansatz in STAND_INS and ansatz_options:
            raise ValueError(f"ansatz {ansatz!r} is no circuit, so it takes no ansatz_options; got {ansatz_options!r}")
        stand_in = (build_stand_in(ansatz, n_qubits, blocks, seed, engine, engine_options)
                    if ansatz in STAND_INS else None)
        circuit = None if stand_in is not None else build_ansatz(ansatz, n_qubits, blocks, **(ansatz_options or {}))
        n_inputs, n_outputs = ((circuit.n_inputs, circuit.n_outputs) if circuit is not None
                               else (stand_in.n_inputs, stand_in.n_outputs))
        if head == "none" and n_outputs < n_classes:
            raise ValueError(f"head='none' takes the logits straight from the {ansatz!r} layer's outputs, so it "
                             f"needs at least n_classes={n_classes} of them; on {n_qubits} qubits it has "
                             f"{n_outputs}. Use n_qubits >= {n_classes}, fewer classes, or head='linear'")
        self.encoder = SpikingConvEncoder(in_channels, n_inputs, T, K)
        self.quantum: QuantumLayer | None = (
            None if circuit is None else QuantumLayer(circuit, engine=engine, init=init, seed=seed, **engine_options))
        self.stand_in: nn.Module | None = stand_in
        self.head: nn.Module = nn.Linear(n_outputs, n_classes) if head == "linear" else FirstOutputs(n_classes)
        self.relu_logits = relu_logits

    @property
    def core(self) -> nn.Module:
        """The layer between encoder and head: the quantum layer, or the baseline's stand-in."""
        return self.quantum if self.quantum is not None else self.stand_in

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.core(self.encoder(images)))
        return torch.relu(logits) if self.relu_logits else logits


def count_trainable(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
