"""Fixtures of the hardware tests: the fake backend they share."""
from __future__ import annotations

import pytest

from qsnn_qiskit.backends import get_backend


@pytest.fixture(scope="module")
def torino():
    return get_backend("fake_torino")
