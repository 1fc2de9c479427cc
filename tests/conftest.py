"""Fixtures shared by the test wings: tiny circuits and models, real digit images, tiny data."""
from __future__ import annotations

import pytest
import torch

from qsnn_qiskit import build_ansatz
from qsnn_qiskit.circuits import Ansatz
from qsnn_qiskit.data import DataBundle, load_dataset


@pytest.fixture(scope="session")
def tiny_ansatz() -> Ansatz:
    """The re-upload circuit on 2 qubits with 1 block (6 inputs, 6 weights, 2 outputs)."""
    return build_ansatz("reupload", n_qubits=2, blocks=1)


@pytest.fixture(scope="session")
def digits() -> torch.Tensor:
    """32 real digit images (32, 1, 28, 28) in [0, 1] from the embedded dataset's validation split."""
    return load_dataset("default").val.images[:32].unsqueeze(1).float() / 255.0


@pytest.fixture(scope="session")
def tiny_data() -> DataBundle:
    """The embedded dataset cut to classes 0, 1, 2 and 24 training images (what TINY_FLAGS trains on)."""
    return load_dataset("default", classes=[0, 1, 2], limit=24)
