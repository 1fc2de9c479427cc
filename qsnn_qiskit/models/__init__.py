"""Whole hybrid models of the source papers, and a registry of them by name."""
from .registry import MODELS, build_model
from .sqdrcnn import SQDRCNN, count_trainable

__all__ = ["MODELS", "SQDRCNN", "build_model", "count_trainable"]
