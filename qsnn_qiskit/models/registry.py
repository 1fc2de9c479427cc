"""Models by name, for configs, checkpoints and `qsnn train --model NAME`."""
from __future__ import annotations

import inspect
from typing import Any, Callable

from torch import nn

from .._checks import check_options
from ..circuits import ANSATZE
from .dsqnet import DSQNet
from .ppfqsnn import PPFQSNN
from .spiking_mlp import SpikingMLP
from .sqdrcnn import SQDRCNN
from .standins import STAND_INS

#: name -> model class; its constructor's keyword arguments are the model's configuration.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "sqdrcnn": SQDRCNN,
    "dsqnet": DSQNet,
    "ppfqsnn": PPFQSNN,
    "spikingmlp": SpikingMLP,   # DSQ-Net's classical stage, trained first (`--pretrained RUN_DIR`)
}

#: models whose circuit a classical stand-in can replace (``ansatz="classical"`` or ``"none"``)
WITH_STAND_INS = ("sqdrcnn",)


def ansatz_choices(name: str) -> tuple[str, ...]:
    """The ``ansatz`` values model ``name`` takes: the circuits, and for SQDR-CNN the stand-ins."""
    return (*ANSATZE, *(STAND_INS if name in WITH_STAND_INS else ()))


def build_model(name: str, **config: Any) -> nn.Module:
    """Build model ``name`` from keyword configuration (as stored in a run directory's config)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    cls = MODELS[name]
    if not any(p.kind == p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values()):
        check_options(cls, config, f"model {name!r}")
    return cls(**config)
