"""Image corruptions: shape, range, seeding, growing intensity, and independent references."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from qsnn_qiskit.data.corruptions import CORRUPTIONS, LEVELS, SEVERITY

RANDOM = ("gaussian_noise", "salt_and_pepper", "speckle")


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_shape_range_and_seeding(name, digits):
    colour = torch.rand(3, 3, 16, 12, generator=_gen(1))
    for images in (digits, colour):
        for level in LEVELS:
            out = CORRUPTIONS[name](images, level, _gen(5))
            assert out.shape == images.shape and out.dtype == images.dtype
            assert out.min() >= 0.0 and out.max() <= 1.0
            assert not torch.equal(out, images)
            assert torch.equal(out, CORRUPTIONS[name](images, level, _gen(5)))   # same seed, same result
    other = CORRUPTIONS[name](digits, 3, _gen(6))
    assert torch.equal(other, CORRUPTIONS[name](digits, 3, _gen(5))) == (name not in RANDOM)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_change_grows_with_level(name, digits):
    change = [float((CORRUPTIONS[name](digits, lv, _gen(0)) - digits).abs().mean()) for lv in LEVELS]
    assert all(a < b for a, b in zip(change, change[1:])), change


def test_bad_input_is_refused(digits):
    for level in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="level must be an integer in 1..5"):
            CORRUPTIONS["speckle"](digits, level, _gen())
    with pytest.raises(ValueError, match=r"\(batch, C, H, W\)"):
        CORRUPTIONS["contrast"](digits[:, 0], 1, _gen())


def test_blur_matches_scipy(digits):
    for level in LEVELS:
        sigma = SEVERITY["gaussian_blur"][level - 1]
        ours = CORRUPTIONS["gaussian_blur"](digits.double(), level, None).numpy()
        ref = gaussian_filter(digits.double().numpy(), sigma=(0, 0, sigma, sigma), mode="mirror",
                              radius=(0, 0, int(np.ceil(3 * sigma)), int(np.ceil(3 * sigma))))
        np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_contrast_and_noise_statistics():
    mid = 0.25 + 0.5 * torch.rand(8, 1, 20, 20, generator=_gen(2), dtype=torch.float64)  # no clipping
    for level in LEVELS:
        out = CORRUPTIONS["contrast"](mid, level, None)
        torch.testing.assert_close(out.mean((-2, -1)), mid.mean((-2, -1)))
        torch.testing.assert_close(out.std((-2, -1)), SEVERITY["contrast"][level - 1] * mid.std((-2, -1)))
    grey = torch.full((4, 1, 100, 100), 0.5, dtype=torch.float64)
    noisy = CORRUPTIONS["gaussian_noise"](grey, 1, _gen(3)) - grey     # sigma 0.08: 0.5 +- 6 sigma unclipped
    assert abs(float(noisy.std()) - SEVERITY["gaussian_noise"][0]) < 0.002
    sp = CORRUPTIONS["salt_and_pepper"](grey, 5, _gen(4))
    assert abs(float((sp == 0).double().mean()) - 0.1) < 0.005
    assert abs(float((sp == 1).double().mean()) - 0.1) < 0.005
