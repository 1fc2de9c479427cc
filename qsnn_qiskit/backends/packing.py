"""Light-cone packed execution: the cone of every output of several images laid side by side on
disjoint qubit groups (`placement.place_cones`) in ONE ISA circuit, so that one PUB row (one
circuit execution) evaluates ``images x n_outputs`` cones. Each image slot has its own copy of the
input parameters; the weights are shared. Rows are built from the samples, and the expectation
values are demultiplexed back to (n_samples, n_outputs)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp

from .cones import Cone, light_cone, z_qubit
from .isa import pass_manager_for
from .placement import MIN_SUCCESS, Placement, place_cones
from .targets import Target, load_target

if TYPE_CHECKING:
    from ..circuits import Ansatz

PACK_MODES = ("cones", "none")


@dataclass
class PackedCircuit:
    """One ISA circuit holding ``placement.images`` images' cones.

    ``observables[i * n_outputs + j]``: Z on the physical qubit of output j of image slot i;
    ``columns[c]``: what ISA parameter c takes, ``("x", i, k)`` (input k of the image in slot i) or
    ``("w", 0, k)`` (weight k).
    """

    isa: QuantumCircuit
    observables: list[SparsePauliOp]
    placement: Placement
    cones: list[Cone]
    columns: list[tuple[str, int, int]]

    @property
    def images(self) -> int:
        return self.placement.images

    @property
    def n_outputs(self) -> int:
        return len(self.cones)

    def rows(self, features: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(ceil(n / images), n_isa_params) parameter values for samples ``features`` (n, n_inputs);
        a last row with empty slots repeats the last sample there."""
        n = features.shape[0]
        n_rows = -(-n // self.images)
        out = np.empty((n_rows, len(self.columns)))
        for c, (kind, i, k) in enumerate(self.columns):
            out[:, c] = features[np.minimum(np.arange(n_rows) * self.images + i, n - 1), k] if kind == "x" else weights[k]
        return out

    def slot_inputs(self, n_inputs: int) -> list[Parameter | None]:
        """The ISA circuit's input parameters, slot by slot (input k of slot i at i * n_inputs + k:
        the columns of a row of samples laid side by side); None where no cone reads that input."""
        where = {(i, k): p for p, (kind, i, k) in zip(self.isa.parameters, self.columns) if kind == "x"}
        return [where.get((i, k)) for i in range(self.images) for k in range(n_inputs)]

    def demux(self, evs: np.ndarray, n: int) -> np.ndarray:
        """(n, n_outputs) from the expectation values of one PUB, ``evs`` (n_rows, n_slots)."""
        per_row = evs.reshape(evs.shape[0], self.images, self.n_outputs)
        return per_row.reshape(-1, self.n_outputs)[:n]


def check_min_success(value: float) -> float:
    """``value`` if it is a probability in [0, 1], else ``ValueError`` naming it (``--min-success``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"--min-success must be a probability in [0, 1], the least estimated success of a "
                         f"light cone's qubit group; got {value!r}")
    return float(value)


def pack_circuit(ansatz: Ansatz, target: str | Target, backend: BackendV2, min_success: float = MIN_SUCCESS,
                 max_images: int | None = None) -> PackedCircuit:
    """The light cones of ``ansatz``'s outputs for as many images as fit on ``backend`` (at most
    ``max_images``), as one ISA circuit of ``target``; see `place_cones` for the choice of qubits."""
    check_min_success(min_success)
    target = load_target(target)
    cones = [light_cone(ansatz.circuit, z_qubit(o)) for o in ansatz.observables]
    placement = place_cones(cones, backend, min_success, max_images)
    packed = QuantumCircuit(backend.num_qubits)
    measured = []
    slot_inputs = [ParameterVector(f"x{i}", ansatz.n_inputs) for i in range(placement.images)]
    for i, row in enumerate(placement.groups):
        rename = dict(zip(ansatz.input_params, slot_inputs[i]))
        for cone, group in zip(cones, row):
            packed.compose(cone.circuit.assign_parameters(rename, strict=False), qubits=list(group), inplace=True)
            measured.append(group[cone.measured])
    isa = pass_manager_for(target, backend, initial_layout=list(range(backend.num_qubits))).run(packed)
    n = isa.num_qubits
    observables = [SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], n).apply_layout(isa.layout) for q in measured]
    where = {p: ("x", i, k) for i, vec in enumerate(slot_inputs) for k, p in enumerate(vec)}
    where |= {p: ("w", 0, k) for k, p in enumerate(ansatz.weight_params)}
    return PackedCircuit(isa, observables, placement, cones, [where[p] for p in isa.parameters])


def resolve_pack(pack: str | None, placement_swaps: bool) -> str:
    """The pack mode: ``pack`` as given, or by default ``cones`` when every cone embeds without SWAPs."""
    if pack is None:
        return "none" if placement_swaps else "cones"
    if pack not in PACK_MODES:
        raise ValueError(f"unknown pack mode {pack!r}; allowed: {', '.join(PACK_MODES)}")
    return pack


def choose_packing(ansatz: Ansatz, target: str | Target, backend: BackendV2, pack: str | None = None,
                   max_images: int | None = None, min_success: float = MIN_SUCCESS,
                   log: Callable[[str], None] = lambda _: None) -> tuple[PackedCircuit | None, str]:
    """How ``ansatz`` runs on ``backend``: the packed circuit (or None) and the mode it stands for.
    ``pack`` None: cones when they pack without SWAPs, else none (``log`` says why); ``"cones"``
    packs or raises; ``"none"`` does not pack. `qsnn submit` and training under a target's noise
    both choose here, so a model trains on the qubits its jobs run on."""
    if pack == "none":
        return None, "none"
    try:
        packed = pack_circuit(ansatz, target, backend, min_success, max_images)
    except ValueError as err:
        if pack == "cones":
            raise
        log(f"--pack none (light cones do not pack: {err})")
        return None, "none"
    mode = resolve_pack(pack, packed.placement.swaps)
    if mode == "none":
        log("--pack none (some light cone needs SWAPs on this backend; --pack cones packs it anyway)")
        return None, mode
    log(f"--pack cones: {packed.images} images per circuit execution")
    return packed, mode
