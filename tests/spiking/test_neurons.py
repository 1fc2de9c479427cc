"""IF neuron: dynamics and the arctan surrogate gradient against their formulas."""
import math

import pytest
import torch

from qsnn_qiskit.spiking import IFNeuron


def _reference_if(currents, threshold=1.0):
    v = torch.zeros_like(currents[0])
    out = []
    for x in currents:
        v = v + x
        s = (v > threshold).to(currents.dtype)
        v = v * (1 - s)
        out.append(s)
    return torch.stack(out)


def test_dynamics_integrate_without_leak_and_reset_to_zero():
    currents = torch.tensor([[0.4], [0.4], [0.4], [0.0], [2.0], [0.6], [0.5]])
    spikes = IFNeuron()(currents)
    # 0.4, 0.8, 1.2 -> spike, reset; 0, 2.0 -> spike, reset; 0.6, 1.1 -> spike
    assert spikes.flatten().tolist() == [0, 0, 1, 0, 1, 0, 1]
    random = torch.rand(20, 3, 5, generator=torch.Generator().manual_seed(1)) * 0.9
    assert torch.equal(IFNeuron()(random), _reference_if(random))


def test_membrane_starts_at_zero_every_call():
    neuron = IFNeuron()
    first = neuron(torch.full((1, 2), 0.9))
    second = neuron(torch.full((1, 2), 0.9))
    assert first.sum() == 0 and second.sum() == 0


def test_surrogate_gradient_matches_arctan_formula():
    alpha = 2.0
    x = torch.linspace(-1.5, 2.5, 41, requires_grad=True)
    spikes = IFNeuron(threshold=1.0, alpha=alpha)(x.unsqueeze(0))  # one step: v = x
    spikes.sum().backward()
    u = x.detach() - 1.0
    expected = alpha / (2 * (1 + (math.pi / 2 * alpha * u) ** 2))
    assert torch.allclose(x.grad, expected, atol=1e-6)


def _spikes_and_input_grad(neuron, currents, upstream):
    x = currents.clone().requires_grad_(True)
    spikes = neuron(x)
    (spikes * upstream).sum().backward()
    return spikes.detach(), x.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("threshold,alpha", [(1.0, 2.0), (0.5, 4.0)])
def test_fused_recurrence_matches_snntorch_leaky_step_by_step(dtype, threshold, alpha):
    g = torch.Generator().manual_seed(3)
    currents = (torch.rand(10, 4, 3, 5, generator=g, dtype=dtype) * 1.6 - 0.3)
    upstream = torch.randn(10, 4, 3, 5, generator=g, dtype=dtype)
    fused, fused_grad = _spikes_and_input_grad(IFNeuron(threshold, alpha), currents, upstream)
    # snntorch's Leaky stepped through time: the neuron's unfused path
    leaky, leaky_grad = _spikes_and_input_grad(IFNeuron(threshold, alpha, fused=False), currents, upstream)
    assert fused.dtype == dtype and torch.equal(fused, leaky.to(dtype))
    assert fused.sum() > 0 and (fused == 0).sum() > 0        # both branches of the reset are exercised
    assert torch.allclose(fused_grad, leaky_grad.to(dtype), rtol=1e-5, atol=1e-6)


def test_fused_backward_matches_the_recurrence_differentiated_by_autograd():
    """An independent derivation: the docstring's recurrence written with torch ops (the spike's
    surrogate by hand), differentiated by autograd."""
    alpha, threshold = 2.0, 1.0

    class _Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, u):
            ctx.save_for_backward(u)
            return (u > 0).to(u.dtype)

        @staticmethod
        def backward(ctx, grad):
            (u,) = ctx.saved_tensors
            return grad * alpha / (2 * (1 + (math.pi / 2 * alpha * u) ** 2))

    g = torch.Generator().manual_seed(5)
    currents = torch.rand(8, 6, generator=g, dtype=torch.float64) * 1.5
    upstream = torch.randn(8, 6, generator=g, dtype=torch.float64)
    x = currents.clone().requires_grad_(True)
    m, out = torch.zeros(6, dtype=torch.float64), []
    for t in range(8):
        v = m + x[t]
        s = _Spike.apply(v - threshold)
        m = v * (1 - s)
        out.append(s)
    (torch.stack(out) * upstream).sum().backward()
    fused, fused_grad = _spikes_and_input_grad(IFNeuron(threshold, alpha), currents, upstream)
    assert torch.equal(fused, torch.stack(out).detach())
    assert torch.allclose(fused_grad, x.grad, atol=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), "1", True])
def test_a_threshold_that_is_not_positive_is_refused(bad):
    with pytest.raises(ValueError, match=r"threshold must be a number > 0.*got"):
        IFNeuron(threshold=bad)


def _window_cases(spikes):
    """How many 2x2 windows of spikes (T, N, C, H, W) have their first spike at position 0..3 (row
    major), and how many none: (5,)."""
    h, w = spikes.shape[3] // 2, spikes.shape[4] // 2
    windows = spikes[..., :2 * h, :2 * w].unflatten(4, (w, 2)).unflatten(3, (h, 2)).transpose(4, 5)
    windows = windows.flatten(-2)                                        # (..., h, w, 4) row major
    fired = windows.amax(-1) > 0
    first = torch.where(fired, windows.argmax(-1), torch.full_like(fired, 4, dtype=torch.long))
    return torch.bincount(first.flatten(), minlength=5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("size", [(8, 6), (7, 5), (2, 3)])
@pytest.mark.parametrize("threshold,alpha", [(1.0, 2.0), (0.5, 4.0)])
def test_max_pooled_matches_snntorch_leaky_then_max_pool2d(dtype, size, threshold, alpha):
    g = torch.Generator().manual_seed(11)
    currents = torch.rand(10, 5, 3, *size, generator=g, dtype=dtype) * 1.2 * threshold - 0.4 * threshold
    upstream = torch.randn(10, 5, 3, size[0] // 2, size[1] // 2, generator=g, dtype=dtype)
    pool = torch.nn.MaxPool2d(2, 2)

    def pooled_and_grad(run):
        x = currents.clone().requires_grad_(True)
        out = run(x)
        (out * upstream).sum().backward()
        return out.detach(), x.grad

    fused, fused_grad = pooled_and_grad(IFNeuron(threshold, alpha).max_pooled)
    # snntorch's Leaky stepped through time, then torch's own max pool with its gradient routing
    leaky_neuron = IFNeuron(threshold, alpha, fused=False)
    leaky, leaky_grad = pooled_and_grad(lambda x: pool(leaky_neuron(x).flatten(0, 1)).unflatten(0, x.shape[:2]))
    assert fused.dtype == dtype and fused.shape == leaky.shape and torch.equal(fused, leaky.to(dtype))
    assert torch.allclose(fused_grad, leaky_grad.to(dtype), rtol=1e-5, atol=1e-6)
    if size[0] % 2:
        assert fused_grad[..., -1, :].abs().max() == 0                  # a dropped row feeds nothing
    # every routing case is exercised: first spike at each window position, and silent windows
    assert (_window_cases(leaky_neuron(currents)) > 0).all()


def test_max_pooled_refuses_what_is_not_a_batch_of_images_in_time():
    neuron = IFNeuron()
    for shape in [(10, 4, 6, 6), (10, 2, 1, 1, 6)]:
        with pytest.raises(ValueError, match=r"max_pooled needs currents \(T, batch, C, H, W\).*got"):
            neuron.max_pooled(torch.zeros(shape))
