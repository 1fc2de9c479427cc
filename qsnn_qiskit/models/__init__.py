"""Models: the whole hybrid models of the source papers (SQDR-CNN, DSQ-Net, PPF-QSNN, the spiking
MLP), and a registry of them by name."""
from .dsqnet import DressedQuantumNet, DSQNet
from .ppfqsnn import PPFQSNN
from .registry import MODELS, build_model
from .spiking_mlp import SpikingMLP, pretrain_spiking_mlp
from .sqdrcnn import SQDRCNN, count_trainable

__all__ = ["DSQNet", "DressedQuantumNet", "MODELS", "PPFQSNN", "SQDRCNN", "SpikingMLP", "build_model",
           "count_trainable", "pretrain_spiking_mlp"]
