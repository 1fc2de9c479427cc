"""Compile a Qiskit circuit (and an Aer `NoiseModel`) into a flat list of gate records for engine="torch".

Every gate becomes a `GateOp` on qubit indices (Qiskit's little-endian order: ``qubits[0]`` is the
least significant bit of the gate's matrix). A gate's angles are affine in ONE circuit parameter
each (``x``, ``2*x``, ``x + pi``) or constant; they are stored as `Angle` rows over the columns of
``theta = [inputs | weights]``. A gate with constant parameters keeps its matrix. Noise is the
superoperator of the NoiseModel's error on that gate name and those qubits, in the per-qubit
"site" layout that the density-matrix program uses (site digit = 2 * row bit + column bit).

Channel instructions in the circuit (`circuits.channels`) become ops too: a ``kraus`` instruction
an identity gate whose noise is its superoperator, a channel of `_torch_pauli.PARAM_CHANNELS`
(amplitude damping at rate sigmoid(x)) an op with angles whose Pauli-transfer matrix the program
builds per sample.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, Instruction, Parameter, ParameterExpression
from qiskit.quantum_info import Kraus, Operator

from ..circuits.channels import INPUT_DAMPING
from ._torch_pauli import PARAM_CHANNELS

if TYPE_CHECKING:
    from qiskit_aer.noise import NoiseModel

ENGINE = "torch"


def _entries(re: list[torch.Tensor], im: list[torch.Tensor]) -> torch.Tensor:
    """Four (row-major) entries as real and imaginary parts -> complex (..., 2, 2)."""
    m = torch.complex(torch.stack(re, -1), torch.stack(im, -1))
    return m.unflatten(-1, (2, 2))


def _rx(a: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(a[..., 0] / 2), torch.sin(a[..., 0] / 2)
    z = torch.zeros_like(c)
    return _entries([c, z, z, c], [z, -s, -s, z])


def _ry(a: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(a[..., 0] / 2), torch.sin(a[..., 0] / 2)
    z = torch.zeros_like(c)
    return _entries([c, -s, s, c], [z, z, z, z])


def _rz(a: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(a[..., 0] / 2), torch.sin(a[..., 0] / 2)
    z = torch.zeros_like(c)
    return _entries([c, z, z, c], [-s, z, z, s])


def _p(a: torch.Tensor) -> torch.Tensor:
    one, z = torch.ones_like(a[..., 0]), torch.zeros_like(a[..., 0])
    return _entries([one, z, z, torch.cos(a[..., 0])], [z, z, z, torch.sin(a[..., 0])])


def _u(a: torch.Tensor) -> torch.Tensor:
    theta, phi, lam = a[..., 0], a[..., 1], a[..., 2]
    c, s, z = torch.cos(theta / 2), torch.sin(theta / 2), torch.zeros_like(theta)
    return _entries([c, -torch.cos(lam) * s, torch.cos(phi) * s, torch.cos(phi + lam) * c],
                    [z, -torch.sin(lam) * s, torch.sin(phi) * s, torch.sin(phi + lam) * c])


#: parameterised single-qubit gates: name -> (number of angles, angles (..., k) -> unitary (..., 2, 2)).
PARAM_GATES: dict[str, tuple[int, Callable[[torch.Tensor], torch.Tensor]]] = {
    "rx": (1, _rx), "ry": (1, _ry), "rz": (1, _rz), "p": (1, _p), "u1": (1, _p),
    "u": (3, _u), "u3": (3, _u),
}
#: rotations about one axis: two in a row on a qubit are one rotation by the summed angle.
_ADDITIVE = {"rx", "ry", "rz", "p", "u1"}
_SKIPPED = {"barrier"}
SUPPORTED = (f"parameterised {', '.join(PARAM_GATES)}; any 1- or 2-qubit gate with constant "
             f"parameters (h, x, y, z, s, sdg, t, tdg, sx, cx, cy, cz, swap, ...); 1- and 2-qubit "
             f"kraus channels; {', '.join(PARAM_CHANNELS)}; barrier")


@dataclass(frozen=True)
class Angle:
    """One gate angle (radians) = ``sum(coef * theta[:, col] for col, coef in terms) + bias``."""

    terms: tuple[tuple[int, float], ...]
    bias: float

    def __add__(self, other: "Angle") -> "Angle":
        merged: dict[int, float] = dict(self.terms)
        for col, coef in other.terms:
            merged[col] = merged.get(col, 0.0) + coef
        return Angle(tuple(sorted(merged.items())), self.bias + other.bias)


@dataclass(frozen=True)
class GateOp:
    """One gate: ``name`` on ``qubits``; either ``angles`` (parameterised, 1 qubit) or ``matrix``.

    ``noise``: superoperator (4^k, 4^k) in site layout of the error that follows the gate, or None.
    An op named in `PARAM_CHANNELS` is that channel at its ``angles``, not a gate.
    """

    name: str
    qubits: tuple[int, ...]
    angles: tuple[Angle, ...] = ()
    matrix: np.ndarray | None = None
    noise: np.ndarray | None = None

    def relabel(self, mapping: dict[int, int]) -> "GateOp":
        return replace(self, qubits=tuple(mapping[q] for q in self.qubits))


def superop(kraus: Sequence[np.ndarray]) -> np.ndarray:
    """Kraus operators on k qubits -> superoperator (4^k, 4^k) acting on k sites of dim 4.

    Site q holds (row bit r_q, column bit c_q) of the density matrix as digit 2 r_q + c_q; the
    k sites are ordered like the qubits of a k-qubit gate (first qubit least significant).
    """
    dim = kraus[0].shape[0]
    k = int(np.log2(dim))
    s = sum(np.kron(m, m.conj()) for m in kraus)          # index (r * dim + c, r' * dim + c')
    s = s.reshape((2,) * (4 * k))                         # r_{k-1}..r_0 c_{k-1}..c_0 | same, input
    out_axes = [a for q in range(k) for a in (q, k + q)]  # r_{k-1} c_{k-1} ... r_0 c_0
    return s.transpose(out_axes + [2 * k + a for a in out_axes]).reshape(4 ** k, 4 ** k)


def _where(name: str, qubits: tuple[int, ...]) -> str:
    return f"instruction {name!r} on qubits {qubits}"


def _angle(value, name: str, qubits: tuple[int, ...], columns: dict[Parameter, int]) -> Angle:
    """A gate parameter -> `Angle`; refuse expressions that are not affine in one parameter."""
    if not isinstance(value, ParameterExpression):
        return Angle((), float(value))
    params = list(value.parameters)
    if not params:
        return Angle((), float(value))
    if len(params) > 1:
        raise ValueError(f"{_where(name, qubits)} has angle {value}, which mixes several parameters; "
                         f"engine {ENGINE!r} takes angles affine in one parameter (x, 2*x, x + pi)")
    p = params[0]
    if p not in columns:
        raise ValueError(f"{_where(name, qubits)} uses parameter {p.name!r}, which is neither an "
                         "input nor a weight parameter of the ansatz")
    bias = float(value.bind({p: 0.0}))
    coef = float(value.bind({p: 1.0})) - bias
    for probe in (-1.7, 2.9):
        if abs(float(value.bind({p: probe})) - (coef * probe + bias)) > 1e-9 * (1 + abs(probe * coef)):
            raise ValueError(f"{_where(name, qubits)} has angle {value}, which is not affine in "
                             f"{p.name!r}; engine {ENGINE!r} takes angles like x, 2*x, x + pi")
    return Angle(((columns[p], coef),), bias)


class NoiseLookup:
    """The Kraus superoperator an Aer `NoiseModel` applies after gate ``name`` on ``qubits``.

    A qubit-specific error overrides the all-qubit one, as in Aer. Readout errors are refused.
    """

    def __init__(self, noise_model: NoiseModel | None) -> None:
        self._local: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}
        self._default: dict[str, np.ndarray] = {}
        if noise_model is None:
            return
        if noise_model._default_readout_error is not None or noise_model._local_readout_errors:
            raise ValueError(f"engine {ENGINE!r} computes exact expectation values and does not "
                             "apply readout errors; give a NoiseModel without readout errors")
        converted: dict[int, np.ndarray] = {}     # id(error) -> superop: gates often share one error

        def convert(error) -> np.ndarray:
            if id(error) not in converted:
                converted[id(error)] = superop(Kraus(error).data)
            return converted[id(error)]

        for name, error in noise_model._default_quantum_errors.items():
            self._default[name] = convert(error)
        for name, per_qubits in noise_model._local_quantum_errors.items():
            for qubits, error in per_qubits.items():
                self._local[(name, tuple(qubits))] = convert(error)

    def __call__(self, name: str, qubits: tuple[int, ...]) -> np.ndarray | None:
        s = self._local.get((name, qubits), self._default.get(name))
        if s is not None and s.shape[0] != 4 ** len(qubits):
            raise ValueError(f"the noise model's error for {_where(name, qubits)} acts on "
                             f"{int(np.log2(s.shape[0])) // 2} qubits, not {len(qubits)}")
        return s


def compile_circuit(circuit: QuantumCircuit, columns: dict[Parameter, int],
                    noise: NoiseLookup) -> list[GateOp]:
    """``circuit.data`` -> `GateOp` list, with noise attached and same-axis rotation runs merged.

    ``columns`` maps each circuit parameter to its column of theta = [inputs | weights].
    """
    ops: list[GateOp] = []
    last_on: dict[int, int] = {}                  # qubit -> index in ops of its latest gate
    for inst in circuit.data:
        name = inst.operation.name
        qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
        if name in _SKIPPED:
            continue
        if inst.clbits or len(qubits) > 2 or getattr(inst.operation, "condition", None):
            raise ValueError(f"{_where(name, qubits)} is not supported by engine {ENGINE!r}; "
                             f"supported: {SUPPORTED}")
        gate = _op(inst.operation, qubits, columns, noise)
        prev = last_on.get(qubits[0]) if len(qubits) == 1 else None
        if (prev is not None and gate.angles and ops[prev].name == name and name in _ADDITIVE
                and ops[prev].noise is None and ops[prev].angles):
            ops[prev] = replace(gate, angles=(ops[prev].angles[0] + gate.angles[0],))
            continue
        for piece in _split_product_noise(gate):
            ops.append(piece)
            for q in piece.qubits:
                last_on[q] = len(ops) - 1
    return ops


def _op(op: Instruction, qubits: tuple[int, ...], columns: dict[Parameter, int], noise: NoiseLookup) -> GateOp:
    """One instruction (at most 2 qubits) -> its `GateOp`; ``ValueError`` if it is not supported."""
    name = op.name
    if name == "kraus":
        return GateOp(name, qubits, matrix=np.eye(2 ** len(qubits)), noise=superop(op.params))
    if name in PARAM_CHANNELS and len(qubits) == 1:
        return GateOp(name, qubits, angles=tuple(_angle(v, name, qubits, columns) for v in op.params))
    if not isinstance(op, Gate):
        raise ValueError(f"{_where(name, qubits)} is not supported by engine {ENGINE!r}; "
                         f"supported: {SUPPORTED}")
    angles = tuple(_angle(v, name, qubits, columns) for v in op.params)
    if any(a.terms for a in angles):
        if name not in PARAM_GATES or len(qubits) != 1:
            raise ValueError(f"{_where(name, qubits)} with parameters is not supported by engine "
                             f"{ENGINE!r}; supported: {SUPPORTED}")
        return GateOp(name, qubits, angles=angles, noise=noise(name, qubits))
    try:
        bound = op.to_mutable()
        bound.params = [a.bias for a in angles]
        matrix = Operator(bound).data
    except Exception as exc:   # noqa: BLE001 - any failure means: no matrix for this gate
        raise ValueError(f"{_where(name, qubits)} has no matrix; engine {ENGINE!r} supports: "
                         f"{SUPPORTED}") from exc
    return GateOp(name, qubits, matrix=matrix, noise=noise(name, qubits))


def _split_product_noise(gate: GateOp) -> list[GateOp]:
    """A 2-qubit gate whose error is a product of 1-qubit channels -> the noiseless gate, then
    one channel op per qubit (identity matrix with the channel as noise): they fuse into the
    single-qubit runs, and the gate may drop out of light cones."""
    if gate.noise is None or len(gate.qubits) != 2:
        return [gate]
    s = gate.noise.reshape(4, 4, 4, 4).transpose(0, 2, 1, 3).reshape(16, 16)  # (out_b in_b, out_a in_a)
    u, sv, vh = np.linalg.svd(s)
    if sv[1] > 1e-12 * sv[0]:
        return [gate]
    b = (sv[0] * u[:, 0]).reshape(4, 4)
    a = vh[0].reshape(4, 4)
    trace = np.array([1, 0, 0, 1])                # trace of a 1-qubit density matrix in site layout
    scale = (trace @ a)[0]                        # a trace-preserving factor has trace @ a = trace
    a, b = a / scale, b * scale
    qa, qb = gate.qubits
    return [replace(gate, noise=None),
            GateOp(f"{gate.name} error", (qa,), matrix=np.eye(2), noise=a),
            GateOp(f"{gate.name} error", (qb,), matrix=np.eye(2), noise=b)]


_DIAGONAL_PARAM_GATES = {"rz", "p", "u1"}
#: channels of `PARAM_CHANNELS` whose adjoint maps diagonal matrices to diagonal ones.
_DIAGONAL_PARAM_CHANNELS = {INPUT_DAMPING}


def _is_diagonal(op: GateOp) -> bool:
    """A gate whose matrix is diagonal for every angle (noise aside)."""
    if op.angles:
        return op.name in _DIAGONAL_PARAM_GATES
    return bool(np.allclose(op.matrix, np.diag(np.diag(op.matrix))))


def _keeps_z_commutation(op: GateOp) -> bool:
    """Whether the op's adjoint keeps an operator that commutes with Z on its qubits doing so:
    diagonal gates, and channels whose adjoint maps diagonal matrices to diagonal ones (bit flip,
    depolarizing, amplitude damping, ... after a diagonal gate)."""
    if op.name in PARAM_CHANNELS:
        return op.name in _DIAGONAL_PARAM_CHANNELS
    if not _is_diagonal(op):
        return False
    if op.noise is None:
        return True
    k = len(op.qubits)
    digits = (np.arange(4 ** k)[:, None] // 4 ** np.arange(k)) % 4
    diag = (digits % 3 == 0).all(axis=1)             # every site digit is (0,0) or (1,1)
    return bool(np.allclose(op.noise[np.ix_(diag, ~diag)], 0))


def light_cone(ops: Sequence[GateOp], observable_qubits: dict[int, bool]) -> tuple[list[GateOp], list[int]]:
    """The gates (in order) that can influence an observable, and the qubits they touch (the
    observable's first, then in the order they join; cones alike up to a shift then look alike).

    ``observable_qubits``: qubit -> whether the observable commutes with Z there (only I/Z terms).
    Walking back from the end (the Heisenberg picture), a gate is dropped, exactly, when
    - it touches no qubit of the evolved observable's support: a unitary, or the adjoint of a
      trace-preserving channel, leaves the identity unchanged; or
    - it is a noiseless diagonal gate and the evolved observable commutes with Z on all its
      qubits, so with the gate. Diagonal gates, and channels whose adjoint keeps diagonal
      matrices diagonal, keep that commutation, so a CZ ring after the last rotations drops out
      and the cone of Z_j after b re-upload blocks spans 2b - 1 qubits.
    """
    cone = set(observable_qubits)
    joined = sorted(cone)
    commutes_z = dict(observable_qubits)
    kept: list[GateOp] = []
    for op in reversed(ops):
        if not cone.intersection(op.qubits):
            continue
        if op.noise is None and _is_diagonal(op) and all(commutes_z.get(q, True) for q in op.qubits):
            continue
        joined += [q for q in op.qubits if q not in cone]
        cone.update(op.qubits)
        kept.append(op)
        if not _keeps_z_commutation(op):
            commutes_z.update({q: False for q in op.qubits})
    return kept[::-1], joined
