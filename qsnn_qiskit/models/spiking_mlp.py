"""The classical spiking MLP of DSQ-Net (and PPF-QSNN's spiking branch), its checkpoint and pretraining.

images (batch, C, H, W) in [0, 1] -> input coding over T steps -> flatten -> Linear(in_features ->
hidden) -> IF neurons -> temporal average pooling -> spike rates (batch, hidden) in [0, 1] ->
Linear(hidden -> n_classes) -> logits.
"""
from __future__ import annotations

import math
import os
from typing import Any, Callable, Iterable

import torch
from torch import nn

from .._checkpoint import CheckpointFormat, load_checkpoint, save_checkpoint
from .._checks import check_int
from .._inputs import as_dtype_of, check_images
from ..spiking.coding import phase_encode, rate_encode
from ..spiking.neurons import IFNeuron

#: Marks a file written by ``SpikingMLP.save``; any other file is refused.
SPIKING_MLP_CHECKPOINT = CheckpointFormat(marker="qsnn-spiking-mlp", version=1, kind="spiking MLP checkpoint",
                                          advice="write one with SpikingMLP.save")


def _direct(images: torch.Tensor, T: int) -> torch.Tensor:
    """The analog image as a constant input current at every step: (batch, ...) -> (T, batch, ...)."""
    return images.unsqueeze(0).expand(T, *images.shape)


#: name -> (images (batch, C, H, W), T) -> inputs (T, batch, C, H, W).
#: ``direct`` is the semantics of KerasSpiking's SpikingActivation used by DSQ-Net's reference (the
#: image repeated over time, the spiking ReLU turning the Linear's output into a spike rate);
#: ``rate`` is Poisson (Bernoulli) coding as PPF-QSNN describes; ``phase`` is weighted phase coding.
CODINGS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "direct": _direct,
    "rate": lambda images, T: rate_encode(images, T),
    "phase": lambda images, T: phase_encode(images, T),
}


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")


class SpikingFeatures(nn.Module):
    """The pretrainable part: images (batch, C, H, W) in [0, 1] -> spike rates (batch, hidden) in [0, 1].

    Each of the ``hidden`` IF neurons integrates Linear(coded input) over ``T`` steps; its output is
    its spike count divided by T (temporal average pooling), so it takes one of T + 1 values.
    """

    def __init__(self, in_features: int = 784, hidden: int = 128, T: int = 10, coding: str = "direct",
                 threshold: float = 1.0) -> None:
        super().__init__()
        check_int("in_features", in_features, 1)
        check_int("hidden", hidden, 1)
        check_int("T", T, 1)
        _check_positive("threshold", threshold)
        if coding not in CODINGS:
            raise ValueError(f"unknown coding {coding!r}; known: {', '.join(CODINGS)}")
        self.in_features, self.hidden, self.T, self.coding = in_features, hidden, T, coding
        self.fc = nn.Linear(in_features, hidden)
        self.neuron = IFNeuron(threshold=float(threshold))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images)
        if images.shape[1:].numel() != self.in_features:
            raise ValueError(f"images must have shape (batch, C, H, W) with C*H*W = {self.in_features}; "
                             f"got {tuple(images.shape)}")
        images = as_dtype_of(images, self)
        inputs = CODINGS[self.coding](images, self.T).flatten(2)      # (T, batch, in_features)
        return self.neuron(self.fc(inputs)).mean(0)                     # (batch, hidden)

    def extra_repr(self) -> str:
        return f"T={self.T}, coding={self.coding!r}"


class SpikingMLP(nn.Module):
    """Classical spiking MLP: ``features`` (SpikingFeatures) then ``classifier`` Linear(hidden -> n_classes).

    images (batch, C, H, W) in [0, 1] -> logits (batch, n_classes). Train it with
    ``pretrain_spiking_mlp`` (or any loop), save it with ``save``, and hand it (or the file) to DSQNet.
    """

    def __init__(self, n_classes: int = 10, in_features: int = 784, hidden: int = 128, T: int = 10,
                 coding: str = "direct", threshold: float = 1.0) -> None:
        super().__init__()
        check_int("n_classes", n_classes, 2)
        self.features = SpikingFeatures(in_features, hidden, T, coding, threshold)
        self.classifier = nn.Linear(hidden, n_classes)
        self.config = {"n_classes": n_classes, "in_features": in_features, "hidden": hidden, "T": T,
                       "coding": coding, "threshold": float(threshold)}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))

    def save(self, path: str | os.PathLike) -> None:
        """Write the config and weights to ``path`` atomically, as a ``qsnn-spiking-mlp`` checkpoint."""
        state = {name: tensor.detach().cpu().clone() for name, tensor in self.state_dict().items()}
        save_checkpoint(path, {"config": dict(self.config), "state_dict": state}, SPIKING_MLP_CHECKPOINT)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SpikingMLP":
        """Read a file written by ``save``: ``FileNotFoundError`` if missing, ``ValueError`` naming the
        file if it is corrupted, truncated or not a spiking-MLP checkpoint."""
        state = load_checkpoint(path, SPIKING_MLP_CHECKPOINT)
        try:
            model = cls(**state["config"])
            model.load_state_dict(state["state_dict"])
        except (KeyError, TypeError, RuntimeError) as err:
            raise ValueError(f"{path}: its configuration or weights do not form a SpikingMLP ({err})") from None
        return model


def pretrain_spiking_mlp(model: SpikingMLP, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
                         epochs: int = 1, lr: float = 1e-3, device: str | torch.device = "cpu") -> list[float]:
    """Train ``model`` in place with Adam and cross-entropy (surrogate gradients through the IF neurons).

    ``loader`` yields (images (batch, C, H, W) in [0, 1], labels (batch,) int64), for example a
    ``qsnn_qiskit.data.BatchLoader``. Returns the mean training loss of each epoch.
    """
    check_int("epochs", epochs, 1)
    _check_positive("lr", lr)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            loss = nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * len(labels), count + len(labels)
        if count == 0:
            raise ValueError("the loader yielded no batches")
        losses.append(total / count)
    return losses
