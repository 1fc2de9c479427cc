"""Whole hybrid models of the source papers."""
from .sqdrcnn import SQDRCNN, count_trainable

__all__ = ["SQDRCNN", "count_trainable"]
