"""Where `NoiseSpec`'s positional channels go in a circuit: after runs of single-qubit gates and
after entangling layers, read off the circuit's structure (so every ansatz, and any circuit, gets
the same rule).

- A *run* on qubit q is a maximal sequence of single-qubit gates on q between two gates on q with
  two or more qubits (or the circuit's start or end). In the re-upload circuit, qubit i's run in
  block b is its encoding Rot and its trainable Rot: the reference code's "rotation pair".
- An *entangling layer* is a maximal sequence of consecutive gates with two or more qubits in the
  circuit's instruction order: a block's CZ ring (re-upload) or CNOT ring (hea, sqnn).

Barriers are transparent: they end neither a run nor a layer.
"""
from __future__ import annotations

from typing import Callable, Sequence

from qiskit import QuantumCircuit
from qiskit.circuit import Instruction, Parameter, ParameterExpression

#: which qubits of an entangling layer its channels reach: name -> qubits (in the order touched) -> qubits.
LAYER_WIRES: dict[str, Callable[[list[int]], list[int]]] = {
    "all_wires": lambda qubits: sorted(qubits),
    "last_wire": lambda qubits: [max(qubits)],
}


def insert_channels(circuit: QuantumCircuit, run_gates: set[str],
                    after_run: Callable[[int], list[Instruction]], after_layer: list[Instruction],
                    layer_wires: str | None) -> QuantumCircuit:
    """A copy of ``circuit`` with ``after_run(q)`` (one-qubit instructions, in order) on qubit q right
    after each of its runs that holds a gate named in ``run_gates``, and ``after_layer`` on the
    ``LAYER_WIRES[layer_wires]`` qubits of each entangling layer, right after it (``layer_wires``
    None: nothing after layers)."""
    out = circuit.copy_empty_like()
    noisy_run = [False] * circuit.num_qubits       # qubit -> its current run holds a gate of run_gates
    layer: list[int] = []                          # qubits of the entangling layer in progress

    def end_run(q: int) -> None:
        if noisy_run[q]:
            for inst in after_run(q):
                out.append(inst, [q])
            noisy_run[q] = False

    def end_layer() -> None:
        if layer and layer_wires is not None:
            for q in LAYER_WIRES[layer_wires](layer):
                for inst in after_layer:
                    out.append(inst, [q])
        layer.clear()

    for inst in circuit.data:
        qubits = [circuit.find_bit(b).index for b in inst.qubits]
        if inst.operation.name != "barrier":
            if len(qubits) == 1:
                end_layer()
                noisy_run[qubits[0]] |= inst.operation.name in run_gates
            else:
                for q in qubits:
                    end_run(q)
                layer.extend(q for q in qubits if q not in layer)
        out.append(inst)
    end_layer()
    for q in range(circuit.num_qubits):
        end_run(q)
    return out


def first_inputs(circuit: QuantumCircuit, inputs: Sequence[Parameter]) -> dict[int, Parameter]:
    """Qubit -> its first input angle: the first parameter of ``inputs`` that a gate on the qubit
    uses, in circuit order (the lowest-numbered one if that gate's angle holds several). In the
    re-upload and hea circuits qubit i's is x[3i], in sqnn x[i]. Qubits without one are left out."""
    order = {p: k for k, p in enumerate(inputs)}
    out: dict[int, Parameter] = {}
    for inst in circuit.data:
        used = [p for value in inst.operation.params if isinstance(value, ParameterExpression)
                for p in value.parameters if p in order]
        if used:
            first = min(used, key=order.__getitem__)
            for b in inst.qubits:
                out.setdefault(circuit.find_bit(b).index, first)
    return out
