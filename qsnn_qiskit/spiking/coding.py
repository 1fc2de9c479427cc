"""Spike coding of images: weighted phase coding (Kim et al. 2018) as used by SQDR-CNN."""
from __future__ import annotations

import torch

from .._checks import check_int
from .._inputs import check_images

#: The reference code scales pixels by this so that 1.0 stays representable in K binary digits.
REFERENCE_SCALE = 255.0 / 256.0


def phase_weights(T: int, K: int) -> torch.Tensor:
    """Weight of the spike at each step: w(t) = 2^-(1 + ((t-1) mod K)) for t = 1..T, shape (T,)."""
    _check_steps(T, K)
    return torch.tensor([2.0 ** -(1 + (t % K)) for t in range(T)])


def phase_encode(images: torch.Tensor, T: int = 10, K: int = 8,
                 scale: float = REFERENCE_SCALE) -> torch.Tensor:
    """Weighted phase coding: the K spikes of one period are the binary digits of the pixel value.

    Args:
        images: (batch, channels, H, W), a floating-point tensor with values in [0, 1] (see
            ``qsnn_qiskit._inputs``: anything else is a TypeError/ValueError saying what is expected).
        T: time steps (spikes emitted); after K steps the period repeats.
        K: phases per period (binary digits of precision).
        scale: pixels are multiplied by this first (255/256 by default, as the reference).

    Returns:
        spikes in {0, 1}, shape (T, batch, channels, H, W), same dtype and device as ``images``.
        ``sum_t phase_weights(T, K)[t] * spikes[t]`` over one period is ``scale * images`` rounded
        down to a multiple of 2^-K. The residual being coded is local to this call, so nothing
        carries over from one forward to the next.
    """
    _check_steps(T, K)
    check_images(images)
    # digit k of v = scale * image is floor(w mod 2), w = v * 2^(k+1), with w mod 2 = w - 2 floor(w / 2):
    # every step exact in floating point (scaling by powers of two, differences of numbers within a
    # factor of two), and six tensor operations for all K digits instead of four per digit
    powers = torch.tensor([2.0 ** (k + 1) for k in range(K)], dtype=images.dtype, device=images.device)
    w = (images * scale).unsqueeze(0) * powers.view(K, 1, 1, 1, 1)
    digits = torch.sub(w, torch.floor(w * 0.5), alpha=2).floor_()
    steps = torch.arange(T, device=images.device) % K
    return digits if T == K else digits.index_select(0, steps)


def rate_encode(images: torch.Tensor, T: int = 10, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rate (Bernoulli) coding: a pixel of value p spikes with probability p at each step.

    images: (batch, channels, H, W) in [0, 1] -> spikes (T, batch, channels, H, W).
    """
    _check_steps(T, 1)
    check_images(images)
    probs = images.unsqueeze(0).expand(T, *images.shape)
    return torch.bernoulli(probs, generator=generator)


def _check_steps(T: int, K: int) -> None:
    check_int("T (time steps)", T, 1)
    check_int("K (phases per period)", K, 1)
