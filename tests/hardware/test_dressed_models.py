"""The hardware commands find the circuit of DSQ-Net and PPF-QSNN inside their dressed nets (not
only SQDR-CNN's ``quantum``): a trained run of each transpiles, and DSQ-Net's submits."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from qsnn_qiskit.cli import main
from qsnn_qiskit.hardware.circuit import quantum_layer
from qsnn_qiskit.models import SQDRCNN, DSQNet
from qsnn_qiskit.qnn import QuantumLayer

from support import TINY_FLAGS


@pytest.mark.parametrize("model", ["dsqnet", "ppfqsnn"])
def test_a_dressed_model_run_transpiles(tmp_path: Path, model: str) -> None:
    run_dir = tmp_path / "run"
    assert main(["train", "--model", model, *TINY_FLAGS, "--epochs", "1", "--run-dir", str(run_dir)]) == 0
    assert main(["transpile", str(run_dir), "--target", "line", "--no-draw"]) == 0
    report = json.loads((run_dir / "transpiled" / "line" / "report.json").read_text())
    assert report["num_qubits"] == 2 and len(report["observables"]) == 2
    if model == "dsqnet":   # deterministic forward: the exact simulator's predictions are reproducible
        assert main(["submit", str(run_dir), "--target", "line", "--limit", "4"]) == 0
        summary = json.loads((run_dir / "submit" / "line" / "summary.json").read_text())
        assert summary["samples"] == 4 and summary["failed_chunks"] == []


def test_quantum_layer_is_the_one_circuit_of_the_model() -> None:
    sqdrcnn = SQDRCNN(n_qubits=2, blocks=1, n_classes=2)
    assert quantum_layer(sqdrcnn) is sqdrcnn.quantum
    dsqnet = DSQNet(n_classes=3, n_qubits=2, blocks=1)
    assert isinstance(quantum_layer(dsqnet), QuantumLayer)
    with pytest.raises(ValueError, match="holds 0 quantum layers"):
        quantum_layer(SQDRCNN(n_qubits=2, blocks=1, n_classes=2, ansatz="none"))
