"""A compiled, fused torch program: `GateOp`s on n qubits -> expectation values, batched.

The state is a tensor (batch, d^m) over the m qubits still "alive", position j of dimension d
with stride d^j: d = 2 complex amplitudes for a statevector; d = 4 real Pauli coefficients for a
density matrix (`_torch_pauli`: a channel on k qubits is its real (4^k, 4^k) Pauli-transfer
matrix, a gate on a statevector alike). A density-matrix qubit that no observable reads is
traced out after its last multi-qubit stage (its later channels cannot reach the rest), so the
light cone of <Z_j> shrinks toward qubit j as the circuit runs.

Stages, built once (`_torch_stages` schedules them, `_torch_readout` reads the final state):
- local: one fused (d, d) operator per site; every single-qubit gate (and, with noise, its error)
  between two multi-qubit gates on that qubit is multiplied into it, all stages' matrices built in
  one vectorised pass; a stage is one batched matmul per site, each moving the top site to the
  bottom (a full cycle restores the order, with no copies). A first local stage becomes the
  initial product state by Kronecker products.
- monomial: runs of operators with one non-zero per column (cz, cx, swap; with noise their
  Pauli-transfer matrices, and the diagonal ones of Pauli channels such as a product error split
  off a cz) composed into one gather and one sign / scale vector, which also drops the qubits
  traced out after it. A whole noisy CZ ring is one such stage.
- dense: any other constant multi-qubit operator (for example a gate followed by its noise).
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from ._torch_circuit import PARAM_GATES, GateOp, superop
from ._torch_kernels import apply_dense, apply_local
from ._torch_pauli import PARAM_CHANNELS, ZERO_STATE, ptm, ptm_batch
from ._torch_readout import Observables, observed
from ._torch_stages import is_monomial, kept, lift_monomial, schedule


class Program:
    """Fused torch program for ``ops`` on ``n`` qubits with ``observables`` (on the same n qubits).

    Args:
        ops: the gates (with noise superoperators when ``density``).
        n: number of qubits.
        observables: Hermitian SparsePauliOps on n qubits.
        n_columns: width of theta = [inputs | weights].
        density: evolve a density matrix (as Pauli coefficients) and apply each op's noise; needed
            for ops that are channels (`_torch_pauli.PARAM_CHANNELS`, ``kraus``).

    ``cost``: the amplitudes (or coefficients) the program touches per sample, summed over its
    stages; it decides whether light cones beat one simulation of all qubits.
    """

    def __init__(self, ops: list[GateOp], n: int, observables: list[SparsePauliOp], n_columns: int,
                 density: bool) -> None:
        self.n, self.d, self.density = n, (4 if density else 2), density
        mats = [self._constant(op) for op in ops]
        monomial = [m is not None and is_monomial(m) for m in mats]
        self.stages = schedule(ops, n, monomial)
        last = self._trace_out_points(ops, observables)
        self._build_local(ops, mats, n_columns)
        d = self.d
        alive = [q for q in range(n) if last[q] is None or last[q] >= 0]
        self._initial = [self._first.get(q, -1) for q in alive]
        self.cost = d ** len(alive)
        self._steps: list[tuple] = []
        for s, stage in enumerate(self.stages):
            if stage.kind == "local":
                pairs = [self._pair.get((s, q), -1) for q in alive]
                if s > 0 and max(pairs) >= 0:
                    self._steps.append(("local", np.array(pairs)))
                    self.cost += d ** len(alive)
                continue
            self.cost += d ** len(alive)
            position = {q: j for j, q in enumerate(alive)}
            gone = [q for q in alive if last[q] == s]
            keep = kept(len(alive), [position[q] for q in gone], d) if gone else None
            if stage.kind == "monomial":
                src, val = np.arange(d ** len(alive)), np.ones(d ** len(alive), mats[stage.ops[0]].dtype)
                for i in stage.ops:
                    s_i, v_i = lift_monomial(mats[i], tuple(position[q] for q in ops[i].qubits),
                                              len(alive), d)
                    src, val = (src, v_i * val) if s_i is None else (src[s_i], v_i * val[s_i])
                if keep is not None:
                    src, val = src[keep], val[keep]
                self._steps.append(("monomial", src, None if np.allclose(val, 1) else val))
            else:
                (i,) = stage.ops
                self._steps.append(("dense", np.array([position[q] for q in ops[i].qubits]), mats[i],
                                    keep))
            alive = [q for q in alive if q not in gone]
        self._obs = Observables(observables, alive, density)
        self._cache: dict[tuple, dict] = {}

    def _trace_out_points(self, ops: list[GateOp], observables: list[SparsePauliOp]) -> list[int | None]:
        """Per qubit, the stage after which it is traced out (-1: from the start), or None (kept);
        its single-qubit runs after that point are dropped from the local stages. Statevectors
        keep every qubit; a density matrix keeps the observed ones. Exact for trace-preserving
        channels (every Kraus error of a NoiseModel), whose row I of the PTM is (1, 0, 0, 0)."""
        if not self.density:
            return [None] * self.n
        read = observed(observables)
        last: list[int | None] = [None if q in read else -1 for q in range(self.n)]
        for s, stage in enumerate(self.stages):
            for i in stage.ops:
                for q in ops[i].qubits:
                    if last[q] is not None:
                        last[q] = s
        for s, stage in enumerate(self.stages):
            if stage.kind == "local":
                stage.sites = {q: run for q, run in stage.sites.items() if last[q] is None or last[q] >= s}
        return last

    def _constant(self, op: GateOp) -> np.ndarray | None:
        """The op's constant operator on its sites (its Pauli-transfer matrix with noise when density)."""
        if op.matrix is None:
            return None
        if not self.density:
            return op.matrix
        s = superop([op.matrix])
        return ptm(s if op.noise is None else op.noise @ s)

    def _build_local(self, ops: list[GateOp], mats: list, n_columns: int) -> None:
        """Index tables for building every single-qubit operator and the per-(stage, site) products."""
        # qubit by qubit, so that programs alike up to the order of independent gates look alike
        used = {i for st in self.stages if st.kind == "local" for run in st.sites.values() for i in run}
        one_q = sorted(used, key=lambda i: (ops[i].qubits, i))
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
            k = (PARAM_CHANNELS.get(kind) or PARAM_GATES[kind])[0]
            rows = np.arange(row, row + k * len(idx)).reshape(len(idx), k)
            row += k * len(idx)
            noise = None
            if self.density and any(ops[i].noise is not None for i in idx):
                noise = np.stack([ptm(ops[i].noise) if ops[i].noise is not None else np.eye(4) for i in idx])
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
            sdtype = rdtype if self.density else cdtype    # dtype of the state and its operators

            def c(a, dtype=sdtype):
                return None if a is None else torch.as_tensor(np.asarray(a), dtype=dtype, device=device)

            self._cache[key] = {
                "coef": c(self._coef, rdtype), "bias": c(self._bias, rdtype),
                "noise": [c(nz) for _, _, nz in self._kinds],
                "rows": [torch.as_tensor(r, device=device) for _, r, _ in self._kinds],
                "const": c(self._const_local), "chain": torch.as_tensor(self._chain, device=device),
                "steps": [self._step_tensors(st, device, sdtype) for st in self._steps],
                "obs_w": [c(w) for w in self._obs.weights],
                "obs_i": [torch.as_tensor(i, device=device) for i in self._obs.index],
                "init": c(ZERO_STATE if self.density else np.eye(2)[:, 0]),
            }
        return self._cache[key]

    @staticmethod
    def _step_tensors(step: tuple, device: torch.device, sdtype: torch.dtype) -> tuple:
        def index(a):
            return None if a is None else torch.as_tensor(a, device=device)

        if step[0] == "monomial":
            _, src, val = step
            return ("monomial", index(src), None if val is None else torch.as_tensor(val, dtype=sdtype, device=device))
        if step[0] == "dense":
            _, sites, m, keep = step
            return ("dense", tuple(int(s) for s in sites), torch.as_tensor(m, dtype=sdtype, device=device),
                    index(keep))
        return ("local", [int(p) for p in step[1]])

    def _local_operators(self, angles: torch.Tensor, k: dict) -> torch.Tensor:
        """Gate angles (batch, n_angles) -> fused per-(stage, site) operators (batch, n_pairs, d, d)."""
        batch = angles.shape[0]
        blocks = []
        for (kind, _, _), rows, noise in zip(self._kinds, k["rows"], k["noise"]):
            if kind in PARAM_CHANNELS:                                   # density only
                u = PARAM_CHANNELS[kind][1](angles[:, rows])             # (batch, m, 4, 4)
            else:
                u = PARAM_GATES[kind][1](angles[:, rows])                # (batch, m, 2, 2)
                if self.density:
                    u = ptm_batch(torch.einsum("bmij,bmkl->bmikjl", u, u.conj()).reshape(*u.shape[:2], 4, 4))
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
                                 self._initial, self._obs.masks, [st[0] for st in self._steps])).encode())
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
        batch, d = angles.shape[0], self.d
        local = self._local_operators(angles, k) if len(self._chain) else None
        init = k["init"].expand(batch, d)
        state = None
        for p in reversed(self._initial):       # the last position is the most significant
            v = init if p < 0 else local[:, p] @ k["init"]
            state = v if state is None else (state[:, :, None] * v[:, None, :]).reshape(batch, -1)
        for tensors in k["steps"]:
            if tensors[0] == "local":
                state = apply_local(state, tensors[1], local, self.d)
            elif tensors[0] == "monomial":
                _, src, val = tensors
                state = state[:, src] if val is None else state[:, src] * val
            else:
                _, sites, m, keep = tensors
                state = apply_dense(state, sites, m, self.d)
                if keep is not None:
                    state = state[:, keep]
        return self._expectation(state, k).to(angles.dtype)

    def _expectation(self, state: torch.Tensor, k: dict) -> torch.Tensor:
        out = None
        for mask, idx, w in zip(self._obs.masks, k["obs_i"], k["obs_w"]):
            if self.density:
                term = state[:, idx] @ w
            elif mask == 0:
                term = (state.real ** 2 + state.imag ** 2) @ w.real
            else:
                term = ((state[:, idx].conj() * state) @ w).real
            out = term if out is None else out + term
        return out
