"""Parameterised Qiskit circuits for the quantum layer, built by name."""
from .ansatz import Ansatz, z_observables
from .registry import ANSATZE, build_ansatz

__all__ = ["ANSATZE", "Ansatz", "build_ansatz", "z_observables"]
