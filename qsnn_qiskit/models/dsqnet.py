"""DSQ-Net (Konar et al. 2023): a pretrained, frozen spiking MLP under a dressed quantum net."""
from __future__ import annotations

import copy
import math
import os
from typing import Any

import torch
from torch import nn

from .._checks import check_int
from ..circuits import build_ansatz
from ..qnn import QuantumLayer
from .spiking_mlp import SpikingFeatures, SpikingMLP

#: Pre-net outputs become circuit angles tanh(z) * ANGLE_SCALE in (-pi/2, pi/2), as in the dressed
#: quantum circuits of Mari et al. (2020) that DSQ-Net's DressedQuantumNet follows.
ANGLE_SCALE = math.pi / 2


class DressedQuantumNet(nn.Module):
    """Linear pre-net -> angles -> variational circuit -> Z readout -> Linear post-net.

    features (batch, n_features) -> Linear(n_features -> ansatz inputs) -> tanh * pi/2 ->
    circuit, <Z_i> per qubit (batch, n_qubits) in [-1, 1] -> Linear(n_qubits -> n_classes) -> logits.

    ``engine`` (default the fast exact ``torch``) and ``engine_options`` choose where the circuit runs.
    """

    def __init__(self, n_features: int, n_classes: int, n_qubits: int = 6, blocks: int = 2,
                 ansatz: str = "sqnn", init: str = "normal_2pi", seed: int | None = None,
                 engine: str = "torch", ansatz_options: dict[str, Any] | None = None,
                 **engine_options: Any) -> None:
        super().__init__()
        check_int("n_features", n_features, 1)
        check_int("n_classes", n_classes, 2)
        circuit = build_ansatz(ansatz, n_qubits, blocks, **(ansatz_options or {}))
        self.pre_net = nn.Linear(n_features, circuit.n_inputs)
        self.quantum = QuantumLayer(circuit, engine=engine, init=init, seed=seed, **engine_options)
        self.post_net = nn.Linear(circuit.n_outputs, n_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        angles = torch.tanh(self.pre_net(features)) * ANGLE_SCALE
        return self.post_net(self.quantum(angles))


def _spiking_features(pretrained: SpikingMLP | str | os.PathLike | None,
                      snn_config: dict[str, Any]) -> SpikingFeatures:
    """A copy of the feature part of ``pretrained``, checked against ``snn_config``; fresh if None."""
    if pretrained is None:
        return SpikingFeatures(**snn_config)
    if isinstance(pretrained, (str, os.PathLike)):
        pretrained = SpikingMLP.load(pretrained)
    if not isinstance(pretrained, SpikingMLP):
        raise TypeError("pretrained must be a SpikingMLP, the path of a file written by SpikingMLP.save, "
                        f"or None; got {type(pretrained).__name__}")
    wrong = [f"{k}={pretrained.config[k]!r} (DSQNet was given {v!r})"
             for k, v in snn_config.items() if pretrained.config[k] != v]
    if wrong:
        raise ValueError("the pretrained spiking MLP does not match this DSQNet's configuration: "
                         + ", ".join(wrong) + "; pass the pretrained values")
    return copy.deepcopy(pretrained.features)


class DSQNet(nn.Module):
    """DSQ-Net (PAPER.md, "DSQ-Net"): images (batch, C, H, W) in [0, 1] -> logits (batch, n_classes).

    ``features``: the spiking MLP without its classifier (Linear(in_features -> hidden), IF over T
    steps, temporal average pooling) -> spike rates (batch, hidden). ``dressed``: DressedQuantumNet.

    Args:
        n_classes: classes (the paper uses 5-class subsets).
        pretrained: a trained ``SpikingMLP``, the path of its ``SpikingMLP.save`` file, or None (a
            fresh, untrained spiking part: for shapes, tests or ``freeze=False`` end-to-end training).
            A given one is copied, so the caller's model is left as it was.
        n_qubits, blocks, ansatz, ansatz_options, init, seed: the circuit; default the SQNN circuit of
            Konar et al. (H RZ(x) encoding, ``blocks`` x [RX RZ(w), CNOT ring]) on 6 qubits, 2 layers
            (the reference notebooks' "6x2" MNIST/KMNIST model; 5 qubits is the other size used).
        in_features, hidden, T, coding, threshold: the spiking part; a pretrained one must match.
            ``coding="direct"`` (default) feeds the image as a constant current at every step, which
            is what DSQ-Net's KerasSpiking SpikingReLU layer does; "rate" and "phase" also exist.
        freeze: the spiking part gets no gradient (requires_grad False) and stays in eval mode,
            as in the paper.
        engine, engine_options: where the circuit runs (default torch); not part of the state.
    """

    def __init__(self, n_classes: int = 5, pretrained: SpikingMLP | str | os.PathLike | None = None,
                 n_qubits: int = 6, blocks: int = 2, ansatz: str = "sqnn", in_features: int = 784,
                 hidden: int = 128, T: int = 10, coding: str = "direct", threshold: float = 1.0,
                 freeze: bool = True, init: str = "normal_2pi", seed: int | None = None,
                 engine: str = "torch", ansatz_options: dict[str, Any] | None = None,
                 **engine_options: Any) -> None:
        super().__init__()
        if not isinstance(freeze, bool):
            raise TypeError(f"freeze must be True or False; got {freeze!r}")
        snn_config = {"in_features": in_features, "hidden": hidden, "T": T, "coding": coding,
                      "threshold": threshold}
        self.snn_config = snn_config
        self.features = _spiking_features(pretrained, snn_config)
        self.dressed = DressedQuantumNet(hidden, n_classes, n_qubits, blocks, ansatz, init, seed, engine,
                                         ansatz_options, **engine_options)
        self.freeze = freeze
        if freeze:
            self.features.requires_grad_(False).eval()

    def load_pretrained(self, pretrained: SpikingMLP | str | os.PathLike) -> None:
        """Copy the feature weights of a trained ``SpikingMLP`` (or its ``save`` file) into this model,
        in place (optimisers holding its parameters stay valid); ``ValueError`` if its configuration
        differs from this model's."""
        self.features.load_state_dict(_spiking_features(pretrained, self.snn_config).state_dict())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.freeze:
            with torch.no_grad():
                rates = self.features(images)
        else:
            rates = self.features(images)
        return self.dressed(rates)

    def train(self, mode: bool = True) -> "DSQNet":
        """Set training mode; a frozen spiking part stays in eval mode."""
        super().train(mode)
        if self.freeze:
            self.features.eval()
        return self

