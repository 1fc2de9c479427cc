"""Noise channels as circuit instructions, for the placements of `NoiseSpec` that a gate-attached
Aer ``NoiseModel`` cannot express (once after a run of gates, after an entangling layer).

- a fixed channel is Qiskit's ``kraus`` instruction (``Kraus(...).to_instruction()``), which Aer's
  density_matrix method and ``DensityMatrix.evolve`` apply as they are;
- `InputDamping` is amplitude damping whose rate is gamma = sigmoid(x), x a circuit parameter (an
  input feature), so the channel is known only once x is bound, sample by sample.

Kraus operators (PAPER.md, Section 5.2): bit flip p: sqrt(1 - p) I, sqrt(p) X; depolarizing p:
sqrt(1 - p) I, sqrt(p / 3) X, Y, Z; amplitude damping gamma: [[1, 0], [0, sqrt(1 - gamma)]],
[[0, sqrt(gamma)], [0, 0]].
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from qiskit.circuit import Instruction, ParameterExpression
from qiskit.quantum_info import Kraus

#: Name of the `InputDamping` instruction (engines recognise it by name).
INPUT_DAMPING = "input_amplitude_damping"

_I = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]])
_Z = np.diag([1.0, -1.0]).astype(complex)


def bit_flip(p: float) -> Kraus:
    """X with probability p."""
    return Kraus([math.sqrt(1 - p) * _I, math.sqrt(p) * _X])


def depolarizing(p: float) -> Kraus:
    """X, Y or Z with probability p / 3 each."""
    return Kraus([math.sqrt(1 - p) * _I] + [math.sqrt(p / 3) * P for P in (_X, _Y, _Z)])


def amplitude_damping(gamma: float) -> Kraus:
    """|1> decays to |0> with probability gamma."""
    return Kraus([np.array([[1, 0], [0, math.sqrt(1 - gamma)]], dtype=complex),
                  np.array([[0, math.sqrt(gamma)], [0, 0]], dtype=complex)])


def kraus_instruction(channels: Sequence[Kraus]) -> Instruction:
    """``channels[0]`` first, then ``channels[1]``, ... as one ``kraus`` instruction."""
    out = channels[0]
    for channel in channels[1:]:
        out = out.compose(channel)
    return out.to_instruction()


class InputDamping(Instruction):
    """Amplitude damping on one qubit with rate gamma = sigmoid(x) = 1 / (1 + e^-x), x a circuit
    parameter: the reference code's data-dependent damping. The torch engine builds its channel per
    sample from the bound x; other simulators refuse it."""

    def __init__(self, x: ParameterExpression | float) -> None:
        super().__init__(INPUT_DAMPING, 1, 0, [x])
