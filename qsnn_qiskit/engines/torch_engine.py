"""engine="torch": the ansatz's own Qiskit circuit, simulated exactly in torch, batched, with autograd.

The circuit is compiled once (`_torch_circuit`) and fused into programs (`_torch_program`):
a statevector without noise; a density matrix with noise, applying each gate's Kraus channel (an
Aer `NoiseModel`'s) after it and each channel instruction of the circuit (a `NoiseSpec`'s
positional channels, the input-dependent damping among them) where it stands. Outputs are exact expectation values, differentiable with respect to
inputs and weights by reverse-mode autograd, on the device of the inputs (CPU or CUDA).

Each observable is evaluated on its backward light cone (the gates that can influence it) when
the cones are small enough to beat one simulation of all qubits; this is exact (see
`_torch_circuit.light_cone`) and turns a 9-qubit, 2-block density matrix into 3-qubit ones.
Cone programs that differ only in which parameters feed their gates (the cones of <Z_j> around
a ring) run as one program, stacked along the batch. With noise, the state is the density
matrix's real Pauli coefficients and each qubit that no observable reads is traced out after its
last multi-qubit gate, so a cone shrinks toward its observable's qubits as the circuit runs.

Precision: ``precision="double"`` (default) computes in complex128 whatever the inputs' dtype, so
outputs agree with Qiskit to 1e-6 up to 10 qubits and beyond; ``"single"`` computes in complex64
(faster, notably for density matrices; about 1e-6 deviation at 10 qubits, 4 blocks).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Pauli, SparsePauliOp

from ..backends.device_noise import DeviceNoise, device_noise, device_target_name
from ..circuits import Ansatz
from ..circuits.noise import noisy_circuit
from ._torch_circuit import NoiseLookup, compile_circuit, light_cone
from ._torch_pauli import PARAM_CHANNELS
from ._torch_program import Program

#: fixed cost of running one program, in amplitudes (kernel launches dominate small programs).
_PROGRAM_OVERHEAD = 4096
#: the widest noisy light cone (qubits) trained under device noise: 4^10 Pauli coefficients a sample
_MAX_DEVICE_CONE = 10
#: precision option -> real dtype of the computation (complex dtype to match).
PRECISIONS = {"double": torch.float64, "single": torch.float32}


def _check_observable(op: Any, n: int, index: int) -> SparsePauliOp:
    if isinstance(op, Pauli):
        op = SparsePauliOp(op)
    if not isinstance(op, SparsePauliOp):
        raise TypeError(f"engine 'torch' takes observables as SparsePauliOp or Pauli; observable "
                        f"{index} is a {type(op).__name__}")
    if op.num_qubits != n:
        raise ValueError(f"observable {index} acts on {op.num_qubits} qubits; the circuit has {n}")
    if np.abs((op - op.adjoint()).simplify(atol=1e-12).coeffs).max(initial=0.0) > 1e-10:
        raise ValueError(f"observable {index} is not Hermitian; expectation values must be real")
    return op


def _support(op: SparsePauliOp) -> dict[int, bool]:
    """Qubits the observable acts on -> whether it commutes with Z there (I/Z only)."""
    commutes: dict[int, bool] = {}
    for chars, qubits, _ in op.to_sparse_list():
        for ch, q in zip(chars, qubits):
            commutes[q] = commutes.get(q, True) and ch in "IZ"
    return commutes or {0: True}


def _restrict(op: SparsePauliOp, qubits: list[int]) -> SparsePauliOp:
    mapping = {q: i for i, q in enumerate(qubits)}
    terms = [(chars, [mapping[q] for q in qs], c) for chars, qs, c in op.to_sparse_list()]
    return SparsePauliOp.from_sparse_list(terms, len(qubits))


def _check_device(device: str | torch.device | None) -> torch.device | None:
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"engine 'torch' got device {device!r}; use None (follow the inputs), "
                         "'cpu' or 'cuda'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"engine 'torch' was asked for device {device!r}, but CUDA is not available "
                         "here (torch.cuda.is_available() is False); use device=None or 'cpu'")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"engine 'torch' runs on 'cpu' or 'cuda'; got device {device!r}")
    return dev


class _Stack:
    """Programs that differ only in their angle maps and single-qubit constants (for example the
    light cones of <Z_j> on a ring, one of them holding a channel the others lack), run as one
    program over a batch of (program, sample) pairs."""

    def __init__(self, entries: list[tuple[Program, list[int]]]) -> None:
        self.program = entries[0][0]
        self._programs = [p for p, _ in entries]
        self.members_of = [members for _, members in entries]
        self._coef = np.stack([p.angle_map[0] for p, _ in entries])      # (G, n_columns, n_angles)
        self._bias = np.stack([p.angle_map[1] for p, _ in entries])      # (G, n_angles)
        self._cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """theta (batch, n_columns) -> (batch, outputs of every member, member by member)."""
        if len(self.members_of) == 1:
            return self.program(theta)
        key = (theta.device, theta.dtype)
        if key not in self._cache:
            self._cache[key] = (torch.as_tensor(self._coef, dtype=theta.dtype, device=theta.device),
                                torch.as_tensor(self._bias, dtype=theta.dtype, device=theta.device),
                                self.program.local_tensors(self._programs, theta.device, theta.dtype))
        coef, bias, local = self._cache[key]
        groups, batch = coef.shape[0], theta.shape[0]
        angles = torch.einsum("bc,gca->gba", theta, coef) + bias[:, None, :]
        out = self.program.run(angles.reshape(groups * batch, -1), local)
        return out.reshape(groups, batch, -1).transpose(0, 1).reshape(batch, -1)


def _cones_pay_off(stacks: list[_Stack], n: int, full: Callable[[], Program]) -> bool:
    """Whether the stacked light-cone programs cost less than one simulation of all n qubits.

    ``full`` builds that one; it is built only when the cones cost more than its first state."""
    cost = sum(len(st.members_of) * st.program.cost + _PROGRAM_OVERHEAD for st in stacks)
    bound = stacks[0].program.d ** n + _PROGRAM_OVERHEAD
    return cost < bound or cost < full().cost + _PROGRAM_OVERHEAD


def _stack(programs: list[tuple[Program, list[int]]]) -> list[_Stack]:
    by_signature: dict[str, list[tuple[Program, list[int]]]] = {}
    for program, members in programs:
        by_signature.setdefault(program.signature(), []).append((program, members))
    return [_Stack(entries) for entries in by_signature.values()]


class _ConeTooWide(ValueError):
    """A light cone wider than a simulation is allowed."""


class _Simulation:
    """One circuit's observables as light-cone (or whole-circuit) programs: theta (batch,
    n_columns) -> (batch, n_observables)."""

    def __init__(self, circuit: QuantumCircuit, observables: list[SparsePauliOp], columns: dict,
                 noise: NoiseLookup, density: bool, max_cone: int | None = None) -> None:
        n = circuit.num_qubits
        observables = [_check_observable(o, n, i) for i, o in enumerate(observables)]
        ops = compile_circuit(circuit, columns, noise)
        density = density or any(op.noise is not None or op.name in PARAM_CHANNELS for op in ops)
        n_columns = len(columns)
        groups: dict[tuple, list[int]] = {}         # (cone qubits, cone gates) -> observables
        cones: dict[tuple, list] = {}
        for i, o in enumerate(observables):
            cone_ops, qubits = light_cone(ops, _support(o))
            key = (tuple(qubits), tuple(id(op) for op in cone_ops))
            groups.setdefault(key, []).append(i)
            cones[key] = cone_ops
        widest = max(len(key[0]) for key in groups)
        if max_cone is not None and widest > max_cone:
            raise _ConeTooWide(f"the noisy light cones of this circuit span up to {widest} qubits (a 4^{widest} density "
                             f"matrix per sample), more than the {max_cone} that train in reasonable memory")
        # several cones, one of them on every qubit, cost more than one simulation: skip building them
        wide = len(groups) > 1 and widest == n
        self._stacks = [] if wide else _stack([
            (Program([op.relabel({q: j for j, q in enumerate(key[0])}) for op in cones[key]],
                     len(key[0]), [_restrict(observables[i], list(key[0])) for i in members],
                     n_columns, density), members)
            for key, members in groups.items()])
        full = functools.cache(lambda: Program(ops, n, observables, n_columns, density))
        if wide or (len(groups) > 1 and not _cones_pay_off(self._stacks, n, full)):
            self._stacks = _stack([(full(), list(range(len(observables))))])
        order = [i for st in self._stacks for members in st.members_of for i in members]
        self._inverse = None if order == sorted(order) else torch.as_tensor(np.argsort(order))

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        outs = [st(theta) for st in self._stacks]
        out = outs[0] if len(outs) == 1 else torch.cat(outs, 1)
        return out if self._inverse is None else out[:, self._inverse.to(theta.device)]


class TorchEngine:
    """Exact statevector / density-matrix simulation of ``ansatz.circuit`` in torch.

    Args:
        ansatz: the circuit, its input and weight parameters and its observables.
        device: None follows the inputs' device; ``"cpu"`` or ``"cuda"`` computes there and returns
            the outputs on the inputs' device.
        noise: a ``NoiseSpec`` (every placement, input damping included), a ``--noise`` string, an
            Aer ``NoiseModel`` or a fake backend name (``qsnn_qiskit.circuits.noise.noisy_circuit``);
            gate errors follow their gates, positional channels sit where the spec puts them
            (readout errors are refused); None: noiseless, unless the circuit holds channels.
            ``"device:NAME"`` or a `DeviceNoise`: the circuit a target's jobs run, on its physical
            qubits, with its calibrated errors and readout (`backends.device_noise`); with several
            image slots (light-cone packing), sample b of a batch runs in slot b mod n_slots.
        precision: ``"double"`` (complex128) or ``"single"`` (complex64) arithmetic.

    ``engine(inputs, weights)``: inputs (batch, n_inputs), weights (n_weights,), radians ->
    expectation values (batch, n_outputs) in the inputs' dtype.
    """

    name = "torch"

    def __init__(self, ansatz: Ansatz, device: str | torch.device | None = None, noise: Any = None,
                 precision: str = "double") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"engine 'torch' has no precision {precision!r}; known: {', '.join(PRECISIONS)}")
        self.dtype = PRECISIONS[precision]
        self.device = _check_device(device)
        params = list(ansatz.input_params) + list(ansatz.weight_params)
        columns = {p: i for i, p in enumerate(params)}
        self.n_inputs, self.n_columns = ansatz.n_inputs, len(params)
        target = device_target_name(noise)
        if target is not None or isinstance(noise, DeviceNoise):
            self.device_noise = noise if isinstance(noise, DeviceNoise) else device_noise(ansatz, target)
            lookup = NoiseLookup(self.device_noise.noise_model)
            try:
                self._slots = [_Simulation(s.circuit, s.observables, columns, lookup, True, _MAX_DEVICE_CONE)
                               for s in self.device_noise.slots]
            except _ConeTooWide as err:
                raise ValueError(f"device noise {self.device_noise.target} (--pack {self.device_noise.pack}): {err}; "
                                 "a circuit whose light cones pack without SWAPs trains under it (see `qsnn transpile "
                                 "--target`), or train under --noise paper instead") from None
            self._readout = [torch.as_tensor(s.readout) for s in self.device_noise.slots]
        else:
            self.device_noise = None
            circuit, noise_model = noisy_circuit(ansatz.circuit, noise, ansatz.input_params)
            self._slots = [_Simulation(circuit, list(ansatz.observables), columns, NoiseLookup(noise_model),
                                       noise_model is not None)]

    @property
    def _stacks(self) -> list[_Stack]:
        """The programs of every slot (what tests inspect: cone widths, stacking)."""
        return [st for sim in self._slots for st in sim._stacks]

    def __call__(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        n_weights = self.n_columns - self.n_inputs
        if inputs.ndim != 2 or inputs.shape[1] != self.n_inputs or tuple(weights.shape) != (n_weights,):
            raise ValueError(f"engine 'torch' takes inputs (batch, {self.n_inputs}) and weights "
                             f"({n_weights},); got {tuple(inputs.shape)} and {tuple(weights.shape)}")
        device = self.device or inputs.device
        x = inputs.to(device=device, dtype=self.dtype)
        w = weights.to(device=device, dtype=self.dtype)
        theta = torch.cat([x, w.expand(x.shape[0], -1)], 1)
        out = self._slots[0](theta) if self.device_noise is None else self._read_slots(theta)
        return out.to(device=inputs.device, dtype=inputs.dtype)

    def _read_slots(self, theta: torch.Tensor) -> torch.Tensor:
        """(batch, n_outputs) through the readout of each sample's slot (sample b: slot b mod n_slots)."""
        n_slots, batch = len(self._slots), theta.shape[0]
        parts, order = [], []
        for s, (sim, readout) in enumerate(zip(self._slots[:batch], self._readout)):
            rows = torch.arange(s, batch, n_slots, device=theta.device)
            a, b = readout.to(device=theta.device, dtype=theta.dtype).unbind(1)
            parts.append(sim(theta[rows]) * a + b)
            order.append(rows)
        out = torch.cat(parts)
        return out if n_slots == 1 else out[torch.argsort(torch.cat(order))]
