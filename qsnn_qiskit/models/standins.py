"""Torch layers that stand in for SQDR-CNN's circuit (the baselines ``--ansatz classical|none``), by
name: the same spiking encoder and head around a classical layer, or around nothing."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from .._checks import check_int
from ..circuits import ANSATZE

#: Features the re-upload circuit feeds each qubit (x[3j], x[3j+1], x[3j+2] go to qubit j).
FEATURES_PER_QUBIT = 3


class ClassicalReupload(nn.Module):
    """A classical layer of the re-upload circuit's shape: x (batch, 3 * n_outputs) -> (batch, n_outputs)
    in (-1, 1), with exactly the circuit's number of weights, 3 * n_outputs * blocks.

    a_j(0) = 0;  a_j(b) = tanh(a_j(b-1) + sum_k w[b-1, j, k] * x[3j + k])  for b = 1..blocks;
    output a_j(blocks).

    Why this is a fair stand-in for ``reupload(n_qubits=n_outputs, blocks)``:
    - same widths: it takes the circuit's 3 * n_qubits features and gives one output per qubit;
    - same wiring of features: output j sees only x[3j..3j+2], the features that the circuit uploads
      to qubit j, and each block uploads them again, as each circuit block does;
    - same weights: one weight per feature per block, w (blocks, n_outputs, 3) against the circuit's
      Rot(theta_b,j) of 3 angles per qubit per block, so the count is equal, not merely close;
    - same range: tanh bounds each output to (-1, 1), as <Z_j> lies in [-1, 1], so the head sees
      inputs of the same scale.
    Blocks compose through the running value a_j as the circuit's blocks compose rotations of the
    same qubit. Like the ``product`` circuit (and unlike ``reupload``'s CZ ring) no output sees another
    qubit's features; the head mixes them, as it mixes the circuit's outputs. It has no bias (a
    bias per output and block would take it past the circuit's weight count), so a_j is 0 where
    qubit j's features are all 0; the head's bias supplies the constant.

    Weights start as torch's Linear default for a fan-in of 3, U(-1/sqrt(3), 1/sqrt(3)), drawn from
    ``seed`` when given (the circuit's ``init`` schemes are rotation angles and do not apply).
    """

    def __init__(self, n_outputs: int, blocks: int, seed: int | None = None) -> None:
        super().__init__()
        check_int("n_outputs of the classical layer", n_outputs, 1)
        check_int("blocks of the classical layer", blocks, 1)
        self.n_inputs = FEATURES_PER_QUBIT * n_outputs
        self.n_outputs = n_outputs
        bound = 1 / math.sqrt(FEATURES_PER_QUBIT)
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        weight = torch.rand(blocks, n_outputs, FEATURES_PER_QUBIT, generator=generator, dtype=torch.float64)
        self.weight = nn.Parameter((2 * weight - 1).mul(bound).to(torch.get_default_dtype()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (batch, 3 * n_outputs) -> (batch, n_outputs) in (-1, 1)."""
        _check_width(x, self.n_inputs, "the classical layer")
        per_output = x.reshape(x.shape[0], self.n_outputs, FEATURES_PER_QUBIT)
        a = x.new_zeros(x.shape[0], self.n_outputs)
        for w in self.weight.to(x.dtype):
            a = torch.tanh(a + (per_output * w).sum(-1))
        return a

    def extra_repr(self) -> str:
        return f"inputs={self.n_inputs}, outputs={self.n_outputs}, blocks={self.weight.shape[0]}"


class Passthrough(nn.Module):
    """No layer at all: the encoder's rates x (batch, n_features) go to the head unchanged."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        check_int("n_features", n_features, 1)
        self.n_inputs = self.n_outputs = n_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (batch, n_features) -> x."""
        _check_width(x, self.n_inputs, "the passthrough layer")
        return x

    def extra_repr(self) -> str:
        return f"features={self.n_inputs}"


def _check_width(x: torch.Tensor, width: int, what: str) -> None:
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"input of {what} must have shape (batch, {width}); got {tuple(x.shape)}")


@dataclass(frozen=True)
class StandIn:
    """A torch layer in place of the circuit: ``build(n_qubits, blocks, seed)`` gives a module with
    ``n_inputs`` (the encoder's width) and ``n_outputs`` (the head's input width)."""

    build: Callable[[int, int, int | None], nn.Module]
    summary: str


def _classical(n_qubits: int, blocks: int, seed: int | None) -> nn.Module:
    return ClassicalReupload(n_qubits, blocks, seed)


def _none(n_qubits: int, blocks: int, seed: int | None) -> nn.Module:
    return Passthrough(FEATURES_PER_QUBIT * n_qubits)


#: ``SQDRCNN(ansatz=...)`` values that are no circuit; the circuits are ``circuits.ANSATZE``.
STAND_INS: dict[str, StandIn] = {
    "classical": StandIn(_classical, "a classical tanh layer of the re-upload circuit's widths and weight count"),
    "none": StandIn(_none, "no layer at all, the encoder's 3 * qubits rates going straight into the head"),
}

#: The one engine a stand-in runs on: it is torch code.
STAND_IN_ENGINE = "torch"


def build_stand_in(name: str, n_qubits: int, blocks: int, seed: int | None, engine: str,
                   engine_options: dict[str, Any]) -> nn.Module:
    """The stand-in ``name``; ``ValueError`` naming it and what is allowed for another engine or any
    engine option (noise, shots, ...), which only a circuit can take."""
    if engine != STAND_IN_ENGINE or engine_options:
        given = ", ".join(f"{k}={v!r}" for k, v in {"engine": engine, **engine_options}.items()
                          if k != "engine" or v != STAND_IN_ENGINE)
        raise ValueError(f"ansatz {name!r} has no circuit ({STAND_INS[name].summary}): it runs as torch code on "
                         f"engine {STAND_IN_ENGINE!r} only and takes no engine options; got {given}. Other "
                         f"engines and noise need a circuit ansatz: {', '.join(ANSATZE)}")
    check_int(f"n_qubits of ansatz {name!r}", n_qubits, 1)
    check_int(f"blocks of ansatz {name!r}", blocks, 1)
    return STAND_INS[name].build(n_qubits, blocks, seed)
