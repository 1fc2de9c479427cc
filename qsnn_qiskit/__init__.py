"""qsnn-qiskit: hybrid spiking-quantum neural networks on Qiskit.

The wings, from the command line down (imports only run down this list, and
tests/packaging/test_layers.py holds it): ``cli`` -> ``commands`` -> ``analysis``, ``hardware`` ->
``training`` -> ``models`` -> ``qnn`` -> ``engines`` -> ``backends`` -> ``circuits``, ``spiking`` ->
``data`` -> ``errors`` and the ``_*`` helpers.
"""
from ._version import __version__
from .circuits import Ansatz, NoiseSpec, build_ansatz
from .models import PPFQSNN, SQDRCNN, DSQNet
from .qnn import QuantumLayer

__all__ = ["Ansatz", "DSQNet", "NoiseSpec", "PPFQSNN", "QuantumLayer", "SQDRCNN", "__version__", "build_ansatz"]
