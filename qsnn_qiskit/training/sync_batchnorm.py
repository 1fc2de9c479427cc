"""BatchNorm2d with statistics over the global batch of a data-parallel run, on CPU (gloo) and CUDA.

``torch.nn.SyncBatchNorm`` refuses CPU tensors, and it cannot leave out a rank whose part of the
batch is a placeholder (see ``placeholder_batch``). ``SyncBatchNorm2d`` sums per-channel counts,
sums and squared deviations over all ranks with an all-reduce that autograd differentiates (its
gradient is the all-reduce of the gradients), so its output, its gradients and its running
statistics are those of ``nn.BatchNorm2d`` on the whole batch. It is a ``BatchNorm2d`` subclass
with the same parameters and buffers, so state_dicts and checkpoints do not change.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.distributed as dist
from torch import nn


class SyncBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose training-mode statistics span every rank of the default process group.

    forward: (N, C, H, W) -> (N, C, H, W). In training mode every rank must call it (collectives);
    in eval mode, or without a process group, it is exactly ``nn.BatchNorm2d``.
    """

    #: True while this rank's input is a stand-in that must not count in the statistics.
    placeholder: bool = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        self._check_input_dim(x)
        weight = 0.0 if self.placeholder else 1.0
        dims = (0, 2, 3)
        local_count = torch.full((1,), x.numel() // x.shape[1] * weight, dtype=x.dtype, device=x.device)
        sums = _AllReduceSum.apply(torch.cat([x.sum(dims) * weight, local_count]))   # (C + 1,): sums, count
        count = sums[-1]
        mean = sums[:-1] / count
        centred = x - mean[None, :, None, None]
        var = _AllReduceSum.apply((centred * centred).sum(dims) * weight) / count   # biased, as BatchNorm2d
        y = centred * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), count.detach())
        return y

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: torch.Tensor) -> None:
        """BatchNorm2d's rule: an exponential (or, momentum None, cumulative) average of the batch
        mean and the unbiased batch variance."""
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * (count / (count - 1)) if count > 1 else var
        self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1 - factor).add_(unbiased, alpha=factor)


class _AllReduceSum(torch.autograd.Function):
    """Sum over the ranks of the default process group. The total feeds every rank's loss, so the
    gradient of a rank's input is the sum of all ranks' gradients of the total."""

    @staticmethod
    def forward(ctx: object, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx: object, grad: torch.Tensor) -> torch.Tensor:
        total = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(total)
        return total


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``nn.BatchNorm2d`` replaced by a ``SyncBatchNorm2d`` holding the same
    state (parameters, buffers, requires_grad, train/eval mode); returns the new top module."""
    if type(module) is nn.BatchNorm2d:
        sync = SyncBatchNorm2d(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats, device=_device_of(module))
        sync.load_state_dict(module.state_dict())
        for name, param in module.named_parameters(recurse=False):
            getattr(sync, name).requires_grad_(param.requires_grad)
        return sync.train(module.training)
    for name, child in module.named_children():
        setattr(module, name, convert_batchnorm(child))
    return module


@contextmanager
def placeholder_batch(model: nn.Module, active: bool = True) -> Iterator[None]:
    """While ``active``, every ``SyncBatchNorm2d`` in ``model`` adds nothing to the global statistics.

    For a rank with no samples in a global batch: it runs a stand-in sample (with loss weight 0)
    so that it still takes part in every collective, and the statistics stay those of the real
    samples on the other ranks.
    """
    layers = [m for m in model.modules() if isinstance(m, SyncBatchNorm2d)] if active else []
    for layer in layers:
        layer.placeholder = True
    try:
        yield
    finally:
        for layer in layers:
            layer.placeholder = False


def _device_of(module: nn.Module) -> torch.device | None:
    tensor = next(iter(module.state_dict().values()), None)
    return tensor.device if tensor is not None else None


__all__ = ["SyncBatchNorm2d", "convert_batchnorm", "placeholder_batch"]
