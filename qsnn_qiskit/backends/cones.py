"""Light cones of a circuit's single-qubit Z observables, by Qiskit's `LightCone` pass (the one cone
analysis of the hardware wing): each cone is a smaller circuit with the same expectation value."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import PassManager
from qiskit.transpiler.passes import LightCone


@dataclass(frozen=True)
class Cone:
    """The backward light cone of <Z_q> in a circuit.

    ``circuit``: the cone's gates on its k qubits (local indices 0..k-1, in the order of ``qubits``);
    ``qubits``: the original circuit's qubits it spans; ``measured``: the local index of q;
    ``pairs``: two-qubit gate count per local qubit pair (i < j).
    """

    circuit: QuantumCircuit
    qubits: tuple[int, ...]
    measured: int
    pairs: dict[tuple[int, int], int]

    @property
    def shape(self) -> tuple:
        """What a placement depends on: cones of equal shape fit the same qubit groups."""
        return len(self.qubits), self.measured, tuple(sorted(self.pairs.items()))


def z_qubit(observable: SparsePauliOp) -> int:
    """The qubit q of an observable that is exactly Z_q; ``ValueError`` for any other observable."""
    terms = observable.to_sparse_list()
    if len(terms) != 1 or terms[0][0] != "Z" or abs(complex(terms[0][2]) - 1) > 1e-12:
        raise ValueError(f"light-cone packing takes observables that are Z on one qubit; got {observable}: "
                         "use --pack none")
    return int(terms[0][1][0])


def cone_of(circuit: QuantumCircuit, qubit: int) -> QuantumCircuit:
    """``circuit`` without the gates that cannot change <Z_qubit> (same width)."""
    return PassManager([LightCone("Z", [qubit])]).run(circuit)


def light_cone(circuit: QuantumCircuit, qubit: int) -> Cone:
    """The light cone of <Z_qubit> in ``circuit``, on its own qubits."""
    full = cone_of(circuit, qubit)
    used = sorted({full.find_bit(q).index for inst in full.data for q in inst.qubits} | {qubit})
    local = {q: i for i, q in enumerate(used)}
    compact = QuantumCircuit(len(used), global_phase=full.global_phase)
    pairs: Counter[tuple[int, int]] = Counter()
    for inst in full.data:
        qargs = [local[full.find_bit(q).index] for q in inst.qubits]
        compact.append(inst.operation, qargs)
        if len(qargs) == 2:
            pairs[(min(qargs), max(qargs))] += 1
    return Cone(compact, tuple(used), local[qubit], dict(pairs))
