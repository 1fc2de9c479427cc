"""How a program's gate records become stages, for `_torch_program`: runs of single-qubit gates per
site (local), operators with one non-zero per column lifted to a gather and a scale over the whole
state (monomial), and the positions that tracing qubits out keeps."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._torch_circuit import GateOp


def is_monomial(m: np.ndarray) -> bool:
    """One non-zero in every row and every column: a permutation with phases."""
    nz = np.abs(m) > 1e-12
    return bool((nz.sum(axis=0) == 1).all() and (nz.sum(axis=1) == 1).all())


def lift_monomial(m: np.ndarray, sites: tuple[int, ...], n: int, d: int) -> tuple[np.ndarray | None, np.ndarray]:
    """A monomial (d^k, d^k) on positions ``sites`` of n -> (src, val) over d^n with
    out[i] = val[i] * state[src[i]]; src None when m is diagonal (src[i] = i)."""
    k = len(sites)
    col = np.abs(m).argmax(axis=1)              # for each output local index, its input local index
    val_local = m[np.arange(d ** k), col]
    index = np.arange(d ** n)
    digit = {s: (index // d ** s) % d for s in sites}
    local_out = sum(digit[s] * d ** j for j, s in enumerate(sites))
    if (col == np.arange(d ** k)).all():
        return None, val_local[local_out]
    local_in = col[local_out]
    src = index.copy()
    for j, s in enumerate(sites):
        src += ((local_in // d ** j) % d - digit[s]) * d ** s
    return src, val_local[local_out]


@dataclass
class Stage:
    kind: str                                   # "local", "monomial" or "dense"
    sites: dict[int, list[int]] = field(default_factory=dict)   # local: site -> 1-qubit op indices
    ops: list[int] = field(default_factory=list)                 # monomial / dense: op indices


def schedule(ops: list[GateOp], n: int, monomial: list[bool]) -> list[Stage]:
    """Order ops into stages; single-qubit runs slide back to the earliest local stage they may join,
    except a run of monomial ops only (a Pauli channel after a cz) right after a monomial stage on
    its qubit, which joins that stage's gather. A monomial op in a run with other ops stays in the
    run, where it folds into the run's fused operator (so light cones that differ only by such a
    channel still run stacked)."""
    stages: list[Stage] = []
    pending: dict[int, list[int]] = {q: [] for q in range(n)}
    last_touch = [-1] * n

    def flush(q: int) -> None:
        if not pending[q]:
            return
        joins_gather = last_touch[q] >= 0 and stages[last_touch[q]].kind == "monomial"
        if joins_gather and all(monomial[i] for i in pending[q]):
            stages[last_touch[q]].ops += pending[q]
            pending[q] = []
            return
        target = next((s for s in range(last_touch[q] + 1, len(stages)) if stages[s].kind == "local"), None)
        if target is None:
            stages.append(Stage("local"))
            target = len(stages) - 1
        stages[target].sites[q] = pending[q]
        pending[q] = []
        last_touch[q] = target

    for i, op in enumerate(ops):
        if len(op.qubits) == 1:
            pending[op.qubits[0]].append(i)
            continue
        for q in op.qubits:
            flush(q)
        if monomial[i] and stages and stages[-1].kind == "monomial":
            stages[-1].ops.append(i)
        else:
            stages.append(Stage("monomial" if monomial[i] else "dense", ops=[i]))
        for q in op.qubits:
            last_touch[q] = len(stages) - 1
    for q in range(n):
        flush(q)
    return stages


def kept(m: int, gone: list[int], d: int) -> np.ndarray:
    """Flat indices over d^m positions whose digit is 0 (I) at every position in ``gone``, in order:
    selecting them traces those positions out of a Pauli-coefficient vector."""
    index = np.arange(d ** m)
    keep = np.ones(d ** m, bool)
    for j in gone:
        keep &= (index // d ** j) % d == 0
    return index[keep]
