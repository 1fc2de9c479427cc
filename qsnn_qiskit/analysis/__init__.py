"""Analysis: the speed benchmark against the anchor stacks, the robustness testbench, gradient
diagnostics (the paper's Figures 4 and 5), and the provenance every results file records."""
from .provenance import machine

__all__ = ["machine"]
