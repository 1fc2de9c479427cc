"""What a backend's calibration says of one gate or one qubit: a gate's error rate, and how the
readout error of a measured qubit changes the <Z> read from it."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qiskit.providers import BackendV2
    from qiskit_aer.noise import NoiseModel


def gate_error(backend: BackendV2, name: str, qubits: tuple[int, ...]) -> float | None:
    """The calibrated error of gate ``name`` on ``qubits``; ``None`` when the backend reports none."""
    target = backend.target
    if name not in target.operation_names:
        return None
    props = target[name].get(qubits)
    return None if props is None or props.error is None else float(props.error)


def readout_map(noise_model: NoiseModel, qubit: int) -> tuple[float, float]:
    """(a, b) such that the <Z> read from ``qubit`` through the model's readout error is
    ``a * <Z> + b`` (exact: readout is a classical channel on the measured bit); (1, 0) without one.

    With P(read r | prepared s) = p_sr: a = (p00 - p01 - p10 + p11) / 2, b = (p00 - p01 + p10 - p11) / 2.
    """
    error = noise_model._local_readout_errors.get((qubit,), noise_model._default_readout_error)
    if error is None:
        return 1.0, 0.0
    (p00, p01), (p10, p11) = error.probabilities
    return (p00 - p01 - p10 + p11) / 2, (p00 - p01 + p10 - p11) / 2
