"""Expectation values read off a program's final state, for `_torch_program`: Pauli sums as gathers
and matmuls over statevector amplitudes or density-matrix Pauli coefficients."""
from __future__ import annotations

import numpy as np
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
        entries: list[tuple[int, int, complex]] = []
        for o, op in enumerate(observables):
            for chars, qubits, coeff in op.to_sparse_list():
                flat = sum(DIGIT[ch] * 4 ** position[q] for ch, q in zip(chars, qubits))
                entries.append((rows.setdefault(flat, len(rows)), o, complex(coeff)))
        w = np.zeros((len(rows), len(observables)), complex)
        for r, o, coeff in entries:
            w[r, o] += coeff
        self.masks, self.index, self.weights = [0], [np.array(list(rows))], [w.real.copy()]

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


def observed(observables: list[SparsePauliOp]) -> set[int]:
    """Qubits some observable acts on with a non-identity Pauli (at least qubit 0)."""
    return {q for op in observables for chars, qubits, _ in op.to_sparse_list()
            for ch, q in zip(chars, qubits) if ch != "I"} or {0}
