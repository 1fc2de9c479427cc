"""Checks of the tensors given to the public layers and models, with errors that say what is expected.

Decisions, the same for every entry point:
- inputs are ``torch.Tensor``s of a real floating dtype (float16, bfloat16, float32, float64); an
  integer, bool or complex tensor is a ``TypeError`` (0..255 pixels are not silently read as angles
  or intensities: divide them by 255 first);
- images are (batch, channels, H, W) with every value finite and in [0, 1]; a value outside is a
  ``ValueError`` giving the range found (they are not clamped: a wrong scale is a bug upstream);
- an empty batch (batch size 0) is valid and gives an empty output, (0, n_outputs).
"""
from __future__ import annotations

from typing import Any

import torch


def check_real_tensor(x: Any, what: str, shape: str) -> None:
    """``TypeError`` unless ``x`` is a real floating-point ``torch.Tensor``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of shape {shape}; got {type(x).__name__}"
                        + (" (use torch.from_numpy)" if type(x).__module__ == "numpy" else ""))
    if not x.is_floating_point():
        hint = "; for 0..255 pixels use images.float() / 255" if x.dtype == torch.uint8 else ""
        raise TypeError(f"{what} must be a real floating-point tensor (float16, bfloat16, float32 or "
                        f"float64); got dtype {str(x.dtype).replace('torch.', '')}{hint}")


def check_images(images: Any, channels: int | None = None) -> None:
    """Raise unless ``images`` is a real floating tensor (batch, channels, H, W) with values in [0, 1]."""
    shape = f"(batch, {'channels' if channels is None else channels}, H, W)"
    check_real_tensor(images, "images", shape)
    if images.ndim != 4 or (channels is not None and images.shape[1] != channels):
        raise ValueError(f"images must have shape {shape}; got {tuple(images.shape)}")
    if images.numel() and (not torch.isfinite(images).all() or images.min() < 0 or images.max() > 1):
        finite = images[torch.isfinite(images)]
        found = f"[{finite.min().item():.4g}, {finite.max().item():.4g}]" if finite.numel() else "none finite"
        extra = "" if finite.numel() == images.numel() else f", and {images.numel() - finite.numel()} NaN/Inf"
        raise ValueError(f"image values must be finite and in [0, 1] (scale 0..255 pixels by 1/255); got "
                         f"values in {found}{extra}")


def as_dtype_of(x: torch.Tensor, module: torch.nn.Module) -> torch.Tensor:
    """``x`` in the floating dtype of ``module``'s parameters (checked inputs of any float dtype work)."""
    param = next(module.parameters(), None)
    return x if param is None or x.dtype == param.dtype else x.to(param.dtype)
