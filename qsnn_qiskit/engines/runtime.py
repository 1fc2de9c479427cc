"""engine="runtime": EstimatorQNN over qiskit-ibm-runtime's EstimatorV2 on a transpile/ target.

The same code serves a fake backend (local testing mode: the primitive gets the backend instance
and runs on Aer with the backend's noise model) and a real IBM backend (``QiskitRuntimeService``
from the saved account or ``QISKIT_IBM_TOKEN``). The circuit is transpiled once to the target's
ISA; each forward pass is one job, each backward pass one more (batched parameter shift).
"""
from __future__ import annotations

import warnings
from typing import Any

import torch
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit_machine_learning.connectors import TorchConnector
from qiskit_machine_learning.neural_networks import EstimatorQNN

from ..circuits import Ansatz
from ..gradients import BatchedParamShiftGradient
from ..hardware import get_backend, transpile_for
from ..targets import RuntimeSpec, Target, load_target

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

    from ..noise import restrict_noise_model

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
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise ValueError(f"shots must be an integer >= 1; got {shots!r}")
        return 1.0 / shots ** 0.5
    if precision is not None:
        if isinstance(precision, bool) or not isinstance(precision, (int, float)) or not 0 < precision <= 1:
            raise ValueError(f"precision must be a number in (0, 1]; got {precision!r}")
        return float(precision)
    return spec.effective_precision


class RuntimeEngine:
    """Shot-based expectation values and batched parameter-shift gradients on an IBM Runtime target.

    Args:
        ansatz: the circuit; transpiled once to the target's ISA.
        target: a transpile/ target name or path (``"fake_torino"``) or a `Target`.
        shots: shots per expectation value (overrides the target's); or ``precision``.
        precision: target standard error per expectation value (1/sqrt(shots)).
        session: run in a ``Session`` instead of a ``Batch``.
        seed: simulator seed (local testing mode only).
    """

    name = "runtime"

    def __init__(self, ansatz: Ansatz, target: str | Target = "fake_torino", shots: int | None = None,
                 precision: float | None = None, session: bool = False, seed: int | None = None) -> None:
        self.target = load_target(target)
        self.precision = resolve_precision(self.target.runtime, shots, precision)
        self.backend = get_backend(self.target)
        self.local = is_local(self.backend)
        self.isa_circuit, self.isa_observables = transpile_for(ansatz, self.target, self.backend)
        restrict_local_noise(self.backend, self.isa_circuit)
        self.mode = open_mode(self.backend, session)
        self.estimator = make_estimator(self.mode, self.target.runtime, self.precision, self.local, seed)
        #: target options that local testing mode cannot apply (resilience, DD, twirling)
        self.ignored_options = estimator_options(self.target.runtime, self.precision, self.local)[1]
        self.qnn = EstimatorQNN(
            circuit=self.isa_circuit,
            observables=self.isa_observables,
            input_params=list(ansatz.input_params),
            weight_params=list(ansatz.weight_params),
            estimator=self.estimator,
            gradient=BatchedParamShiftGradient(self.estimator, options={"precision": self.precision}),
            input_gradients=True,
            default_precision=self.precision,
        )
        self._connector = TorchConnector(self.qnn)

    def __call__(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        # Qiskit computes in float64; the cast lets any float dtype in (numpy has no bfloat16)
        out = torch.func.functional_call(self._connector, {"weight": weights}, (inputs.double(),))
        return out.to(dtype=inputs.dtype, device=inputs.device)

    def close(self) -> None:
        """Close the Batch or Session (no more jobs can be sent through this engine)."""
        self.mode.close()
