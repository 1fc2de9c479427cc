"""The fused single-qubit operators of a compiled torch program (`_torch_program`), built per sample.

A program's local stages hold, per (stage, site), a run of single-qubit ops. At build time each
constant op of a run (a fixed gate, a noise channel) is multiplied into the parameterised op
before it (or, at the start of a run, the one after it), so a run becomes a short product of
factors. A parameterised op whose operator is affine in two features of its one angle,
M(a) = A + f1(a) B1 + f2(a) B2 (rx, ry, rz as unitaries: cos and sin of a / 2; as Pauli-transfer
matrices, and p / u1: of a; amplitude damping at rate sigmoid(x): sigmoid(x) and
sqrt(1 - sigmoid(x))), keeps A, B1 and B2 with its constants folded in, found by fitting at build
time; all such factors are built by one batched matmul per feature pair. Other parameterised ops
(u, u3) are built by their own functions. The factors of a run are multiplied in order, one
batched matmul per factor for all runs at once (measured faster than a balanced tree up to 16
factors a run: fewer, larger matmuls, but strided views whose backward copies more).
"""
from __future__ import annotations

from functools import cache
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from ._torch_circuit import PARAM_GATES, GateOp
from ._torch_pauli import PARAM_CHANNELS, ptm, ptm_batch

#: feature pairs an operator may be affine in: name -> angles (...,) -> (..., 2).
_FEATURES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "half": lambda a: torch.stack([torch.cos(a / 2), torch.sin(a / 2)], -1),
    "full": lambda a: torch.stack([torch.cos(a), torch.sin(a)], -1),
    "sigmoid": lambda a: torch.stack([torch.sigmoid(a), torch.exp(F.logsigmoid(-a) / 2)], -1),
}
#: angles the affine fit samples (radians), and the largest residual it accepts.
_PROBES = np.array([0.0, 0.37, 1.3, 2.2, -0.9, 3.1, -2.6])
_FIT_TOLERANCE = 1e-10


def _operator(kind: str, angles: torch.Tensor, density: bool) -> torch.Tensor:
    """Angles (..., k) of a parameterised op -> its operator (..., d, d): a unitary, or a real
    Pauli-transfer matrix when ``density``."""
    if kind in PARAM_CHANNELS:                                    # density only
        return PARAM_CHANNELS[kind][1](angles)
    u = PARAM_GATES[kind][1](angles)
    if not density:
        return u
    return ptm_batch(torch.einsum("...ij,...kl->...ikjl", u, u.conj()).reshape(*u.shape[:-2], 4, 4))


def _n_angles(kind: str) -> int:
    return (PARAM_CHANNELS.get(kind) or PARAM_GATES[kind])[0]


@cache
def _affine_fit(kind: str, density: bool) -> tuple[str, np.ndarray] | None:
    """(feature name, basis (3, d, d) = A, B1, B2) with M(a) = A + f1(a) B1 + f2(a) B2 exactly, or None."""
    if _n_angles(kind) != 1:
        return None
    a = torch.as_tensor(_PROBES, dtype=torch.float64)
    m = _operator(kind, a[:, None], density).numpy()
    values = m.reshape(len(_PROBES), -1)
    for name, feature in _FEATURES.items():
        design = np.concatenate([np.ones((len(_PROBES), 1)), feature(a).numpy()], 1)
        basis, *_ = np.linalg.lstsq(design.astype(values.dtype), values, rcond=None)
        if np.abs(design @ basis - values).max() < _FIT_TOLERANCE:
            return name, basis.reshape(3, *m.shape[1:])
    return None


class _Factor:
    """One parameterised op of a run with the constants folded around it: post @ M(angles) @ pre."""

    def __init__(self, op: GateOp, noise: np.ndarray | None, d: int, dtype: np.dtype) -> None:
        self.op = op
        self.pre = np.eye(d, dtype=dtype)
        self.post = np.eye(d, dtype=dtype) if noise is None else noise.astype(dtype)


