"""Weighted phase coding: the binary digits of each pixel, most significant first."""
import pytest
import torch

from qsnn_qiskit.spiking.coding import REFERENCE_SCALE, phase_encode, phase_weights, rate_encode


def test_weights_follow_the_formula():
    T, K = 10, 8
    expected = [2.0 ** -(1 + ((t - 1) % K)) for t in range(1, T + 1)]
    assert phase_weights(T, K).tolist() == expected


@pytest.mark.parametrize("K", [1, 4, 8])
def test_one_period_decodes_to_the_scaled_input(K):
    images = torch.rand(5, 2, 6, 7, generator=torch.Generator().manual_seed(K))
    images[0, 0, 0, :3] = torch.tensor([0.0, 1.0, 0.5])
    spikes = phase_encode(images, T=K + 2, K=K)
    assert spikes.shape == (K + 2, 5, 2, 6, 7)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    decoded = torch.einsum("t,t...->...", phase_weights(K, K), spikes[:K])
    target = images * REFERENCE_SCALE
    assert (decoded <= target + 1e-7).all()
    assert (target - decoded).max() < 2.0 ** -K
    # The period repeats after K steps.
    assert torch.equal(spikes[K:], spikes[: 2])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_spikes_are_the_digits_found_by_subtracting_each_weight_in_turn(dtype):
    images = torch.rand(4, 1, 9, 9, generator=torch.Generator().manual_seed(3), dtype=dtype)
    images[0, 0, 0, :4] = torch.tensor([0.0, 1.0, 0.5, 0.25], dtype=dtype)
    residual, digits = images * REFERENCE_SCALE, []
    for k in range(8):                                  # the reference code's loop
        weight = 2.0 ** -(k + 1)
        digits.append((residual >= weight).to(dtype))
        residual = residual - weight * digits[-1]
    spikes = phase_encode(images, T=11, K=8)
    assert spikes.dtype == dtype
    assert torch.equal(spikes, torch.stack([digits[t % 8] for t in range(11)]))


def test_digits_of_a_known_value():
    # 0.8125 * 256/255 scaled back is 0.8125 = 0.1101 in binary.
    image = torch.full((1, 1, 1, 1), 0.8125 / REFERENCE_SCALE)
    spikes = phase_encode(image, T=4, K=4).flatten().tolist()
    assert spikes == [1.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("bad", [torch.full((1, 1, 2, 2), 1.5), torch.full((1, 1, 2, 2), float("nan"))])
def test_out_of_range_pixels_are_refused(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        phase_encode(bad)


def test_wrong_rank_and_steps_are_refused():
    with pytest.raises(ValueError, match="batch, channels, H, W"):
        phase_encode(torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match="T"):
        phase_encode(torch.rand(1, 1, 2, 2), T=0)


def test_rate_coding_mean_tracks_intensity():
    images = torch.tensor([0.1, 0.5, 0.9]).view(1, 1, 1, 3)
    spikes = rate_encode(images, T=4000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(spikes.mean(0).flatten(), images.flatten(), atol=0.03)
