"""Models: the whole hybrid models of the source papers (SQDR-CNN, DSQ-Net, PPF-QSNN, the spiking
MLP), the classical stand-ins for SQDR-CNN's circuit (its baselines), and a registry of them by name."""
from .dsqnet import DressedQuantumNet, DSQNet
from .ppfqsnn import PPFQSNN
from .registry import MODELS, WITH_STAND_INS, ansatz_choices, build_model
from .spiking_mlp import SpikingMLP, pretrain_spiking_mlp
from .sqdrcnn import SQDRCNN, count_trainable
from .standins import STAND_INS, ClassicalReupload, Passthrough

__all__ = ["ClassicalReupload", "DSQNet", "DressedQuantumNet", "MODELS", "PPFQSNN", "Passthrough", "SQDRCNN",
           "STAND_INS", "SpikingMLP", "WITH_STAND_INS", "ansatz_choices", "build_model", "count_trainable",
           "pretrain_spiking_mlp"]
