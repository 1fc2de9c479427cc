"""qsnn-qiskit: hybrid spiking-quantum neural networks on Qiskit."""
from .circuits import Ansatz, build_ansatz
from .models import DSQNet, PPFQSNN, SQDRCNN
from .noise import NoiseSpec
from .qnn import QuantumLayer

__all__ = ["Ansatz", "DSQNet", "NoiseSpec", "PPFQSNN", "QuantumLayer", "SQDRCNN", "build_ansatz"]
__version__ = "0.1.0"
