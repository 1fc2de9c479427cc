"""The `Ansatz` record: a parameterised Qiskit circuit with its inputs, weights and observables."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp


@dataclass(frozen=True)
class Ansatz:
    """A quantum model's circuit, independent of whatever executes it.

    Attributes:
        name: registry name of the builder that made it (``"reupload"``, ``"hea"``, ``"sqnn"``, ``"product"``).
        circuit: the parameterised circuit on ``n_qubits`` qubits, without measurements.
        input_params: the data features, in the order a feature vector fills them.
        weight_params: the trainable angles (radians), in the order of the layer's weight tensor.
        observables: one ``SparsePauliOp`` per output; ``<Z_j>`` on every qubit for the built-ins.
        options: the builder options the circuit was made with (for configs and checkpoints).
    """

    name: str
    circuit: QuantumCircuit
    input_params: ParameterVector
    weight_params: ParameterVector
    observables: tuple[SparsePauliOp, ...]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_qubits(self) -> int:
        return self.circuit.num_qubits

    @property
    def n_inputs(self) -> int:
        return len(self.input_params)

    @property
    def n_weights(self) -> int:
        return len(self.weight_params)

    @property
    def n_outputs(self) -> int:
        return len(self.observables)

    def check_features(self, n_features: int) -> None:
        """Raise ``ValueError`` unless ``n_features`` is the width this ansatz's inputs take."""
        if n_features != self.n_inputs:
            raise ValueError(
                f"ansatz {self.name!r} on {self.n_qubits} qubits takes feature vectors of length "
                f"{self.n_inputs}; got length {n_features}"
            )

    def assign(self, features: Sequence[float], weights: Sequence[float]) -> QuantumCircuit:
        """The circuit with every parameter bound: ``features`` (n_inputs,), ``weights`` (n_weights,)."""
        features = np.asarray(features, dtype=float).reshape(-1)
        weights = np.asarray(weights, dtype=float).reshape(-1)
        self.check_features(features.size)
        if weights.size != self.n_weights:
            raise ValueError(
                f"ansatz {self.name!r} has {self.n_weights} weights; got {weights.size} values"
            )
        bindings = dict(zip(self.input_params, features)) | dict(zip(self.weight_params, weights))
        return self.circuit.assign_parameters(bindings)


def z_observables(n_qubits: int) -> tuple[SparsePauliOp, ...]:
    """``<Z_j>`` for j = 0..n_qubits-1 (Qiskit's little-endian qubit order)."""
    return tuple(SparsePauliOp.from_sparse_list([("Z", [j], 1.0)], n_qubits) for j in range(n_qubits))


def ring_edges(n_qubits: int) -> list[tuple[int, int]]:
    """Nearest-neighbour pairs closing into a ring; each pair once (2 qubits: one edge, 1: none)."""
    if n_qubits < 2:
        return []
    edges = [(i, i + 1) for i in range(n_qubits - 1)]
    return edges + [(n_qubits - 1, 0)] if n_qubits > 2 else edges


def chain_edges(n_qubits: int) -> list[tuple[int, int]]:
    """Nearest-neighbour pairs along a line."""
    return [(i, i + 1) for i in range(n_qubits - 1)]
