"""The backend a target names, and the IBM Quantum account that reaches a real one.

Credentials come from ``QISKIT_IBM_TOKEN``/``QISKIT_IBM_INSTANCE`` or the account saved with
``QiskitRuntimeService.save_account``; never from a file of this package, and never printed.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

from .._providers import check_aer_device, fake_backend
from ..errors import CredentialsError
from .targets import BackendSpec, Target, load_target

if TYPE_CHECKING:
    from qiskit.providers import BackendV2

TOKEN_ENV = "QISKIT_IBM_TOKEN"
INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
SAVE_ACCOUNT_HELP = (
    "save your IBM Quantum account once with\n"
    "    from qiskit_ibm_runtime import QiskitRuntimeService\n"
    "    QiskitRuntimeService.save_account(token=\"<API key>\", instance=\"<CRN or instance name>\", "
    "set_as_default=True)\n"
    f"or set the environment variables {TOKEN_ENV} (and {INSTANCE_ENV})"
)


def runtime_service(instance: str | None = None) -> Any:
    """``QiskitRuntimeService`` from ``QISKIT_IBM_TOKEN``/``QISKIT_IBM_INSTANCE`` or the saved account.

    Raises `CredentialsError` with instructions when neither gives a working account. The token is
    passed straight to the service and never printed, logged or stored.
    """
    from qiskit_ibm_runtime import QiskitRuntimeService

    token = os.environ.get(TOKEN_ENV)
    instance = instance or os.environ.get(INSTANCE_ENV)
    kwargs: dict[str, Any] = {"instance": instance} if instance else {}
    if token:
        kwargs.update(channel="ibm_quantum_platform", token=token)
    try:
        return QiskitRuntimeService(**kwargs)
    except Exception as err:   # any failure: the message must never echo the token
        source = f"the token in ${TOKEN_ENV}" if token else "the saved account"
        raise CredentialsError(f"cannot connect to IBM Quantum with {source} ({type(err).__name__}); "
                               f"{SAVE_ACCOUNT_HELP}") from None


def _fake(spec: BackendSpec) -> BackendV2:
    return fake_backend(spec.name)


def _ibm(spec: BackendSpec) -> BackendV2:
    return runtime_service(spec.instance).backend(spec.name)


def _aer(spec: BackendSpec) -> BackendV2:
    from qiskit_aer import AerSimulator

    check_aer_device(spec.device, "backend.device")
    return AerSimulator(device=spec.device)


def _generic(spec: BackendSpec) -> BackendV2:
    from qiskit.providers.fake_provider import GenericBackendV2
    from qiskit.transpiler import CouplingMap

    n = spec.num_qubits
    coupling = {"line": CouplingMap.from_line, "ring": CouplingMap.from_ring,
                "full": CouplingMap.from_full}[spec.coupling](n, bidirectional=True)
    return GenericBackendV2(n, list(spec.basis_gates), coupling_map=coupling, seed=spec.calibration_seed)


#: backend kind -> builder of the backend
BACKENDS: dict[str, Callable[[BackendSpec], BackendV2]] = {
    "fake": _fake, "ibm": _ibm, "aer": _aer, "generic": _generic,
}


def get_backend(target: str | Target) -> BackendV2:
    """The backend a target names (a real one needs IBM Quantum credentials)."""
    target = load_target(target)
    return BACKENDS[target.backend.kind](target.backend)
