"""Batches of an in-memory split, shuffled and flipped from one generator (so a checkpoint can replay them)."""
from __future__ import annotations

from typing import Iterator

import torch

from .datasets import Split


class BatchLoader:
    """Batches of an in-memory split: images (batch, 1, H, W) float in [0, 1], labels (batch,).

    ``shuffle`` draws a new order every pass and ``flip`` mirrors each image left-right with
    probability 1/2, both from ``generator``, whose state is all a checkpoint needs to replay them.
    """

    def __init__(self, split: Split, batch_size: int, shuffle: bool = False, flip: bool = False,
                 generator: torch.Generator | None = None) -> None:
        self.split, self.batch_size, self.shuffle, self.flip = split, batch_size, shuffle, flip
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return -(-len(self.split) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.split)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            images = self.split.images[idx].unsqueeze(1).to(torch.float32) / 255.0
            if self.flip:
                mirror = torch.rand(len(idx), generator=self.generator) < 0.5
                images = torch.where(mirror[:, None, None, None], images.flip(-1), images)
            yield images, self.split.labels[idx]
