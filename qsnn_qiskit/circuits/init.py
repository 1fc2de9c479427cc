"""Initialisation schemes for the circuit weights (PAPER.md, Table 5), by name."""
from __future__ import annotations

import math
from typing import Callable

import torch

TWO_PI = 2.0 * math.pi


def _trunc_normal(upper: float) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    def fill(t: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return torch.nn.init.trunc_normal_(t, mean=0.0, std=1.0, a=0.0, b=upper, generator=g)
    return fill


def _uniform(upper: float) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    def fill(t: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return torch.nn.init.uniform_(t, 0.0, upper, generator=g)
    return fill


#: name -> in-place filler. ``normal_2pi`` is the reference code's default; ``uniform_2pi`` did
#: best on average in the paper's Table 5.
INIT_SCHEMES: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "normal_2pi": _trunc_normal(TWO_PI),   # N(0, 1) truncated to [0, 2pi]
    "uniform_2pi": _uniform(TWO_PI),       # U(0, 2pi)
    "uniform_1": _uniform(1.0),            # U[0, 1]
    "normal_1": _trunc_normal(1.0),        # N(0, 1) truncated to [0, 1]
}


def check_init(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a known initialisation scheme."""
    if name not in INIT_SCHEMES:
        raise ValueError(f"unknown init {name!r}; known: {', '.join(INIT_SCHEMES)}")


def init_weights(n_weights: int, scheme: str = "normal_2pi", seed: int | None = None) -> torch.Tensor:
    """A fresh weight vector (n_weights,) in radians, drawn by ``scheme``; seeded when ``seed`` is given."""
    check_init(scheme)
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return INIT_SCHEMES[scheme](torch.empty(n_weights), generator)
