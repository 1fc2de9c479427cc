"""PPF-QSNN (Xu et al. 2024): a spiking branch and a quantum branch in parallel, fused in proportion."""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._inputs import as_dtype_of, check_images
from .dsqnet import DressedQuantumNet
from .spiking_mlp import SpikingMLP


def _check_alpha(alpha: Any, learn_alpha: Any) -> None:
    if not isinstance(learn_alpha, bool):
        raise TypeError(f"learn_alpha must be True or False; got {learn_alpha!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha (the spiking branch's share) must be a number in [0, 1]; got {alpha!r}")
    if learn_alpha and alpha in (0, 1):
        raise ValueError(f"a learned alpha starts strictly inside (0, 1) (alpha = sigmoid(a)); got {alpha!r}")


class PPFQSNN(nn.Module):
    """PPF-QSNN (PAPER.md, "PPF-QSNN"): images (batch, C, H, W) in [0, 1] -> logits (batch, n_classes).

    The same images go to both branches; the output is
    ``alpha * spiking(images) + (1 - alpha) * quantum(images)``.

    - ``spiking``: a SpikingMLP (flatten -> Linear(in_features -> hidden) -> IF over T steps ->
      temporal average -> Linear(hidden -> n_classes)); ``coding="rate"`` (default) is the Poisson
      spike coding of the pixels that PPF-QSNN describes.
    - ``quantum``: a DressedQuantumNet on the flattened pixels: Linear(in_features -> circuit
      inputs) -> tanh * pi/2 -> circuit (default: data re-upload, 6 qubits, 2 blocks) -> <Z_i> ->
      Linear(n_qubits -> n_classes).

    Args:
        alpha: the fusion ratio, the spiking branch's share in [0, 1] (fixed), or the starting value
            of a learned one (then strictly inside (0, 1)).
        learn_alpha: alpha = sigmoid(a) with ``a`` a Parameter (``alpha_logit``) trained with the rest.
        engine, engine_options: where the circuit runs (default torch); not part of the state.
    """

    def __init__(self, n_classes: int = 10, alpha: float = 0.5, learn_alpha: bool = False,
                 n_qubits: int = 6, blocks: int = 2, ansatz: str = "reupload", in_features: int = 784,
                 hidden: int = 128, T: int = 10, coding: str = "rate", threshold: float = 1.0,
                 init: str = "normal_2pi", seed: int | None = None, engine: str = "torch",
                 ansatz_options: dict[str, Any] | None = None, **engine_options: Any) -> None:
        super().__init__()
        _check_alpha(alpha, learn_alpha)
        self.spiking = SpikingMLP(n_classes, in_features, hidden, T, coding, threshold)
        self.quantum = DressedQuantumNet(in_features, n_classes, n_qubits, blocks, ansatz, init, seed,
                                         engine, ansatz_options, **engine_options)
        self.learn_alpha = learn_alpha
        if learn_alpha:
            self.alpha_logit = nn.Parameter(torch.tensor(math.log(alpha / (1 - alpha))))
        else:
            # configuration, not state: a checkpoint loads into a model of any fixed alpha
            self.register_buffer("fixed_alpha", torch.tensor(float(alpha)), persistent=False)

    @property
    def alpha(self) -> torch.Tensor:
        """The current fusion ratio (a 0-dim tensor in [0, 1])."""
        return torch.sigmoid(self.alpha_logit) if self.learn_alpha else self.fixed_alpha

    def branches(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(spiking logits, quantum logits), each (batch, n_classes), for the same images."""
        check_images(images)
        images = as_dtype_of(images, self)
        return self.spiking(images), self.quantum(images.flatten(1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        spiking, quantum = self.branches(images)
        alpha = self.alpha
        return alpha * spiking + (1 - alpha) * quantum
