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


def transpile_for(ansatz: Ansatz, target: str | Target, backend: BackendV2 | None = None
                  ) -> tuple[QuantumCircuit, list[SparsePauliOp]]:
    """The ansatz as an ISA circuit of ``target`` and its observables mapped to the physical qubits.

    ``backend`` (optional) is the target's backend if already built. Returns (isa_circuit,
    isa_observables): one ``SparsePauliOp`` on ``isa_circuit.num_qubits`` qubits per output.
    """
    target = load_target(target)
    backend = backend if backend is not None else get_backend(target)
    check_width(ansatz, backend)
    t = target.transpile
    pass_manager = generate_preset_pass_manager(
        optimization_level=t.optimization_level, backend=backend,
        layout_method=None if t.layout_method == "default" else t.layout_method,
        routing_method=None if t.routing_method == "default" else t.routing_method,
        seed_transpiler=t.seed)
    isa = pass_manager.run(ansatz.circuit)
    observables = [o.apply_layout(isa.layout) for o in ansatz.observables]
    return isa, observables
