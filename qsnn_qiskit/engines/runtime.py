"""engine="runtime": EstimatorQNN over qiskit-ibm-runtime's EstimatorV2 on a transpile/ target.

The same code serves a fake backend (local testing mode: the primitive gets the backend instance
and runs on Aer with the backend's noise model) and a real IBM backend (``QiskitRuntimeService``
from the saved account or ``QISKIT_IBM_TOKEN``). The circuit is transpiled once to the target's
ISA; each forward pass is one job, each backward pass one more (batched parameter shift).
"""
from __future__ import annotations

from typing import Any

import torch

from ..backends import Target, get_backend, load_target, transpile_for
from ..backends.primitives import (estimator_options, is_local, make_estimator, open_mode, resolve_precision,
                                   restrict_local_noise)
from ..circuits import Ansatz
from .connector import EstimatorConnector


class RuntimeEngine:
    """Shot-based expectation values and batched parameter-shift gradients on an IBM Runtime target.

    Args:
        ansatz: the circuit; transpiled once to the target's ISA.
        target: a transpile/ target name or path (``"fake_torino"``) or a `Target`.
        shots: shots per expectation value (overrides the target's); or ``precision``.
        precision: target standard error per expectation value (1/sqrt(shots)).
        session: run in a ``Session`` instead of a ``Batch``.
        seed: simulator seed (local testing mode only).
        noise: must be None (``ValueError`` otherwise): the backend's own noise is what a run gets;
            no channels can be added to hardware (or to a fake backend, which runs its calibrated
            noise model).
    """

    name = "runtime"

    def __init__(self, ansatz: Ansatz, target: str | Target = "fake_torino", shots: int | None = None,
                 precision: float | None = None, session: bool = False, seed: int | None = None,
                 noise: Any = None) -> None:
        if noise is not None:
            raise ValueError(f"engine 'runtime' cannot add noise (got noise={noise!r}): it runs on an IBM backend, "
                             "whose own noise is the noise (a fake backend runs its calibrated noise model). "
                             "Simulate a NoiseSpec on engine 'torch' or 'aer', or a backend's noise with "
                             "noise='fake_torino' there")
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
        self._connector = EstimatorConnector(self.isa_circuit, self.isa_observables, ansatz.input_params,
                                             ansatz.weight_params, self.estimator, self.precision,
                                             options={"precision": self.precision})
        self.qnn = self._connector.qnn

    def __call__(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self._connector(inputs, weights)

    def close(self) -> None:
        """Close the Batch or Session (no more jobs can be sent through this engine)."""
        self.mode.close()
