"""Builders of the three ansätze the SQDR-CNN paper compares (see PAPER.md, "The other PQCs"), and
the re-upload circuit without entanglers (``product``), a baseline."""
from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from .ansatz import Ansatz, chain_edges, ring_edges, z_observables

_ENTANGLERS = {"ring": ring_edges, "chain": chain_edges}
#: the entangler layouts a builder's ``entangler`` option takes.
ENTANGLERS = tuple(_ENTANGLERS)


def _edges(entangler: str, n_qubits: int) -> list[tuple[int, int]]:
    if entangler not in _ENTANGLERS:
        raise ValueError(f"unknown entangler {entangler!r}; known: {', '.join(_ENTANGLERS)}")
    return _ENTANGLERS[entangler](n_qubits)


def _rot(qc: QuantumCircuit, phi, theta, omega, qubit: int) -> None:
    """Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi): RZ(phi) acts first."""
    qc.rz(phi, qubit)
    qc.ry(theta, qubit)
    qc.rz(omega, qubit)


def _reupload_circuit(name: str, n_qubits: int, blocks: int, edges: list[tuple[int, int]],
                      between_blocks_only: bool) -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    """``blocks`` x [Rot(x[3i..3i+2]) Rot(theta_b,i) on each qubit i, a CZ on each of ``edges``]."""
    x = ParameterVector("x", 3 * n_qubits)
    w = ParameterVector("w", 3 * n_qubits * blocks)
    qc = QuantumCircuit(n_qubits, name=f"{name}_{blocks}b_{n_qubits}q")
    for b in range(blocks):
        for i in range(n_qubits):
            _rot(qc, x[3 * i], x[3 * i + 1], x[3 * i + 2], i)
            k = 3 * (b * n_qubits + i)
            _rot(qc, w[k], w[k + 1], w[k + 2], i)
        if not (between_blocks_only and b == blocks - 1):
            for a, c in edges:
                qc.cz(a, c)
    return qc, x, w


def reupload(n_qubits: int, blocks: int, entangler: str = "ring",
             between_blocks_only: bool = False) -> Ansatz:
    """Data re-upload circuit of SQDR-CNN: ``blocks`` x [Rot(x_i) Rot(theta_b,i) per qubit, CZs].

    Inputs: 3 * n_qubits features (qubit i takes x[3i], x[3i+1], x[3i+2]), uploaded in every block.
    Weights: 3 * n_qubits * blocks, ordered (block, qubit, angle).
    Entanglers: ``entangler="ring"`` after every block (the paper, default); the reference
    PennyLane code is ``entangler="chain", between_blocks_only=True`` (no CZ after the last block).
    """
    qc, x, w = _reupload_circuit("reupload", n_qubits, blocks, _edges(entangler, n_qubits), between_blocks_only)
    return Ansatz("reupload", qc, x, w, z_observables(n_qubits),
                  {"entangler": entangler, "between_blocks_only": between_blocks_only})


def product(n_qubits: int, blocks: int) -> Ansatz:
    """The re-upload circuit without entanglers: a product state, the baseline of ``--ansatz product``.

    Inputs, weights and their order are those of ``reupload`` (3 * n_qubits features, 3 * n_qubits *
    blocks weights); with no two-qubit gate, <Z_j> depends only on qubit j's features
    x[3j..3j+2] and weights, so n_qubits independent one-qubit re-upload circuits.
    """
    qc, x, w = _reupload_circuit("product", n_qubits, blocks, [], False)
    return Ansatz("product", qc, x, w, z_observables(n_qubits))


def hea(n_qubits: int, blocks: int, entangler: str = "ring") -> Ansatz:
    """Hardware-efficient ansatz (Kandala et al. 2017) after a single Rot encoding of the inputs.

    Inputs: 3 * n_qubits features, encoded once as Rot(x[3i], x[3i+1], x[3i+2]) on qubit i.
    Then a capping layer of Euler rotations RZ RX RZ on every qubit, and ``blocks`` x
    [CNOT entangler, RZ RX RZ on every qubit]: rotation layers alternate RZ and RX, ending on RZ.
    Weights: 3 * n_qubits * (blocks + 1), ordered (layer, qubit, angle).
    """
    edges = _edges(entangler, n_qubits)
    x = ParameterVector("x", 3 * n_qubits)
    w = ParameterVector("w", 3 * n_qubits * (blocks + 1))
    qc = QuantumCircuit(n_qubits, name=f"hea_{blocks}b_{n_qubits}q")
    for i in range(n_qubits):
        _rot(qc, x[3 * i], x[3 * i + 1], x[3 * i + 2], i)
    for layer in range(blocks + 1):
        if layer > 0:
            for a, c in edges:
                qc.cx(a, c)
        for i in range(n_qubits):
            k = 3 * (layer * n_qubits + i)
            qc.rz(w[k], i)
            qc.rx(w[k + 1], i)
            qc.rz(w[k + 2], i)
    return Ansatz("hea", qc, x, w, z_observables(n_qubits), {"entangler": entangler})


def sqnn(n_qubits: int, blocks: int, entangler: str = "ring") -> Ansatz:
    """The SQNN circuit of Konar et al. (2023): H RZ(x_i) encoding, then ``blocks`` trainable layers.

    Inputs: n_qubits features, one per qubit, encoded once as RZ(x_i) H |0>.
    Each trainable layer applies M(w_k) = RZ(w_k) RX(w_k) (one angle, both gates) on every qubit,
    then CNOTs over the entangler's edges. Weights: n_qubits * blocks, ordered (layer, qubit).
    """
    edges = _edges(entangler, n_qubits)
    x = ParameterVector("x", n_qubits)
    w = ParameterVector("w", n_qubits * blocks)
    qc = QuantumCircuit(n_qubits, name=f"sqnn_{blocks}b_{n_qubits}q")
    for i in range(n_qubits):
        qc.h(i)
        qc.rz(x[i], i)
    for b in range(blocks):
        for i in range(n_qubits):
            qc.rx(w[b * n_qubits + i], i)
            qc.rz(w[b * n_qubits + i], i)
        for a, c in edges:
            qc.cx(a, c)
    return Ansatz("sqnn", qc, x, w, z_observables(n_qubits), {"entangler": entangler})
