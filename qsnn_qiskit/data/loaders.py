"""Batches of an in-memory split, shuffled and augmented from one generator (so a checkpoint can replay them)."""
from __future__ import annotations

from typing import Callable, Iterator

import torch
from torch.nn import functional as F

from .datasets import Split

#: Largest translation of ``augment="shift"``, in pixels along each axis.
MAX_SHIFT = 2


def _flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image (batch, C, H, W) left-right with probability 1/2."""
    mirror = torch.rand(images.shape[0], generator=generator) < 0.5
    return torch.where(mirror[:, None, None, None], images.flip(-1), images)


def _shift(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Translate each image (batch, C, H, W) by a uniform whole number of pixels in
    [-MAX_SHIFT, MAX_SHIFT] along each axis, filling with 0 (black)."""
    _, _, h, w = images.shape
    padded = F.pad(images, (MAX_SHIFT,) * 4)
    offsets = torch.randint(0, 2 * MAX_SHIFT + 1, (images.shape[0], 2), generator=generator).tolist()
    return torch.stack([image[:, dy:dy + h, dx:dx + w] for image, (dy, dx) in zip(padded, offsets)])


#: ``augment`` name -> what it does to a training batch (batch, C, H, W), drawing from the loader's generator.
AUGMENTATIONS: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "none": lambda images, generator: images,
    "flip": _flip,
    "shift": _shift,
    "flip+shift": lambda images, generator: _shift(_flip(images, generator), generator),
}


class BatchLoader:
    """Batches of an in-memory split: images (batch, 1, H, W) float in [0, 1], labels (batch,).

    ``shuffle`` draws a new order every pass and ``augment`` (a name of ``AUGMENTATIONS``: flip
    mirrors each image left-right with probability 1/2, shift translates it by up to MAX_SHIFT
    pixels) changes each batch, both from ``generator``, whose state is all a checkpoint needs to
    replay them.
    """

    def __init__(self, split: Split, batch_size: int, shuffle: bool = False, augment: str = "none",
                 generator: torch.Generator | None = None) -> None:
        if augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augment {augment!r}; known: {', '.join(AUGMENTATIONS)}")
        self.split, self.batch_size, self.shuffle, self.augment = split, batch_size, shuffle, augment
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return -(-len(self.split) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.split)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            images = self.split.images[idx].unsqueeze(1).to(torch.float32) / 255.0
            yield AUGMENTATIONS[self.augment](images, self.generator), self.split.labels[idx]
