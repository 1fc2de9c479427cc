"""A compiled, fused torch program: `GateOp`s on n qubits -> expectation values, batched.

The state is a tensor (batch, d^n) over n "sites", site q of dimension d with stride d^q: d = 2
for a statevector, d = 4 for a density matrix (site digit 2 * row bit + column bit, so a channel
on k qubits is a (4^k, 4^k) superoperator on k sites, exactly like a gate on a statevector).

Stages, built once:
- local: one fused (d, d) operator per site; every single-qubit gate (and, with noise, its error)
  between two multi-qubit gates on that qubit is multiplied into it. The matrices of all local
  stages are built in one vectorised pass (gate matrices by kind, then a padded product chain).
  A first local stage becomes the initial product state by Kronecker products.
- monomial: runs of multi-qubit operators with one non-zero per column (cz, cx, swap and their
  noiseless superoperators) composed into one gather and one phase vector over all d^n amplitudes.
- dense: any other constant multi-qubit operator (for example a gate followed by its noise).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from ._torch_circuit import PARAM_GATES, GateOp, superop


def _is_monomial(m: np.ndarray) -> bool:
    """One non-zero in every row and every column: a permutation with phases."""
    nz = np.abs(m) > 1e-12
    return bool((nz.sum(axis=0) == 1).all() and (nz.sum(axis=1) == 1).all())


def _lift_monomial(m: np.ndarray, sites: tuple[int, ...], n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """A monomial (d^k, d^k) on ``sites`` -> (src, val) over d^n with out[i] = val[i] * state[src[i]]."""
    k = len(sites)
    col = np.abs(m).argmax(axis=1)              # for each output local index, its input local index
    val_local = m[np.arange(d ** k), col]
    index = np.arange(d ** n)
    digit = {s: (index // d ** s) % d for s in sites}
    local_out = sum(digit[s] * d ** j for j, s in enumerate(sites))
    local_in = col[local_out]
    src = index.copy()
    for j, s in enumerate(sites):
        src += ((local_in // d ** j) % d - digit[s]) * d ** s
    return src, val_local[local_out]


@dataclass
class _Stage:
    kind: str                                   # "local", "monomial" or "dense"
    sites: dict[int, list[int]] = field(default_factory=dict)   # local: site -> 1-qubit op indices
    ops: list[int] = field(default_factory=list)                 # monomial / dense: op indices


def _schedule(ops: list[GateOp], n: int, monomial: list[bool]) -> list[_Stage]:
    """Order ops into stages; single-qubit runs slide back to the earliest local stage they may join."""
    stages: list[_Stage] = []
    pending: dict[int, list[int]] = {q: [] for q in range(n)}
    last_touch = [-1] * n

    def flush(q: int) -> None:
        if not pending[q]:
            return
        target = next((s for s in range(last_touch[q] + 1, len(stages)) if stages[s].kind == "local"), None)
        if target is None:
            stages.append(_Stage("local"))
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
            stages.append(_Stage("monomial" if monomial[i] else "dense", ops=[i]))
        for q in op.qubits:
            last_touch[q] = len(stages) - 1
    for q in range(n):
        flush(q)
    return stages


class _Observables:
    """Hermitian Pauli sums -> expectation values: per X-mask x of the terms, a gather and a matmul.

    <P> with P|j> = v_j |j ^ x>: statevector sum_j conj(psi[j ^ x]) v_j psi[j]; density matrix
    sum_j v_j rho[j, j ^ x].
    """

    _PHASE = {  # char -> (flip, factor for bit 0, factor for bit 1)
        "I": (0, 1, 1), "Z": (0, 1, -1), "X": (1, 1, 1), "Y": (1, 1j, -1j),
    }

    def __init__(self, observables: list[SparsePauliOp], n: int, density: bool) -> None:
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
        if density:   # flat site index of rho[j, j ^ x]: digit q = 2 * bit_q(j) + bit_q(j ^ x)
            self.index = [((2 * bits + ((j ^ m)[:, None] >> np.arange(n) & 1)) * 4 ** np.arange(n)).sum(1)
                          for m in self.masks]
        else:
            self.index = [j ^ m for m in self.masks]
        self.density = density


class Program:
    """Fused torch program for ``ops`` on ``n`` qubits with ``observables`` (on the same n qubits).

    Args:
        ops: the gates (with noise superoperators when ``density``).
        n: number of qubits.
        observables: Hermitian SparsePauliOps on n qubits.
        n_columns: width of theta = [inputs | weights].
        density: evolve a density matrix and apply each op's noise.
    """

    def __init__(self, ops: list[GateOp], n: int, observables: list[SparsePauliOp], n_columns: int,
                 density: bool) -> None:
        self.n, self.d, self.density = n, (4 if density else 2), density
        mats = [self._constant(op) for op in ops]
        monomial = [m is not None and len(op.qubits) > 1 and _is_monomial(m) for op, m in zip(ops, mats)]
        self.stages = _schedule(ops, n, monomial)
        self._build_local(ops, mats, n_columns)
        self._steps: list[tuple] = []
        for s, stage in enumerate(self.stages):
            if stage.kind == "local":
                if s > 0:
                    self._steps.append(("local", [(q, self._pair[(s, q)]) for q in sorted(stage.sites)]))
            elif stage.kind == "monomial":
                src, val = np.arange(self.d ** n), np.ones(self.d ** n, complex)
                for i in stage.ops:
                    s_i, v_i = _lift_monomial(mats[i], ops[i].qubits, n, self.d)
                    src, val = src[s_i], v_i * val[s_i]
                self._steps.append(("monomial", src, None if np.allclose(val, 1) else val))
            else:
                (i,) = stage.ops
                self._steps.append(("dense", ops[i].qubits, mats[i]))
        self._obs = _Observables(observables, n, density)
        self._cache: dict[tuple, dict] = {}

    def _constant(self, op: GateOp) -> np.ndarray | None:
        """The op's constant operator on its sites (its superoperator with noise when density)."""
        if op.matrix is None:
            return None
        if not self.density:
            return op.matrix
        s = superop([op.matrix])
        return s if op.noise is None else op.noise @ s

    def _build_local(self, ops: list[GateOp], mats: list, n_columns: int) -> None:
        """Index tables for building every single-qubit operator and the per-(stage, site) products."""
        # qubit by qubit, so that programs alike up to the order of independent gates look alike
        one_q = sorted((i for i, op in enumerate(ops) if len(op.qubits) == 1),
                       key=lambda i: (ops[i].qubits, i))
        by_kind: dict[str, list[int]] = {}
        for i in one_q:
            if ops[i].angles:
                by_kind.setdefault(ops[i].name, []).append(i)
        constants = [i for i in one_q if not ops[i].angles]
        angle_rows = [a for kind in by_kind for i in by_kind[kind] for a in ops[i].angles]
        coef = np.zeros((n_columns, len(angle_rows)))
        for r, a in enumerate(angle_rows):
            for col, c in a.terms:
                coef[col, r] += c
        self._coef, self._bias = coef, np.array([a.bias for a in angle_rows])
        position: dict[int, int] = {}
        self._kinds: list[tuple[str, np.ndarray, np.ndarray | None]] = []
        row = 0
        for kind, idx in by_kind.items():
            k = PARAM_GATES[kind][0]
            rows = np.arange(row, row + k * len(idx)).reshape(len(idx), k)
            row += k * len(idx)
            noise = None
            if self.density and any(ops[i].noise is not None for i in idx):
                noise = np.stack([ops[i].noise if ops[i].noise is not None else np.eye(4) for i in idx])
            self._kinds.append((kind, rows, noise))
            for i in idx:
                position[i] = len(position)
        for i in constants:
            position[i] = len(position)
        d = self.d
        self._const_local = np.stack([mats[i] for i in constants] + [np.eye(d)])
        identity = len(position)
        runs = [((s, q), ops_q) for s, st in enumerate(self.stages) if st.kind == "local"
                for q, ops_q in sorted(st.sites.items())]
        length = max((len(r) for _, r in runs), default=0)
        self._chain = np.full((length, len(runs)), identity)
        for p, (_, run) in enumerate(runs):
            self._chain[:len(run), p] = [position[i] for i in run]
        self._pair = {key: p for p, (key, _) in enumerate(runs)}
        first = self.stages[0] if self.stages and self.stages[0].kind == "local" else None
        self._first = {q: self._pair[(0, q)] for q in first.sites} if first else {}

    def _constants(self, device: torch.device, rdtype: torch.dtype) -> dict:
        key = (device, rdtype)
        if key not in self._cache:
            cdtype = torch.complex128 if rdtype == torch.float64 else torch.complex64

            def c(a, dtype=cdtype):
                return None if a is None else torch.as_tensor(np.asarray(a), dtype=dtype, device=device)

            self._cache[key] = {
                "coef": c(self._coef, rdtype), "bias": c(self._bias, rdtype),
                "noise": [c(nz) for _, _, nz in self._kinds],
                "rows": [torch.as_tensor(r, device=device) for _, r, _ in self._kinds],
                "const": c(self._const_local), "chain": torch.as_tensor(self._chain, device=device),
                "steps": [self._step_tensors(st, device, cdtype) for st in self._steps],
                "obs_w": [c(w) for w in self._obs.weights],
                "obs_i": [torch.as_tensor(i, device=device) for i in self._obs.index],
                "e0": c(np.eye(self.d)[:, 0]),
            }
        return self._cache[key]

    @staticmethod
    def _step_tensors(step: tuple, device: torch.device, cdtype: torch.dtype) -> tuple:
        if step[0] == "monomial":
            _, src, val = step
            return ("monomial", torch.as_tensor(src, device=device),
                    None if val is None else torch.as_tensor(val, dtype=cdtype, device=device))
        if step[0] == "dense":
            _, sites, m = step
            return ("dense", sites, torch.as_tensor(m, dtype=cdtype, device=device))
        return step

    def _local_operators(self, angles: torch.Tensor, k: dict) -> torch.Tensor:
        """Gate angles (batch, n_angles) -> fused per-(stage, site) operators (batch, n_pairs, d, d)."""
        batch = angles.shape[0]
        blocks = []
        for (kind, _, _), rows, noise in zip(self._kinds, k["rows"], k["noise"]):
            u = PARAM_GATES[kind][1](angles[:, rows])                    # (batch, m, 2, 2)
            if self.density:
                u = torch.einsum("bmij,bmkl->bmikjl", u, u.conj()).reshape(*u.shape[:2], 4, 4)
                if noise is not None:
                    u = noise @ u
            blocks.append(u)
        blocks.append(k["const"].expand(batch, -1, -1, -1))
        g = torch.cat(blocks, 1) if len(blocks) > 1 else blocks[0]
        chain = k["chain"]
        m = g[:, chain[0]]
        for step in chain[1:]:
            m = g[:, step] @ m
        return m

    @property
    def angle_map(self) -> tuple[np.ndarray, np.ndarray]:
        """(coef (n_columns, n_angles), bias (n_angles,)): gate angles = theta @ coef + bias."""
        return self._coef, self._bias

    def signature(self) -> str:
        """A digest of everything but the angle map: programs with equal signatures differ only in
        which columns of theta feed their gates, so they can run as one, stacked along the batch."""
        h = hashlib.sha256(repr((self.n, self.d, [(kind, r.shape) for kind, r, _ in self._kinds],
                                 sorted(self._first.items()), self._obs.masks,
                                 [st[0] for st in self._steps])).encode())
        arrays = [nz for _, _, nz in self._kinds] + [self._const_local, self._chain]
        arrays += [a for st in self._steps for a in st[1:]] + self._obs.weights + self._obs.index
        for a in arrays:
            if a is not None:
                a = np.ascontiguousarray(a)
                h.update(repr((a.dtype.str, a.shape)).encode() + a.tobytes())
        return h.hexdigest()

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """theta (batch, n_columns) real -> expectation values (batch, n_observables), same dtype."""
        k = self._constants(theta.device, theta.dtype)
        return self.run(theta @ k["coef"] + k["bias"])

    def run(self, angles: torch.Tensor) -> torch.Tensor:
        """Gate angles (batch, n_angles), radians -> expectation values (batch, n_observables)."""
        k = self._constants(angles.device, angles.dtype)
        batch, n, d = angles.shape[0], self.n, self.d
        local = self._local_operators(angles, k) if len(self._chain) else None
        state = None
        for q in reversed(range(n)):       # site n-1 is the most significant
            v = local[:, self._first[q], :, 0] if q in self._first else k["e0"].expand(batch, d)
            state = v if state is None else (state[:, :, None] * v[:, None, :]).reshape(batch, -1)
        for step, tensors in zip(self._steps, k["steps"]):
            if step[0] == "local":
                for q, p in step[1]:
                    view = state.reshape(batch, d ** (n - 1 - q), d, d ** q)
                    state = (local[:, p, None] @ view).reshape(batch, -1)
            elif step[0] == "monomial":
                _, src, val = tensors
                state = state[:, src] if val is None else state[:, src] * val
            else:
                state = self._apply_dense(state, tensors[1], tensors[2])
        return self._expectation(state, k).to(angles.dtype)

    def _apply_dense(self, state: torch.Tensor, sites: tuple[int, ...], m: torch.Tensor) -> torch.Tensor:
        """A constant operator (d^k, d^k) on ``sites`` (first site least significant)."""
        n, d, batch = self.n, self.d, state.shape[0]
        t = state.reshape((batch,) + (d,) * n)
        axes = [1 + (n - 1 - s) for s in reversed(sites)]
        t = torch.movedim(t, axes, list(range(n + 1 - len(sites), n + 1)))
        moved = t.shape
        t = (t.reshape(batch, -1, d ** len(sites)) @ m.T).reshape(moved)
        return torch.movedim(t, list(range(n + 1 - len(sites), n + 1)), axes).reshape(batch, -1)

    def _expectation(self, state: torch.Tensor, k: dict) -> torch.Tensor:
        out = None
        for mask, idx, w in zip(self._obs.masks, k["obs_i"], k["obs_w"]):
            if self.density:
                term = (state[:, idx] @ w).real
            elif mask == 0:
                term = (state.real ** 2 + state.imag ** 2) @ w.real
            else:
                term = ((state[:, idx].conj() * state) @ w).real
            out = term if out is None else out + term
        return out
