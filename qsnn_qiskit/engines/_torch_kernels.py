"""The state updates of a compiled torch program (`_torch_program`): per-sample single-qubit
operators on every position, and a constant operator on a few positions. A state is (batch, d^m),
position j of dimension d with stride d^j (d = 2 amplitudes, d = 4 Pauli coefficients)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch


def apply_local(state: torch.Tensor, pairs: list[int], local: torch.Tensor, d: int) -> torch.Tensor:
    """``state`` after one (d, d) operator per position: ``local`` (batch, n_pairs, d, d), ``pairs``
    an index into it per position (-1: none). From the most significant position down, each step
    applies the operators of the top one or two positions (two as one (d^2, d^2) Kronecker
    product: half the passes over the state) and moves them to the bottom (a batched matmul on a
    transposed view); a full cycle restores the order."""
    batch = state.shape[0]
    order, skipped, i = list(reversed(pairs)), 0, 0
    while i < len(order):
        if order[i] < 0:
            skipped, i = skipped + 1, i + 1
            continue
        if skipped:
            state = state.reshape(batch, d ** skipped, -1).transpose(1, 2).reshape(batch, -1)
            skipped = 0
        if i + 1 < len(order) and order[i + 1] >= 0:
            top, second = local[:, order[i]], local[:, order[i + 1]]
            op = (top[:, :, None, :, None] * second[:, None, :, None, :]).reshape(batch, d * d, d * d)
            width, i = d * d, i + 2
        else:
            op, width, i = local[:, order[i]], d, i + 1
        state = torch.bmm(state.reshape(batch, width, -1).transpose(1, 2), op.transpose(1, 2))
        state = state.reshape(batch, -1)
    if skipped:
        state = state.reshape(batch, d ** skipped, -1).transpose(1, 2).reshape(batch, -1)
    return state

def apply_dense(state: torch.Tensor, sites: tuple[int, ...], m: torch.Tensor, d: int) -> torch.Tensor:
    """``state`` after a constant operator ``m`` (d^k, d^k) on positions ``sites`` (first site least
    significant)."""
    batch = state.shape[0]
    n = int(round(np.log(state.shape[1]) / np.log(d)))
    t = state.reshape((batch,) + (d,) * n)
    axes = [1 + (n - 1 - s) for s in reversed(sites)]
    t = torch.movedim(t, axes, list(range(n + 1 - len(sites), n + 1)))
    moved = t.shape
    t = (t.reshape(batch, -1, d ** len(sites)) @ m.T).reshape(moved)
    return torch.movedim(t, list(range(n + 1 - len(sites), n + 1)), axes).reshape(batch, -1)


class Columns:
    """state -> state[:, src] for an injective ``src`` (a monomial stage's gather: one source per
    column, none twice; fewer columns where qubits are traced out), with a backward that copies
    instead of accumulating: autograd's backward of indexing cannot know the index has no repeats,
    so it zero-fills and scatter-adds; here a permutation's gradient is a gather by its inverse,
    and a selection's an ``index_copy`` into zeros. The identity on a state of its width (a
    diagonal stage, such as a CZ ring) gives the state back."""

    def __init__(self, src: np.ndarray, device: torch.device) -> None:
        src = np.asarray(src, dtype=np.int64)
        self.src = torch.as_tensor(src, device=device)
        # its inverse, if src permutes range(len(src)); used for states of that width
        self.inverse = torch.as_tensor(np.argsort(src), device=device) if _is_permutation(src) else None
        self.identity = bool(np.array_equal(src, np.arange(len(src))))

    def __call__(self, state: torch.Tensor) -> torch.Tensor:
        if self.identity and state.shape[1] == len(self.src):
            return state
        return _GatherColumns.apply(state, self)


def _is_permutation(src: np.ndarray) -> bool:
    return len(src) > 0 and src.max() == len(src) - 1 and len(np.unique(src)) == len(src)


class _GatherColumns(torch.autograd.Function):
    """state (batch, D) -> (batch, len(src)), column i = state[:, src[i]], ``src`` injective."""

    @staticmethod
    def forward(ctx: Any, state: torch.Tensor, columns: Columns) -> torch.Tensor:
        ctx.columns, ctx.width = columns, state.shape[1]
        return state[:, columns.src]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        columns = ctx.columns
        if columns.inverse is not None and ctx.width == len(columns.src):
            return grad[:, columns.inverse], None
        return grad.new_zeros(grad.shape[0], ctx.width).index_copy_(1, columns.src, grad), None
