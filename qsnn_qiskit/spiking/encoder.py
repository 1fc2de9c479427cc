"""The spiking convolutional encoder of SQDR-CNN: phase-coded images -> spike rates for the PQC."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .._checks import check_int
from .._inputs import as_dtype_of, check_images
from ._conv import Conv3x3
from .coding import phase_encode
from .neurons import IFNeuron


class _TimeFlat(nn.Module):
    """Runs a stateless module once on (T * batch, ...) and gives back (T, batch, ...)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.module(x.flatten(0, 1))
        return out.unflatten(0, x.shape[:2])


class _Stages(nn.Sequential):
    """``nn.Sequential`` over (T, batch, ...) tensors, except that an `IFNeuron` followed by a 2x2
    max pool runs as one step, ``IFNeuron.max_pooled``: the same spikes and gradients, without the
    full-size spike tensor (the pool's input is 0 or 1). The modules, and so the state-dict keys,
    are those of the plain sequence."""

    def steps(self) -> list[tuple[tuple[nn.Module, ...], Callable[[torch.Tensor], torch.Tensor]]]:
        """What forward runs, in order: (the modules a step stands for, the step)."""
        modules, out = list(self), []
        i = 0
        while i < len(modules):
            if isinstance(modules[i], IFNeuron) and i + 1 < len(modules) and _is_max_pool_2x2(modules[i + 1]):
                out.append(((modules[i], modules[i + 1]), modules[i].max_pooled))
                i += 2
            else:
                out.append(((modules[i],), modules[i]))
                i += 1
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _, step in self.steps():
            x = step(x)
        return x


def _is_max_pool_2x2(module: nn.Module) -> bool:
    pool = module.module if isinstance(module, _TimeFlat) else None
    return isinstance(pool, nn.MaxPool2d) and not pool.return_indices and (
        pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode) == (2, 2, 0, 1, False)


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        _TimeFlat(nn.Sequential(Conv3x3(c_in, c_out), nn.BatchNorm2d(c_out))),
        IFNeuron(),
        _TimeFlat(nn.MaxPool2d(2, 2)),
    ]


class SpikingConvEncoder(nn.Module):
    """Three [conv 3x3 - BatchNorm - IF - maxpool 2] blocks (c -> 2c -> 4c -> 8c), average pool,
    Linear(8c -> n_features), IF; the output is the spike rate over T steps.

    Conv, BatchNorm and pooling run once on the flattened (T * batch) tensor; only the IF neurons
    step through time, each with the max pool after it (`_Stages`).

    forward: images (batch, in_channels, H, W) in [0, 1], any float dtype (computed in the
    encoder's own) -> rates (batch, n_features) in [0, 1], each a multiple of 1/T.
    """

    def __init__(self, in_channels: int = 1, n_features: int = 27, T: int = 10, K: int = 8) -> None:
        super().__init__()
        for name, value, minimum in (("in_channels", in_channels, 1), ("n_features", n_features, 1),
                                     ("T", T, 1), ("K", K, 1)):
            check_int(name, value, minimum)
        self.in_channels, self.n_features, self.T, self.K = in_channels, n_features, T, K
        c = in_channels
        self.features = _Stages(
            *_conv_block(c, 2 * c), *_conv_block(2 * c, 4 * c), *_conv_block(4 * c, 8 * c),
            _TimeFlat(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8 * c, n_features))),
            IFNeuron(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.in_channels)
        if min(images.shape[2:]) < 8:
            raise ValueError(f"images must be at least 8x8 (three 2x2 poolings); got {tuple(images.shape[2:])}")
        spikes = phase_encode(as_dtype_of(images, self), self.T, self.K)
        return self.features(spikes).mean(0)
