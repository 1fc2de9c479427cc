"""qiskit-ibm-runtime's primitives on a target's backend: the execution mode (Batch or Session),
EstimatorV2 with the target's options, and what local testing mode needs (fake backends run on
Aer with their own noise model).

qiskit-ibm-runtime and qiskit-aer are imported inside the functions that need them.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from .._checks import check_int
from .targets import RuntimeSpec

if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.providers import BackendV2

#: options that local testing mode ignores (it warns on every job if they are set)
LOCAL_IGNORED = ("resilience_level", "dynamical_decoupling", "twirling")


def is_local(backend: BackendV2) -> bool:
    """True for a backend that runs in local testing mode (fake, Aer, generic); False for IBM cloud."""
    from qiskit_ibm_runtime import IBMBackend

    return not isinstance(backend, IBMBackend)


def restrict_local_noise(backend: BackendV2, isa_circuit: QuantumCircuit) -> None:
    """Give a fake backend a noise model (``NoiseModel.from_backend``) on just the qubits that
    ``isa_circuit`` uses. Errors on other qubits never act on its results, but Aer converts the whole
    model for every job: on a 133-qubit snapshot that is seconds per job instead of a fraction of one.
    Other backends are left alone."""
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    from ..circuits.noise import restrict_noise_model

    if not isinstance(backend, FakeBackendV2):
        return
    used = {isa_circuit.find_bit(q).index for inst in isa_circuit.data for q in inst.qubits}
    noise = restrict_noise_model(NoiseModel.from_backend(backend), used)
    backend.sim = AerSimulator(noise_model=noise)   # what FakeBackendV2.run executes on
    backend.set_options(noise_model=noise)


def open_mode(backend: BackendV2, session: bool = False) -> Any:
    """An execution mode for the primitive: a ``Batch`` (default) or a ``Session`` on ``backend``."""
    from qiskit_ibm_runtime import Batch, Session

    return Session(backend=backend) if session else Batch(backend=backend)


def estimator_options(spec: RuntimeSpec, precision: float, local: bool, seed: int | None = None
                      ) -> tuple[dict[str, Any], list[str]]:
    """EstimatorV2 options from a target's runtime spec -> (options, names left out in local mode)."""
    options: dict[str, Any] = {
        "default_precision": precision,
        "resilience_level": spec.resilience_level,
        "dynamical_decoupling": ({"enable": True, "sequence_type": spec.dd_sequence}
                                 if spec.dynamical_decoupling else {"enable": False}),
        "twirling": {"enable_gates": spec.twirling, "enable_measure": spec.twirling},
    }
    if seed is not None:
        options["simulator"] = {"seed_simulator": seed}
    dropped = [k for k in LOCAL_IGNORED if local and k in options]
    return {k: v for k, v in options.items() if k not in dropped}, dropped


def make_estimator(mode: Any, spec: RuntimeSpec, precision: float, local: bool, seed: int | None = None) -> Any:
    """qiskit-ibm-runtime ``EstimatorV2`` on ``mode`` with the target's options (those that local
    testing mode ignores are left out there; see `estimator_options`)."""
    from qiskit_ibm_runtime import EstimatorV2

    options, _ = estimator_options(spec, precision, local, seed)
    with warnings.catch_warnings():   # EstimatorV2 is deprecated in favour of a client-side one
        warnings.simplefilter("ignore", DeprecationWarning)
        return EstimatorV2(mode=mode, options=options)


def resolve_precision(spec: RuntimeSpec, shots: int | None, precision: float | None) -> float:
    """Standard error per expectation value: explicit ``precision``, else 1/sqrt(``shots``), else the target's."""
    if shots is not None and precision is not None:
        raise ValueError("give shots or precision, not both")
    if shots is not None:
        check_int("shots", shots, 1)
        return 1.0 / shots ** 0.5
    if precision is not None:
        if isinstance(precision, bool) or not isinstance(precision, (int, float)) or not 0 < precision <= 1:
            raise ValueError(f"precision must be a number in (0, 1]; got {precision!r}")
        return float(precision)
    return spec.effective_precision
