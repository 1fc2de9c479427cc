"""Where light cones go on a device: disjoint, connected groups of physical qubits chosen from the
backend's calibration, with no coupling-map edge between two groups (an unused qubit between them
limits crosstalk).

Each cone's interaction graph (its two-qubit gates) is embedded into the coupling map (rustworkx
VF2, not necessarily induced); an embedding costs -log of its estimated success: the calibrated
error of each two-qubit gate on its edge and the readout error of the measured qubit. Embeddings
below ``min_success`` are left out, and an integer program (scipy's HiGHS) picks the most whole
images (one group per output each) that fit without touching, then the cheapest such groups.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from qiskit.providers import BackendV2

from .calibration import gate_error
from .cones import Cone

#: embeddings looked at per cone shape, and cheapest qubit groups kept per shape
_MAX_EMBEDDINGS, _MAX_GROUPS = 20000, 400


@dataclass(frozen=True)
class Placement:
    """``groups[i][j]``: physical qubit of each local qubit of output j's cone in image slot i;
    ``swaps``: whether some cone does not embed in the coupling map (then placed on a line of its
    width and routed with SWAPs)."""

    groups: list[list[tuple[int, ...]]]
    swaps: bool

    @property
    def images(self) -> int:
        """Images evaluated by one circuit execution."""
        return len(self.groups)


def _pair_error(backend: BackendV2, a: int, b: int) -> float:
    errors = [e for name in backend.target.operation_names if backend.target.operation_from_name(name).num_qubits == 2
              for e in (gate_error(backend, name, (a, b)), gate_error(backend, name, (b, a))) if e is not None]
    return min(errors, default=0.0)


def _nlog(error: float | None) -> float:
    return 0.0 if error is None else -math.log1p(-min(error, 1.0 - 1e-12))


def _embeddings(cone: Cone, backend: BackendV2) -> tuple[list[tuple[float, tuple[int, ...]]], bool]:
    """(cost, physical qubit per local qubit) of the cheapest groups for ``cone``, and whether it needs
    SWAPs (no embedding of its interaction graph: a line of its width is embedded instead)."""
    import rustworkx as rx

    graph = backend.coupling_map.graph.to_undirected(multigraph=False)
    k = len(cone.qubits)
    pattern = rx.PyGraph()
    pattern.add_nodes_from(range(k))
    pattern.add_edges_from_no_data(list(cone.pairs))
    swaps = not any(True for _ in itertools.islice(rx.vf2_mapping(graph, pattern, subgraph=True, induced=False), 1))
    pairs = cone.pairs
    if swaps:
        pattern = rx.PyGraph()
        pattern.add_nodes_from(range(k))
        pattern.add_edges_from_no_data([(i, i + 1) for i in range(k - 1)])
        pairs = {(i, i + 1): 1 for i in range(k - 1)}
    best: dict[frozenset[int], tuple[float, tuple[int, ...]]] = {}
    for mapping in itertools.islice(rx.vf2_mapping(graph, pattern, subgraph=True, induced=False), _MAX_EMBEDDINGS):
        phys = [0] * k
        for p, v in mapping.items():
            phys[v] = p
        cost = sum(n * _nlog(_pair_error(backend, phys[a], phys[b])) for (a, b), n in pairs.items())
        cost += _nlog(gate_error(backend, "measure", (phys[cone.measured],)))
        key = frozenset(phys)
        if key not in best or cost < best[key][0]:
            best[key] = (cost, tuple(phys))
    return sorted(best.values())[:_MAX_GROUPS], swaps


#: the least estimated success probability of a cone's qubit group, by default
MIN_SUCCESS = 0.9


def place_cones(cones: Sequence[Cone], backend: BackendV2, min_success: float = MIN_SUCCESS,
                max_images: int | None = None) -> Placement:
    """Groups of physical qubits for as many whole images as fit (the first ``max_images`` of them):
    one group per cone per image, every group's estimated success >= ``min_success``, no two groups
    touching. Slot 0 holds the cheapest group of each cone shape, slot 1 the next, and so on.

    ``ValueError`` naming the cone and the device when not even one image fits.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    if backend.coupling_map is None or not backend.num_qubits:
        raise ValueError(f"light-cone packing needs a backend with a coupling map; {backend.name!r} has none: "
                         "use --pack none")
    shapes: dict[tuple, list[int]] = {}
    for j, cone in enumerate(cones):
        shapes.setdefault(cone.shape, []).append(j)
    cands: list[tuple[int, float, tuple[int, ...]]] = []   # (shape index, cost, group)
    swaps = False
    for s, outputs in enumerate(shapes.values()):
        found, needs = _embeddings(cones[outputs[0]], backend)
        swaps |= needs
        kept = [(s, c, g) for c, g in found if math.exp(-c) >= min_success]
        if not kept:
            cone = cones[outputs[0]]
            raise ValueError(f"the light cone of output {outputs[0]} ({len(cone.qubits)} qubits, {sum(cone.pairs.values())}"
                             f" two-qubit gates) fits nowhere on {backend.name!r} ({backend.num_qubits} qubits) with "
                             f"estimated success >= {min_success}: lower min_success or use --pack none")
        cands += kept
    graph = backend.coupling_map.graph.to_undirected(multigraph=False)
    near = [set(g).union(*(graph.neighbors(q) for q in g)) for _, _, g in cands]
    n = len(cands)
    conflicts = [(a, b) for a in range(n) for b in range(a + 1, n) if near[a].intersection(cands[b][2])]
    rows = lil_matrix((len(conflicts) + len(shapes), n + 1))
    for r, (a, b) in enumerate(conflicts):
        rows[r, a] = rows[r, b] = 1
    for s, outputs in enumerate(shapes.values()):   # each shape: a group per output per image
        for c, (shape, _, _) in enumerate(cands):
            if shape == s:
                rows[len(conflicts) + s, c] = 1
        rows[len(conflicts) + s, n] = -len(outputs)
    lower = np.r_[np.full(len(conflicts), -np.inf), np.zeros(len(shapes))]
    upper = np.r_[np.ones(len(conflicts)), np.full(len(shapes), np.inf)]
    cost = np.r_[[1e-3 * (1e-3 + c) for _, c, _ in cands], -1.0]   # images first, then the cheapest groups
    res = milp(cost, constraints=LinearConstraint(rows.tocsr(), lower, upper), integrality=np.ones(n + 1),
               bounds=Bounds(np.zeros(n + 1), np.r_[np.ones(n), backend.num_qubits]))
    images = 0 if res.x is None else int(round(res.x[n]))
    if images == 0:
        raise ValueError(f"not one image's light cones ({len(cones)} groups) fit on {backend.name!r} without "
                         "touching: use --pack none")
    chosen = [c for c in range(n) if res.x[c] > 0.5]
    groups: list[list[tuple[int, ...] | None]] = [[None] * len(cones) for _ in range(images)]
    for s, outputs in enumerate(shapes.values()):
        mine = sorted((cands[c][1], cands[c][2]) for c in chosen if cands[c][0] == s)
        slots = [(i, j) for i in range(images) for j in outputs]
        for (i, j), (_, group) in zip(slots, mine):
            groups[i][j] = group
    # the cheapest groups fill the first slots; a cap keeps those, so any cap places its slots where
    # the uncapped placement does (a model trained under the target's noise runs on its qubits)
    return Placement([list(row) for row in groups[:max_images]], swaps)
