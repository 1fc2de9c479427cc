"""The public names of DESIGN.md's API contract and the README's examples import from where they
are documented, and the command line has every documented subcommand."""
from __future__ import annotations

import importlib

import pytest

from qsnn_qiskit.cli import build_parser

#: module -> names documented as importable from it
DOCUMENTED = {
    "qsnn_qiskit": ["SQDRCNN", "QuantumLayer", "NoiseSpec", "DSQNet", "PPFQSNN", "build_ansatz", "__version__"],
    "qsnn_qiskit.circuits": ["build_ansatz", "Ansatz"],
    "qsnn_qiskit.models": ["DSQNet", "PPFQSNN", "SQDRCNN", "SpikingMLP"],
    "qsnn_qiskit.hardware": ["transpile_for"],
    "qsnn_qiskit.training": ["load_run"],
    "qsnn_qiskit.analysis.diagnostics": ["train_with_gradient_variance", "variance_vs_qubits", "decay_slope"],
}


@pytest.mark.parametrize("module", sorted(DOCUMENTED))
def test_documented_names_import(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in DOCUMENTED[module] if not hasattr(loaded, name)]
    assert not missing, f"{module} lacks {missing}"


def test_every_documented_command_exists() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"train", "evaluate", "transpile", "submit", "jobs", "bench", "robustness", "demo"} <= set(commands)