class LocalOperators:
    """Per-sample products of every (stage, site) run of single-qubit ops of a program.

    Args:
        ops: the program's ops; ``mats[i]`` the constant operator of op i (None: parameterised).
        runs: per (stage, site) pair, the indices of its ops in circuit order.
        n_columns: width of theta = [inputs | weights].
        density: operators are real (4, 4) Pauli-transfer matrices, else (2, 2) unitaries.

    ``self(angles, k)``: gate angles (batch, n_angles) -> operators (batch, len(runs), d, d).
    """

    def __init__(self, ops: list[GateOp], mats: list[np.ndarray | None], runs: list[list[int]],
                 n_columns: int, density: bool) -> None:
        d = 4 if density else 2
        dtype = np.dtype(float) if density else np.dtype(complex)
        self.density = density
        factors: list[_Factor | np.ndarray] = []         # a _Factor, or a constant (d, d)
        chains: list[list[int]] = []
        for run in runs:
            chain: list[int] = []
            leading = np.eye(d, dtype=dtype)
            for i in run:
                if mats[i] is not None:
                    if chain and isinstance(factors[chain[-1]], _Factor):
                        factors[chain[-1]].post = mats[i] @ factors[chain[-1]].post
                    else:
                        leading = mats[i] @ leading
                    continue
                noise = ptm(ops[i].noise) if density and ops[i].noise is not None else None
                factors.append(_Factor(ops[i], noise, d, dtype))
                if not chain:
                    factors[-1].pre = leading
                chain.append(len(factors) - 1)
            if not chain:
                factors.append(leading)
                chain.append(len(factors) - 1)
            chains.append(chain)
        self._build(factors, chains, n_columns, d, dtype)

    def _build(self, factors: list, chains: list[list[int]], n_columns: int, d: int, dtype: np.dtype) -> None:
        """Group the factors by how they are built, map angles to columns, lay out the chains."""
        by_feature: dict[str, list[int]] = {}
        by_kind: dict[str, list[int]] = {}
        constants = []
        bases: dict[int, np.ndarray] = {}                  # factor -> its fitted (3, d, d) A, B1, B2
        for f, factor in enumerate(factors):
            if not isinstance(factor, _Factor):
                constants.append(f)
                continue
            fit = _affine_fit(factor.op.name, self.density)
            if fit is None:
                by_kind.setdefault(factor.op.name, []).append(f)
            else:
                by_feature.setdefault(fit[0], []).append(f)
                bases[f] = fit[1]
        angle_rows, position = [], {}
        self._features: list[tuple[str, np.ndarray, np.ndarray]] = []   # (feature, rows, basis (m, 3, d^2))
        for name, idx in by_feature.items():
            rows = np.arange(len(angle_rows), len(angle_rows) + len(idx))
            angle_rows += [factors[f].op.angles[0] for f in idx]
            basis = np.stack([[factors[f].post @ b @ factors[f].pre for b in bases[f]] for f in idx])
            basis = basis.reshape(len(idx), 3, d * d)
            self._features.append((name, rows, basis.astype(dtype)))
            position.update({f: len(position) + j for j, f in enumerate(idx)})
        self._generic: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []   # (kind, rows, pre, post)
        for kind, idx in by_kind.items():
            k = _n_angles(kind)
            rows = np.arange(len(angle_rows), len(angle_rows) + k * len(idx)).reshape(len(idx), k)
            angle_rows += [a for f in idx for a in factors[f].op.angles]
            self._generic.append((kind, rows, np.stack([factors[f].pre for f in idx]),
                                  np.stack([factors[f].post for f in idx])))
            position.update({f: len(position) + j for j, f in enumerate(idx)})
        position.update({f: len(position) + j for j, f in enumerate(constants)})
        identity = len(position)
        self._constants = np.stack([factors[f] for f in constants] + [np.eye(d, dtype=dtype)])
        coef = np.zeros((n_columns, len(angle_rows)))
        for r, a in enumerate(angle_rows):
            for col, c in a.terms:
                coef[col, r] += c
        self.coef, self.bias = coef, np.array([a.bias for a in angle_rows])
        length = max((len(c) for c in chains), default=1)
        self._chain = np.full((length, len(chains)), identity)
        for p, chain in enumerate(chains):
            self._chain[:len(chain), p] = [position[f] for f in chain]

    def structure(self) -> tuple:
        """How the operators are built and multiplied, for `Program.signature`: stacked programs
        share it and may differ only in their constants (fitted bases, folded constants)."""
        return (tuple((name, r.shape) for name, r, _ in self._features),
                tuple((kind, r.shape) for kind, r, _, _ in self._generic), self._constants.shape,
                self._chain.tobytes(), self._chain.shape)

    def tensors(self, device: torch.device, rdtype: torch.dtype,
                group: list["LocalOperators"] | None = None) -> dict:
        """The constants on ``device`` (real ``rdtype`` for density programs, its complex type
        otherwise), each with a leading axis over ``group`` (default: this one alone), whose
        members share this one's `structure`: a batch of angles then holds group member g's
        samples at rows g * batch / len(group) onward."""
        cdtype = torch.complex128 if rdtype == torch.float64 else torch.complex64
        sdtype = rdtype if self.density else cdtype
        group = group or [self]

        def c(arrays):
            return torch.as_tensor(np.stack(arrays), dtype=sdtype, device=device)

        features = [(_FEATURES[name], torch.as_tensor(rows, device=device),
                     c([m._features[j][2][:, 0] for m in group]), c([m._features[j][2][:, 1:] for m in group]))
                    for j, (name, rows, _) in enumerate(self._features)]
        generic = [(kind, torch.as_tensor(rows, device=device), c([m._generic[j][2] for m in group]),
                    c([m._generic[j][3] for m in group])) for j, (kind, rows, _, _) in enumerate(self._generic)]
        return {"features": features, "generic": generic, "const": c([m._constants for m in group]),
                "chain": torch.as_tensor(self._chain, device=device)}

    def __call__(self, angles: torch.Tensor, k: dict) -> torch.Tensor:
        """Gate angles (batch, n_angles) -> operators (batch, n_runs, d, d)."""
        d = 4 if self.density else 2
        groups = k["const"].shape[0]
        batch = angles.shape[0] // groups
        grouped = angles.reshape(groups, batch, -1)
        blocks = []
        for feature, rows, a, b in k["features"]:
            f = feature(grouped[:, :, rows]).to(b.dtype)                # (groups, batch, m, 2)
            blocks.append(a[:, None] + torch.einsum("gbmf,gmfk->gbmk", f, b))
        for kind, rows, pre, post in k["generic"]:
            m = _operator(kind, grouped[:, :, rows], self.density)      # (groups, batch, m, d, d)
            blocks.append((post[:, None] @ m @ pre[:, None]).flatten(-2))
        blocks.append(k["const"].flatten(-2)[:, None].expand(groups, batch, -1, -1))
        g = torch.cat(blocks, 2) if len(blocks) > 1 else blocks[0]          # (groups, batch, n_factors, d * d)
        chain = k["chain"]                                                  # (length, n_runs)
        m = g.reshape(groups * batch, -1, d * d).index_select(1, chain.flatten())
        # each run's factors, first applied first, multiplied in order: views by unbind and a plain
        # loop, whose backward stacks and copies (strided slices' backward zero-fills the whole
        # (batch, length, n_runs, d, d) tensor per slice: 0.6 ms of a 9-qubit re-upload call at batch 64)
        factors = m.reshape(groups * batch, *chain.shape, d, d).unbind(1)
        product = factors[0]
        for factor in factors[1:]:
            product = factor @ product
        return product

    def __len__(self) -> int:
        return self._chain.shape[1]
