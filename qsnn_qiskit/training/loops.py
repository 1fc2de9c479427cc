"""The epoch loops: one training pass (single process or data-parallel) and evaluation.

Under ``torchrun`` every rank calls them with the same loader (so all draw the same global
batches) and takes its shard of each batch; the figures returned are those of the whole pass.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..data import BatchLoader
from . import distributed
from .optim import Optimizer, Scheduler
from .sync_batchnorm import placeholder_batch


@dataclass
class EvalResult:
    """Mean cross-entropy, accuracy in [0, 1] and confusion matrix (true class, predicted class)."""

    loss: float
    accuracy: float
    confusion: np.ndarray

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """Recall of each class, (n_classes,); NaN for a class with no samples."""
        totals = self.confusion.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / totals


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], n_classes: int | None = None,
             device: str = "cpu", progress: bool = False, desc: str = "evaluate", sharded: bool = False,
             transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> EvalResult:
    """Loss, accuracy and confusion matrix of ``model`` (in eval mode) over ``loader``'s batches of
    (images (batch, C, H, W), labels (batch,)).

    ``n_classes`` None takes the logits' width. ``transform`` (e.g. an image corruption) is applied
    to each batch of images before the model sees it. ``sharded`` (every rank of a process group
    calls it): each rank evaluates its shard of every batch and all get the figures of the whole
    loader. ``ValueError`` if the loader yields no images.
    """
    if sharded and n_classes is None:
        raise ValueError("sharded evaluation needs n_classes: every rank must add up matrices of one size")
    model.eval()
    confusion = None if n_classes is None else torch.zeros(n_classes, n_classes, dtype=torch.int64)
    total_loss = 0.0
    for images, labels in tqdm(loader, desc=desc, leave=False, disable=not progress, file=sys.stderr):
        if sharded:
            part = distributed.shard(len(labels))
            images, labels = images[part], labels[part]
            if not len(labels):
                continue
        if transform is not None:
            images = transform(images)
        logits = model(images.to(device)).cpu()
        k = logits.shape[1]
        if confusion is None:
            confusion = torch.zeros(k, k, dtype=torch.int64)
        total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        confusion += torch.bincount(labels * k + logits.argmax(1), minlength=k ** 2).view(k, k)
    if sharded:
        total_loss = float(distributed.all_reduce_sum(torch.tensor([total_loss], dtype=torch.float64)))
        confusion = distributed.all_reduce_sum(confusion)
    count = 0 if confusion is None else int(confusion.sum())
    if count == 0:
        raise ValueError("evaluation got no images (give tensors, or a loader that can be iterated again)")
    confusion_np = confusion.numpy()
    return EvalResult(total_loss / count, float(np.trace(confusion_np)) / count, confusion_np)


def train_epoch(model: nn.Module, loader: BatchLoader, optimizer: Optimizer, scheduler: Scheduler | None,
                device: str = "cpu", progress: bool = False, desc: str = "train") -> tuple[float, float]:
    """One pass over ``loader``; returns (mean loss, accuracy in [0, 1]) over the pass."""
    model.train()
    total_loss, correct, count = 0.0, 0, 0
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress, file=sys.stderr)
    for images, labels in bar:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        logits = model(images)
        loss = nn.functional.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        count += len(labels)
        bar.set_postfix(loss=f"{total_loss / count:.4f}", acc=f"{correct / count:.3f}")
    return total_loss / count, correct / count


def train_epoch_sharded(model: nn.Module, loader: BatchLoader, optimizer: Optimizer,
                         scheduler: Scheduler | None, device: str = "cpu", progress: bool = False,
                         desc: str = "train") -> tuple[float, float]:
    """``train_epoch`` of a data-parallel run: every rank calls it with the same ``loader`` (so all
    draw the same global batches) and a DistributedDataParallel ``model``; returns the global
    (mean loss, accuracy in [0, 1]) over the pass.

    A rank's loss is the sum of its samples' losses * world size / global batch size, so DDP's
    mean over ranks is the gradient of the global batch's mean loss, even for a last batch that
    does not split evenly. A rank whose shard is empty runs the batch's first sample as a
    placeholder with weight 0, to take part in every collective without changing the result.
    """
    model.train()
    world = distributed.world_size()
    totals = torch.zeros(3, dtype=torch.float64)   # this rank's summed loss, correct, count
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress, file=sys.stderr)
    for images, labels in bar:
        n_global = len(labels)
        part = distributed.shard(n_global)
        placeholder = part.start == part.stop
        if placeholder:
            part = slice(0, 1)
        images, labels = images[part].to(device), labels[part].to(device)
        optimizer.zero_grad()
        with placeholder_batch(model, placeholder):
            logits = model(images)
        loss_sum = nn.functional.cross_entropy(logits, labels, reduction="sum")
        (loss_sum * (0.0 if placeholder else world / n_global)).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if not placeholder:
            totals += torch.tensor([loss_sum.item(), int((logits.argmax(1) == labels).sum()), len(labels)],
                                   dtype=torch.float64)
    loss_total, correct, count = distributed.all_reduce_sum(totals).tolist()
    return loss_total / count, correct / count
