"""Expectation values read off a program's final state, for `_torch_program`: Pauli sums as gathers
and matmuls over statevector amplitudes or density-matrix Pauli coefficients."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from ._torch_pauli import DIGIT


class Observables:
    """Hermitian Pauli sums -> expectation values, as gathers and matmuls.

    Statevector: per X-mask x of the terms, with P|j> = v_j |j ^ x>,
    <P> = sum_j conj(psi[j ^ x]) v_j psi[j]. Density matrix (Pauli coefficients on the positions
    of ``alive``): <P> = c_P, so one gather of the coefficients the terms name and one matmul.
    """

    _PHASE = {  # char -> (flip, factor for bit 0, factor for bit 1)
        "I": (0, 1, 1), "Z": (0, 1, -1), "X": (1, 1, 1), "Y": (1, 1j, -1j),
    }

    def __init__(self, observables: list[SparsePauliOp], alive: list[int], density: bool) -> None:
        self.density = density
        if density:
            self._pauli(observables, {q: j for j, q in enumerate(alive)})
        else:
            self._amplitudes(observables, len(alive))

    def _pauli(self, observables: list[SparsePauliOp], position: dict[int, int]) -> None:
        rows: dict[int, int] = {}
        entries: list[tuple[int, int, float]] = []
        for o, sites, coeff in _pauli_terms(observables, position):
            flat = sum(digit * 4 ** pos for pos, digit in sites)
            entries.append((rows.setdefault(flat, len(rows)), o, coeff))
        w = np.zeros((len(rows), len(observables)))
        for r, o, coeff in entries:
            w[r, o] += coeff
        self.masks, self.index, self.weights = [0], [np.array(list(rows))], [w]

    def read_through(self, src: np.ndarray, val: np.ndarray | None) -> None:
        """Read the state before a last monomial stage (state'[i] = val[i] state[src[i]]) instead of
        the one after it: density matrices only; one gather of the few coefficients read, in place
        of a pass over the whole state."""
        (index,), (w,) = self.index, self.weights
        self.index = [src[index]]
        self.weights = [w if val is None else val[index, None] * w]

    def _amplitudes(self, observables: list[SparsePauliOp], n: int) -> None:
        j = np.arange(2 ** n)
        bits = (j[:, None] >> np.arange(n)) & 1
        weights: dict[int, np.ndarray] = {}
        for o, op in enumerate(observables):
            for chars, qubits, coeff in op.to_sparse_list():
                v = np.full(2 ** n, complex(coeff))
                mask = 0
                for ch, q in zip(chars, qubits):
                    flip, f0, f1 = self._PHASE[ch]
                    mask |= flip << q
                    v = v * np.where(bits[:, q] == 1, f1, f0)
                weights.setdefault(mask, np.zeros((2 ** n, len(observables)), complex))[:, o] += v
        self.masks = sorted(weights)
        self.weights = [weights[m] for m in self.masks]
        self.index = [j ^ m for m in self.masks]


def _pauli_terms(observables: list[SparsePauliOp], position: dict[int, int]
                 ) -> Iterator[tuple[int, tuple[tuple[int, int], ...], float]]:
    """(observable, its term's (position, Pauli digit) sites other than I, by position, real
    coefficient) for every term of every observable (Hermitian: real coefficients)."""
    for o, op in enumerate(observables):
        for chars, qubits, coeff in op.to_sparse_list():
            sites = sorted((position[q], DIGIT[ch]) for ch, q in zip(chars, qubits) if ch != "I")
            yield o, tuple(sites), complex(coeff).real


def observed(observables: list[SparsePauliOp]) -> set[int]:
    """Qubits some observable acts on with a non-identity Pauli (at least qubit 0)."""
    return {q for op in observables for chars, qubits, _ in op.to_sparse_list()
            for ch, q in zip(chars, qubits) if ch != "I"} or {0}


class ThroughLastLayer:
    """Pauli sums read through a last layer of single-site channels, without applying the layer.

    A trace-preserving channel's Pauli-transfer matrix U has row I = (1, 0, 0, 0), so after one U_s
    per site the coefficient of a Pauli string P on sites S is
    sum over p on S of prod_{s in S} U_s[P_s, p_s] c_p (p with I off S): 4^|S| coefficients of the
    state before the layer, weighted per sample. A layer over the whole state costs one pass per
    site or two; this costs 4^|S| per term.

    Args:
        observables: Hermitian SparsePauliOps on the program's qubits.
        alive: the qubits of the state's positions, in order.
        pairs: per position, the index of its layer operator in the program's local operators
            (-1: none).
    """

    def __init__(self, observables: list[SparsePauliOp], alive: list[int], pairs: np.ndarray) -> None:
        position = {q: j for j, q in enumerate(alive)}
        terms: dict[tuple[tuple[int, ...], tuple[int, ...]], np.ndarray] = {}
        for o, sites, coeff in _pauli_terms(observables, position):
            key = (tuple(s for s, _ in sites), tuple(p for _, p in sites))
            terms.setdefault(key, np.zeros(len(observables)))[o] += coeff
        self.groups: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.identity_needed = False
        for k in sorted({len(s) for s, _ in terms}):
            keys = [key for key in terms if len(key[0]) == k]
            sites = np.array([s for s, _ in keys], int).reshape(len(keys), k)
            digits = np.array([p for _, p in keys], int).reshape(len(keys), k)
            combos = (np.arange(4 ** k)[:, None] // 4 ** np.arange(k)) % 4       # (4^k, k): p_j of combo
            rows = (combos[None, :, :] * 4 ** sites[:, None, :]).sum(-1)          # (T, 4^k) state indices
            op_index = pairs[sites] if k else sites
            self.identity_needed |= bool((op_index < 0).any())
            self.groups.append((op_index, digits, rows, np.stack([terms[key] for key in keys])))

    def __call__(self, state: torch.Tensor, local: torch.Tensor, k: list) -> torch.Tensor:
        """state (batch, 4^m), local operators (batch, n, 4, 4) -> expectation values (batch, n_observables)."""
        if self.identity_needed:     # index -1 (no operator on that site) reads the appended identity
            eye = torch.eye(4, dtype=local.dtype, device=local.device)
            local = torch.cat([local, eye.expand(local.shape[0], 1, 4, 4)], 1)
        out = None
        for op_index, digits, rows, weights in k:
            values = state[:, rows]                                             # (batch, T, 4^k)
            if op_index.shape[1]:
                r = local[:, op_index, digits]                                  # (batch, T, k, 4)
                product = r[:, :, 0]
                for j in range(1, r.shape[2]):
                    product = (r[:, :, j, :, None] * product[:, :, None, :]).flatten(2)
                values = (values * product).sum(-1)
            else:
                values = values[:, :, 0]
            term = values @ weights
            out = term if out is None else out + term
        return out
