"""The encoder's 3x3 convolution, with a backward that suits its handful of channels on CPU.

PyTorch's CPU backward of a convolution with 1-8 channels runs through oneDNN, whose data-gradient
kernel is 3-10x slower than a forward convolution of the same size (1 -> 2 channels on 28x28,
batch 160: 12 ms against 1.1 ms; 2 -> 4 on 14x14: 1.3 ms against 0.4 ms; measured with
benchmarks/training_speed.py's machine, torch 2.14). So the backward here computes the two
gradients apart:

- input: the forward convolution of the output gradient with the kernel flipped and its channel
  axes swapped (stride 1, same padding: the transpose of the forward map);
- kernel: ``convolution_backward`` asked for the kernel gradient alone.

Both are the same sums as autograd's, in another order (they agree to float rounding;
tests/spiking/test_conv.py). On other devices the module is a plain ``nn.Conv2d``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

_PADDING, _STRIDE, _DILATION = [1, 1], [1, 1], [1, 1]


class Conv3x3(nn.Conv2d):
    """``nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)`` with the CPU backward above.

    forward: (N, c_in, H, W) -> (N, c_out, H, W). Same parameters and state-dict keys as the
    ``nn.Conv2d`` it replaces, so checkpoints of either load into the other.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":
            return super().forward(x)
        return _Conv3x3.apply(x, self.weight)


class _Conv3x3(torch.autograd.Function):
    """x (N, c_in, H, W), weight (c_out, c_in, 3, 3) -> (N, c_out, H, W), same padding."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight, padding=1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = F.conv2d(grad, weight.flip(2, 3).transpose(0, 1), padding=1)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.ops.aten.convolution_backward(
                grad, x, weight, None, _STRIDE, _PADDING, _DILATION, False, [0, 0], 1, [False, True, False])[1]
        return grad_x, grad_weight
