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
  one vectorised pass (`_torch_local`); a stage is one batched matmul per site, each moving the
  top site to the bottom (a full cycle restores the order, with no copies). A first local stage
  becomes the initial product state by Kronecker products.
- monomial: runs of operators with one non-zero per column (cz, cx, swap; with noise their
  Pauli-transfer matrices, and the diagonal ones of Pauli channels such as a product error split
  off a cz) composed into one gather and one sign / scale vector, which also drops the qubits
  traced out after it. A whole noisy CZ ring is one such stage.
- dense: any other constant multi-qubit operator (for example a gate followed by its noise).

A density program's last stage is read through rather than applied, when it is a local or a
monomial one: its observables become the few coefficients of the state before it that they
depend on (`_torch_readout.ThroughLastLayer`, `Observables.read_through`), which saves a pass
over the whole state and its backward.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from ._torch_circuit import GateOp, superop
from ._torch_kernels import Columns, apply_dense, apply_local
from ._torch_local import LocalOperators
from ._torch_pauli import ZERO_STATE, ptm
from ._torch_readout import Observables, ThroughLastLayer, observed
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
        self._steps: list[tuple] = []
        costs = [d ** len(alive)]               # the initial state, then each step's input
        for s, stage in enumerate(self.stages):
            if stage.kind == "local":
                pairs = [self._pair.get((s, q), -1) for q in alive]
                if s > 0 and max(pairs) >= 0:
                    self._steps.append(("local", np.array(pairs)))
                    costs.append(d ** len(alive))
                continue
            costs.append(d ** len(alive))
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
        # a density program's last stage, if a monomial or local one, is read through, not applied
        self._last = None
        if density and self._steps and self._steps[-1][0] == "monomial":
            self._obs.read_through(*self._steps.pop()[1:])
            costs.pop()
        elif density and self._steps and self._steps[-1][0] == "local":
            self._last = ThroughLastLayer(observables, alive, self._steps.pop()[1])
            costs.pop()
        self.cost = sum(costs)
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
        """The fused operators of every (stage, site) run, and which run each stage and site uses."""
        runs = [((s, q), run) for s, st in enumerate(self.stages) if st.kind == "local"
                for q, run in sorted(st.sites.items())]
        self._local = LocalOperators(ops, mats, [run for _, run in runs], n_columns, self.density)
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

            def index(a):
                return torch.as_tensor(a, device=device)

            self._cache[key] = {
                "coef": c(self._local.coef, rdtype), "bias": c(self._local.bias, rdtype),
                "local": self._local.tensors(device, rdtype),
                "steps": [self._step_tensors(st, device, sdtype) for st in self._steps],
                "obs_w": [c(w) for w in self._obs.weights],
                "obs_i": [index(i) for i in self._obs.index],
                "last": None if self._last is None else [
                    (index(op_index), index(digits), index(rows), c(w))
                    for op_index, digits, rows, w in self._last.groups],
                "init": c(ZERO_STATE if self.density else np.eye(2)[:, 0]),
            }
        return self._cache[key]

    @staticmethod
    def _step_tensors(step: tuple, device: torch.device, sdtype: torch.dtype) -> tuple:
        if step[0] == "monomial":
            _, src, val = step
            return ("monomial", Columns(src, device),
                    None if val is None else torch.as_tensor(val, dtype=sdtype, device=device))
        if step[0] == "dense":
            _, sites, m, keep = step
            return ("dense", tuple(int(s) for s in sites), torch.as_tensor(m, dtype=sdtype, device=device),
                    None if keep is None else Columns(keep, device))
        return ("local", [int(p) for p in step[1]])

    @property
    def angle_map(self) -> tuple[np.ndarray, np.ndarray]:
        """(coef (n_columns, n_angles), bias (n_angles,)): gate angles = theta @ coef + bias."""
        return self._local.coef, self._local.bias

    def signature(self) -> str:
        """A digest of everything but the angle map and the single-qubit operators' constants:
        programs with equal signatures differ only in which columns of theta feed their gates and
        in the constants folded into their single-qubit runs (`LocalOperators.values`), so they
        can run as one, stacked along the batch."""
        h = hashlib.sha256(repr((self.n, self.d, self._local.structure(), self._initial, self._obs.masks,
                                 [st[0] for st in self._steps], self._last is None)).encode())
        arrays = [a for st in self._steps for a in st[1:]] + self._obs.weights + self._obs.index
        arrays += [a for group in self._last.groups for a in group] if self._last is not None else []
        for a in arrays:
            if a is not None:
                a = np.ascontiguousarray(a)
                h.update(repr((a.dtype.str, a.shape)).encode() + a.tobytes())
        return h.hexdigest()

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """theta (batch, n_columns) real -> expectation values (batch, n_observables), same dtype."""
        k = self._constants(theta.device, theta.dtype)
        return self.run(theta @ k["coef"] + k["bias"])

    def local_tensors(self, group: list["Program"], device: torch.device, rdtype: torch.dtype) -> dict:
        """The single-qubit constants of the programs in ``group`` (equal signatures, this one
        among them), stacked, for `run`."""
        return self._local.tensors(device, rdtype, [p._local for p in group])

    def run(self, angles: torch.Tensor, local_tensors: dict | None = None) -> torch.Tensor:
        """Gate angles (batch, n_angles), radians -> expectation values (batch, n_observables).

        ``local_tensors``: from `local_tensors` of G programs alike; then the batch is G blocks of
        samples, block g run by program g."""
        k = self._constants(angles.device, angles.dtype)
        batch, d = angles.shape[0], self.d
        local = self._local(angles, local_tensors or k["local"]) if len(self._local) else None
        init = k["init"].expand(batch, d)
        state = None
        for p in reversed(self._initial):       # the last position is the most significant
            v = init if p < 0 else local[:, p] @ k["init"]
            state = v if state is None else (state[:, :, None] * v[:, None, :]).reshape(batch, -1)
        for tensors in k["steps"]:
            if tensors[0] == "local":
                state = apply_local(state, tensors[1], local, self.d)
            elif tensors[0] == "monomial":
                _, gather, val = tensors
                state = gather(state)
                state = state if val is None else state * val
            else:
                _, sites, m, keep = tensors
                state = apply_dense(state, sites, m, self.d)
                if keep is not None:
                    state = keep(state)
        if self._last is not None:
            return self._last(state, local, k["last"]).to(angles.dtype)
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
