"""The encoder's 3x3 convolution: the same outputs and gradients as torch's own ``nn.Conv2d``."""
import pytest
import torch
from torch import nn

from qsnn_qiskit.spiking._conv import Conv3x3


@pytest.mark.parametrize("c_in, c_out, size", [(1, 2, 28), (2, 4, 14), (4, 8, 7), (3, 5, 6)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_outputs_and_both_gradients_match_torchs_conv2d(c_in, c_out, size, dtype):
    torch.manual_seed(c_in * 100 + size)
    ours = Conv3x3(c_in, c_out).to(dtype)
    theirs = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False).to(dtype)
    theirs.load_state_dict(ours.state_dict())                        # same parameter, same key
    x = (torch.rand(12, c_in, size, size) > 0.5).to(dtype)           # spikes, as the encoder feeds it
    upstream = torch.randn(12, c_out, size, size, dtype=dtype)
    grads = []
    for conv in (ours, theirs):
        xi = x.clone().requires_grad_()
        out = conv(xi)
        (out * upstream).sum().backward()
        grads.append((out.detach(), xi.grad, conv.weight.grad))
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}
    for a, b in zip(*grads):
        assert a.shape == b.shape and torch.allclose(a, b, **tol)
    assert grads[0][1].abs().sum() > 0 and grads[0][2].abs().sum() > 0


def test_no_input_gradient_is_computed_for_data_and_a_frozen_kernel_gets_none():
    conv = Conv3x3(1, 2)
    x = torch.rand(4, 1, 8, 8)                                       # data: no gradient wanted
    conv(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    conv.weight.requires_grad_(False)
    xi = x.clone().requires_grad_()
    conv(xi).sum().backward()
    expected = torch.func.vjp(lambda t: nn.functional.conv2d(t, conv.weight, padding=1), x)[1](
        torch.ones(4, 2, 8, 8))[0]
    assert torch.allclose(xi.grad, expected, atol=1e-6)
