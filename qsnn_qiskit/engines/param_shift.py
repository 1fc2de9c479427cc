"""Batched parameter-shift gradient: every shifted parameter set of a batch in one estimator call.

qiskit-machine-learning's ``ParamShiftEstimatorGradient`` sends one PUB per (sample, observable,
shift): 2P x batch x outputs bound circuits. `BatchedParamShiftGradient` sends one PUB per distinct
circuit, whose parameter array holds every shift of every distinct sample, and whose observables
broadcast against it; Aer's EstimatorV2 binds that array at run time in one simulator call.

The rule is the exact two-term shift rule, so with shots (or an estimator's ``precision``) it
stays an unbiased estimate of the gradient. A parameter used by several gates, or scaled inside a
gate (``rz(2 * t)``), is handled by the generalised rule over gate occurrences: every occurrence
gets its own angle g_j = sum_k J[j, k] theta_k + b_j, each g_j is shifted by +-pi/2, and
dE/dtheta = sum_j (dE/dg_j) J[j, k]. Angles must be affine in the circuit parameters. Adjacent
rotations of one kind on the same qubits share one angle (rz(a) rz(b) = rz(a + b)), which saves
their shifts without changing the result.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.circuit import Parameter, ParameterExpression, ParameterVector, QuantumCircuit
from qiskit.primitives import BaseEstimatorV2
from qiskit.providers import Options
from qiskit.quantum_info.operators.base_operator import BaseOperator
from qiskit.transpiler.passes import TranslateParameterizedGates
from qiskit_machine_learning.gradients import BaseEstimatorGradient, EstimatorGradientResult
from qiskit_machine_learning.utils import circuit_cache_key

#: Gates whose angle g enters as exp(-i g G) with G of eigenvalue gap 1: E(g) = a + b cos g + c sin g,
#: so dE/dg = (E(g + pi/2) - E(g - pi/2)) / 2 exactly. Other parameterised gates are translated
#: into these first.
SHIFT_GATES = ("rx", "ry", "rz", "p", "rxx", "ryy", "rzz", "rzx")
_TRANSLATE_TO = SHIFT_GATES + ("x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "cx", "cy", "cz",
                               "swap", "id")


@dataclass(frozen=True)
class _ShiftPlan:
    """A circuit rewritten with one angle per gate occurrence, and the affine map to those angles.

    ``circuit`` has parameters g (n_angles,); for parameter values theta (n_params,) of the
    original circuit, in its ``parameters`` order, g = theta @ jacobian.T + offset.
    """

    circuit: QuantumCircuit
    jacobian: np.ndarray      # (n_angles, n_params)
    offset: np.ndarray        # (n_angles,)
    index: dict[Parameter, int]   # circuit parameter -> column of ``jacobian``


def _affine(expr: ParameterExpression, index: dict[Parameter, int], where: str) -> tuple[np.ndarray, float]:
    """Coefficients (n_params,) and constant of an angle affine in the circuit parameters."""
    row = np.zeros(len(index))
    for param in expr.parameters:
        slope = expr.gradient(param)
        if isinstance(slope, ParameterExpression) and slope.parameters:
            raise ValueError(f"{where}: angle {expr} is not affine in {param}; the parameter-shift "
                             "rule needs angles of the form a * theta + b")
        row[index[param]] += float(slope)
    constant = float(expr.bind({p: 0.0 for p in expr.parameters}))
    return row, constant


@dataclass
class _Op:
    """An instruction of the plan; ``row``/``constant`` describe its angle when it has a free one."""

    operation: Any
    qubits: tuple
    clbits: tuple
    row: np.ndarray | None = None
    constant: float = 0.0


def _is_free(value: Any) -> bool:
    return isinstance(value, ParameterExpression) and bool(value.parameters)


def _shift_plan(circuit: QuantumCircuit, merge_rotations: bool = True) -> _ShiftPlan:
    """Translate ``circuit`` into `SHIFT_GATES` and give each parameterised gate its own angle.

    With ``merge_rotations``, a rotation right after one of the same kind on the same qubits joins
    it (rz(a) rz(b) is rz(a + b), exactly): one angle and one pair of shifted circuits fewer, same
    gradient. Only for noiseless execution: under per-gate noise the merge would drop the channel
    that follows the first rotation.
    """
    unrolled = TranslateParameterizedGates(list(_TRANSLATE_TO))(circuit)
    index = {p: k for k, p in enumerate(circuit.parameters)}
    ops: list[_Op] = []
    last: dict[Any, int] = {}   # qubit -> position in ops of the last instruction on it
    for inst in unrolled.data:
        op = _Op(inst.operation, tuple(inst.qubits), tuple(inst.clbits))
        if any(_is_free(v) for v in op.operation.params):
            where = f"gate {op.operation.name!r} on qubits {[unrolled.find_bit(q).index for q in op.qubits]}"
            if op.operation.name not in SHIFT_GATES:
                raise ValueError(f"{where} has a parameterised angle but no two-term shift rule; "
                                 f"supported: {', '.join(SHIFT_GATES)}")
            op.row, op.constant = _affine(op.operation.params[0], index, where)
            before = last.get(op.qubits[0])
            if (merge_rotations and before is not None and all(last.get(q) == before for q in op.qubits)
                    and ops[before].row is not None and ops[before].qubits == op.qubits
                    and ops[before].operation.name == op.operation.name):
                ops[before].row = ops[before].row + op.row
                ops[before].constant += op.constant
                continue
        ops.append(op)
        for q in op.qubits:
            last[q] = len(ops) - 1
    free = [op for op in ops if op.row is not None]
    g = ParameterVector("_g", len(free))
    shifted = unrolled.copy_empty_like()
    if isinstance(shifted.global_phase, ParameterExpression):
        shifted.global_phase = 0.0   # a global phase never changes an expectation value
    angles = iter(g)
    for op in ops:
        operation = op.operation
        if op.row is not None:
            operation = operation.to_mutable()
            operation.params = [next(angles)]
        shifted.append(operation, op.qubits, op.clbits, copy=False)
    jacobian = np.array([op.row for op in free]).reshape(len(free), len(index))
    return _ShiftPlan(shifted, jacobian, np.array([op.constant for op in free]), index)


class BatchedParamShiftGradient(BaseEstimatorGradient):
    """Parameter-shift gradient of an EstimatorV2 that makes one PUB per distinct circuit.

    For the requests of one circuit: the distinct parameter rows (U of them; `EstimatorQNN` repeats
    each sample once per observable) are shifted on every angle that the requested parameters move
    (S angles), giving a parameter array (U * 2S, n_angles); the distinct observables (K) form an
    array (K, 1) that broadcasts against it, so the PUB returns (K, U * 2S) expectation values.
    All PUBs go to the estimator in one ``run``. A ``precision`` run option is passed on.
    """

    def __init__(self, estimator: BaseEstimatorV2, options=None, pass_manager=None,
                 merge_rotations: bool = True) -> None:
        if not isinstance(estimator, BaseEstimatorV2):
            raise TypeError(f"BatchedParamShiftGradient needs an EstimatorV2; got {type(estimator).__name__}")
        super().__init__(estimator, options, pass_manager=pass_manager)
        self._plans: dict[object, _ShiftPlan] = {}
        self._merge_rotations = merge_rotations

    def _plan(self, circuit: QuantumCircuit) -> _ShiftPlan:
        key = circuit_cache_key(circuit)
        if key not in self._plans:
            plan = _shift_plan(circuit, self._merge_rotations)
            if self._pass_manager is not None:
                plan = _ShiftPlan(self._pass_manager.run(plan.circuit), plan.jacobian, plan.offset, plan.index)
            self._plans[key] = plan
        return self._plans[key]

    def _run(
        self,
        circuits: Sequence[QuantumCircuit],
        observables: Sequence[BaseOperator],
        parameter_values: Sequence[Sequence[float]] | np.ndarray,
        parameters: Sequence[Sequence[Parameter]],
        **options,
    ) -> EstimatorGradientResult:
        groups: dict[object, list[int]] = {}
        for i, circuit in enumerate(circuits):
            groups.setdefault(circuit_cache_key(circuit), []).append(i)
        gradients: list[np.ndarray] = [np.empty(0)] * len(circuits)
        batches = [_ShiftBatch.build(self._plan(circuits[r[0]]), r, observables, parameter_values,
                                     parameters, self._pass_manager is not None)
                   for r in groups.values()]
        for batch in batches:
            if batch.moved.size == 0:   # the requested parameters move no gate: their gradient is 0
                batch.scatter(np.zeros((len(batch.observables), batch.n_rows, 0)), gradients)
        batches = [b for b in batches if b.moved.size]
        precision = options.get("precision")
        run_kwargs = {} if precision is None else {"precision": precision}
        if batches:
            results = self._estimator.run([b.pub() for b in batches], **run_kwargs).result()
            for batch, result in zip(batches, results):
                batch.scatter(np.asarray(result.data.evs, dtype=float), gradients)
        metadata = [{"parameters": p} for p in parameters]
        return EstimatorGradientResult(gradients=gradients, metadata=metadata, options=Options(**options))


@dataclass(frozen=True)
class _ShiftBatch:
    """The requests of one circuit: their distinct parameter rows, observables and shifted angles."""

    plan: _ShiftPlan
    requests: list[int]        # indices into the gradient call's circuits
    rows: np.ndarray           # (U, n_params) distinct parameter rows
    row_of: np.ndarray         # (len(requests),) request -> row
    observables: list          # K distinct observables
    obs_of: list[int]          # request -> observable
    cols: list[list[int]]      # request -> columns of the parameters it asks for
    moved: np.ndarray          # (S,) angles that the requested parameters move

    @classmethod
    def build(cls, plan: _ShiftPlan, requests: list[int], observables, parameter_values, parameters,
              apply_layout: bool) -> "_ShiftBatch":
        values = np.asarray([parameter_values[i] for i in requests], dtype=float)
        rows, row_of = np.unique(values, axis=0, return_inverse=True)
        first: dict[int, int] = {}
        obs_of = [first.setdefault(id(observables[i]), len(first)) for i in requests]
        distinct = [observables[requests[obs_of.index(k)]] for k in range(len(first))]
        if apply_layout:
            distinct = [o.apply_layout(plan.circuit.layout) for o in distinct]
        cols = [[plan.index[p] for p in parameters[i]] for i in requests]
        wanted = np.unique(np.concatenate([np.asarray(c, dtype=int) for c in cols]))
        moved = np.flatnonzero(np.any(plan.jacobian[:, wanted] != 0.0, axis=1))
        return cls(plan, requests, rows, row_of.reshape(-1), distinct, obs_of, cols, moved)

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def pub(self) -> tuple:
        """(circuit, observables (K, 1), angles (U * 2 * S, n_angles)): +pi/2 shifts, then -pi/2."""
        angles = self.rows @ self.plan.jacobian.T + self.plan.offset                 # (U, G)
        shifts = np.zeros((2, len(self.moved), angles.shape[1]))
        shifts[:, np.arange(len(self.moved)), self.moved] = np.array([[np.pi / 2], [-np.pi / 2]])
        shifted = (angles[:, None, None, :] + shifts[None]).reshape(-1, angles.shape[1])
        return self.plan.circuit, [[o] for o in self.observables], shifted

    def scatter(self, evs: np.ndarray, gradients: list[np.ndarray]) -> None:
        """Turn the PUB's values (K, U * 2 * S) into each request's gradient, in place."""
        evs = evs.reshape(len(self.observables), self.n_rows, 2, len(self.moved))
        d_angles = (evs[:, :, 0] - evs[:, :, 1]) / 2.0                      # (K, U, S)
        d_params = d_angles @ self.plan.jacobian[self.moved]                # (K, U, n_params)
        for i, u, k, c in zip(self.requests, self.row_of, self.obs_of, self.cols):
            gradients[i] = d_params[k, u, c]
