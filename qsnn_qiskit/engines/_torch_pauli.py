"""The Pauli-transfer representation of density matrices and channels, for engine="torch".

A density matrix on n qubits is held as its real Pauli coefficients c_P = Tr(P rho), P = P_{n-1}
x ... x P_0, one site of dimension 4 per qubit (digit 0, 1, 2, 3 = I, X, Y, Z; site q has stride
4^q). A channel on k sites is its real (4^k, 4^k) Pauli-transfer matrix R = T S T^-1, where S is
its superoperator in the "site" layout of `_torch_circuit.superop` (digit 2 * row bit + column
bit). Real arithmetic costs a quarter of complex; an expectation value <P> is one coefficient
c_P; and tracing out a qubit keeps the coefficients with I on it (a trace-preserving channel's
row I is (1, 0, 0, 0), so nothing after a qubit's last multi-qubit gate can reach the others).
"""
from __future__ import annotations

from functools import reduce
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from ..circuits.channels import INPUT_DAMPING

_PAULIS = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
#: site layout -> Pauli coefficients on one site: c_P = sum_{r,c} P[c, r] rho[r, c].
TO_PAULI = np.stack([p.T.reshape(4) for p in _PAULIS])
#: Pauli coefficients -> site layout on one site: rho = sum_P c_P P / 2.
FROM_PAULI = np.stack([p.reshape(4) for p in _PAULIS], 1) / 2
#: |0><0| as Pauli coefficients (I and Z).
ZERO_STATE = np.array([1.0, 0.0, 0.0, 1.0])
#: Pauli letter -> site digit.
DIGIT = {"I": 0, "X": 1, "Y": 2, "Z": 3}


def ptm(s: np.ndarray) -> np.ndarray:
    """Superoperator (4^k, 4^k) in site layout -> real Pauli-transfer matrix (4^k, 4^k)."""
    k = int(round(np.log(s.shape[0]) / np.log(4)))
    to = reduce(np.kron, [TO_PAULI] * k)     # site order is the same for every factor, so kron works
    frm = reduce(np.kron, [FROM_PAULI] * k)
    r = to @ s @ frm
    if np.abs(r.imag).max(initial=0.0) > 1e-9:
        raise ValueError("the channel does not preserve Hermiticity; engine 'torch' needs a CPTP map")
    return np.ascontiguousarray(r.real)


def ptm_batch(s: torch.Tensor) -> torch.Tensor:
    """Single-qubit superoperators (..., 4, 4) in site layout, complex -> real PTMs (..., 4, 4)."""
    to = torch.as_tensor(TO_PAULI, dtype=s.dtype, device=s.device)
    frm = torch.as_tensor(FROM_PAULI, dtype=s.dtype, device=s.device)
    return (to @ s @ frm).real


def _input_damping(a: torch.Tensor) -> torch.Tensor:
    """Angles (..., 1) x -> PTMs (..., 4, 4) of amplitude damping with gamma = sigmoid(x):
    c_X, c_Y scale by sqrt(1 - gamma), c_Z -> gamma c_I + (1 - gamma) c_Z. 1 - gamma and its
    square root are sigmoid(-x) and exp(logsigmoid(-x) / 2): finite, with finite gradients, for
    every x."""
    x = a[..., 0]
    gamma, keep, root = torch.sigmoid(x), torch.sigmoid(-x), torch.exp(F.logsigmoid(-x) / 2)
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    rows = [[one, zero, zero, zero], [zero, root, zero, zero], [zero, zero, root, zero],
            [gamma, zero, zero, keep]]
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


#: channels whose PTM depends on the angles of their instruction: name -> (number of angles,
#: angles (..., k) -> real PTMs (..., 4, 4)).
PARAM_CHANNELS: dict[str, tuple[int, Callable[[torch.Tensor], torch.Tensor]]] = {
    INPUT_DAMPING: (1, _input_damping),
}
