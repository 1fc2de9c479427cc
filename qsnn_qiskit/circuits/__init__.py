"""Circuits: the ansatz builders and their registry, weight initialisation, and `NoiseSpec` (noise
channels and where they go: the Aer noise models it builds, and the channel instructions it puts
into circuits, `channels` and `placement`)."""
from .ansatz import Ansatz, z_observables
from .init import INIT_SCHEMES, init_weights
from .noise import NoiseSpec
from .registry import ANSATZE, build_ansatz

__all__ = ["ANSATZE", "Ansatz", "INIT_SCHEMES", "NoiseSpec", "build_ansatz", "init_weights", "z_observables"]
