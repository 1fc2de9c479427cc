"""An ansatz as the ISA circuit of a target: the backend's instructions, on qubits (and edges) that
support them, with the observables mapped through the circuit's final layout."""
from __future__ import annotations

from typing import TYPE_CHECKING

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from .backends import get_backend
from .targets import Target, load_target

if TYPE_CHECKING:
    from qiskit.providers import BackendV2
    from qiskit.transpiler import PassManager

    from ..circuits import Ansatz


def backend_width(backend: BackendV2) -> int | None:
    """Number of qubits of ``backend``; None when it sets no limit (a simulator)."""
    n = backend.num_qubits
    return None if n is None or n <= 0 else n


def check_width(ansatz: Ansatz, backend: BackendV2) -> None:
    """``ValueError`` if the ansatz needs more qubits than the backend has (before anything runs)."""
    width = backend_width(backend)
    if width is not None and ansatz.n_qubits > width:
        raise ValueError(f"ansatz {ansatz.name!r} needs {ansatz.n_qubits} qubits but backend "
                         f"{backend.name!r} has {width}; choose a smaller ansatz or a larger backend")


def pass_manager_for(target: Target, backend: BackendV2, initial_layout: list[int] | None = None) -> PassManager:
    """The target's preset pass manager on ``backend`` (its optimisation level, layout and routing
    methods, seed). With ``initial_layout`` the qubits are placed by the caller (light-cone
    packing): the target's layout method does not apply, and its routing ``none`` gives way to the
    default, since a packing forced onto cones that need SWAPs must route them."""
    t = target.transpile
    if initial_layout is None:
        placing = {"layout_method": None if t.layout_method == "default" else t.layout_method}
        routing = None if t.routing_method == "default" else t.routing_method
    else:
        placing = {"initial_layout": initial_layout}
        routing = None if t.routing_method in ("default", "none") else t.routing_method
    return generate_preset_pass_manager(optimization_level=t.optimization_level, backend=backend,
                                        routing_method=routing, seed_transpiler=t.seed, **placing)


def transpile_for(ansatz: Ansatz, target: str | Target, backend: BackendV2 | None = None
                  ) -> tuple[QuantumCircuit, list[SparsePauliOp]]:
    """The ansatz as an ISA circuit of ``target`` and its observables mapped to the physical qubits.

    ``backend`` (optional) is the target's backend if already built. Returns (isa_circuit,
    isa_observables): one ``SparsePauliOp`` on ``isa_circuit.num_qubits`` qubits per output.
    """
    target = load_target(target)
    backend = backend if backend is not None else get_backend(target)
    check_width(ansatz, backend)
    isa = pass_manager_for(target, backend).run(ansatz.circuit)
    observables = [o.apply_layout(isa.layout) for o in ansatz.observables]
    return isa, observables
