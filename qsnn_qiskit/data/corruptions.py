"""Seeded image corruptions at five intensities, for the robustness testbench.

Every corruption maps images (batch, C, H, W) in [0, 1] to corrupted images of the same shape,
clipped to [0, 1]: ``CORRUPTIONS[name](images, level, generator)`` with ``level`` in 1..5 (5 is the
strongest) and a CPU ``torch.Generator`` for the random ones (the same generator state gives the same
corruption). ``SEVERITY[name][level - 1]`` is the corruption's parameter at that level:

- gaussian_noise:  x + N(0, s^2), s the standard deviation
- salt_and_pepper: a fraction s of the pixels set to 0 or 1 (half each)
- speckle:         x + x * N(0, s^2)
- gaussian_blur:   Gaussian filter of standard deviation s pixels (reflecting borders)
- contrast:        mean + s * (x - mean) per image and channel (contrast kept: s)
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .._checks import check_int

LEVELS = (1, 2, 3, 4, 5)

#: name -> corruption parameter at levels 1..5 (meaning: see the module docstring).
SEVERITY: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
    "salt_and_pepper": (0.02, 0.05, 0.10, 0.15, 0.20),
    "speckle": (0.15, 0.25, 0.35, 0.50, 0.70),
    "gaussian_blur": (0.5, 0.75, 1.0, 1.5, 2.0),
    "contrast": (0.6, 0.45, 0.3, 0.2, 0.1),
}


def _check(images: torch.Tensor, level: int) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float tensor (batch, C, H, W) in [0, 1]; got "
                         f"{type(images).__name__} of shape {tuple(getattr(images, 'shape', ()))}")
    check_int("corruption level", level, LEVELS[0], LEVELS[-1])


def gaussian_noise(images: torch.Tensor, level: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Additive Gaussian noise of standard deviation ``SEVERITY["gaussian_noise"][level - 1]``."""
    _check(images, level)
    sigma = SEVERITY["gaussian_noise"][level - 1]
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    return (images + sigma * noise).clamp(0.0, 1.0)


def salt_and_pepper(images: torch.Tensor, level: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A fraction ``SEVERITY["salt_and_pepper"][level - 1]`` of pixels set to 0 or 1 at random."""
    _check(images, level)
    amount = SEVERITY["salt_and_pepper"][level - 1]
    u = torch.rand(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    out = torch.where(u < amount / 2, torch.zeros_like(images), images)
    return torch.where((u >= amount / 2) & (u < amount), torch.ones_like(images), out)


def speckle(images: torch.Tensor, level: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Multiplicative noise x (1 + N(0, s^2)), s = ``SEVERITY["speckle"][level - 1]``."""
    _check(images, level)
    sigma = SEVERITY["speckle"][level - 1]
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    return (images + images * sigma * noise).clamp(0.0, 1.0)


def gaussian_blur(images: torch.Tensor, level: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Separable Gaussian filter of ``SEVERITY["gaussian_blur"][level - 1]`` pixels (deterministic;
    ``generator`` is unused). The kernel spans 3 standard deviations each side, borders reflect."""
    _check(images, level)
    sigma = SEVERITY["gaussian_blur"][level - 1]
    radius = min(math.ceil(3 * sigma), min(images.shape[-2:]) - 1)
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = images.shape[1]
    out = torch.nn.functional.pad(images, (radius, radius, radius, radius), mode="reflect")
    out = torch.nn.functional.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = torch.nn.functional.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return out.clamp(0.0, 1.0)


def contrast(images: torch.Tensor, level: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Contrast loss: each image and channel pulled towards its mean, keeping a fraction
    ``SEVERITY["contrast"][level - 1]`` of its contrast (deterministic; ``generator`` is unused)."""
    _check(images, level)
    keep = SEVERITY["contrast"][level - 1]
    mean = images.mean(dim=(-2, -1), keepdim=True)
    return (mean + keep * (images - mean)).clamp(0.0, 1.0)


Corruption = Callable[[torch.Tensor, int, "torch.Generator | None"], torch.Tensor]

#: name -> corruption function ``(images, level, generator) -> images``.
CORRUPTIONS: dict[str, Corruption] = {
    "gaussian_noise": gaussian_noise,
    "salt_and_pepper": salt_and_pepper,
    "speckle": speckle,
    "gaussian_blur": gaussian_blur,
    "contrast": contrast,
}


def check_corruptions(names: list[str] | tuple[str, ...]) -> None:
    """ValueError naming any unknown corruption and the known ones."""
    unknown = [n for n in names if n not in CORRUPTIONS]
    if unknown or not names:
        raise ValueError(f"unknown corruption(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"known: {', '.join(CORRUPTIONS)}")
