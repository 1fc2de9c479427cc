"""Noise descriptions -> Aer `NoiseModel`: the one meaning of noise that every engine reads."""
from __future__ import annotations

from typing import Any

from qiskit_aer.noise import NoiseModel


def as_noise_model(noise: Any) -> NoiseModel | None:
    """``None`` -> ``None``; an Aer ``NoiseModel`` as is; anything with ``to_noise_model()`` converted."""
    if noise is None or isinstance(noise, NoiseModel):
        return noise
    if hasattr(noise, "to_noise_model"):
        return noise.to_noise_model()
    raise TypeError(f"noise must be a NoiseSpec, an Aer NoiseModel or None; got {type(noise).__name__}")
