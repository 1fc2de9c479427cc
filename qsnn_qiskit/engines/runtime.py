"""engine="runtime": EstimatorQNN over qiskit-ibm-runtime's EstimatorV2 on a transpile/ target.

The same code serves a fake backend (local testing mode: the primitive gets the backend instance
and runs on Aer with the backend's noise model) and a real IBM backend (``QiskitRuntimeService``
from the saved account or ``QISKIT_IBM_TOKEN``). The circuit is transpiled once to the target's
ISA; each forward pass is one job, each backward pass one more (batched parameter shift).

With ``pack="cones"`` the ISA circuit holds the light cones of several images side by side
(`backends.packing`): a batch is cut into rows of that many samples, each row one circuit
execution whose inputs are its samples' features side by side, and the outputs are demultiplexed
back to (batch, n_outputs). Parameter shift stays exact: a slot's outputs depend only on its own
inputs, and the shared weights' derivatives add up over slots. Local testing mode simulates the
packed circuit as one state, so there keep ``max_images`` small (a few cones' worth of qubits).
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_int
from ..backends import Target, check_width, get_backend, load_target, transpile_for
from ..backends.packing import MIN_SUCCESS, choose_packing, resolve_pack
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
        pack: ``"none"`` (default: the whole circuit per sample) or ``"cones"`` (light cones of
            several images per circuit execution, as `qsnn submit --pack cones`).
        max_images: with ``pack="cones"``, at most this many images per execution (None: all that
            fit); min_success: the least estimated success of a cone's qubit group.
    """

    name = "runtime"

    def __init__(self, ansatz: Ansatz, target: str | Target = "fake_torino", shots: int | None = None,
                 precision: float | None = None, session: bool = False, seed: int | None = None,
                 noise: Any = None, pack: str = "none", max_images: int | None = None,
                 min_success: float = MIN_SUCCESS) -> None:
        if noise is not None:
            raise ValueError(f"engine 'runtime' cannot add noise (got noise={noise!r}): it runs on an IBM backend, "
                             "whose own noise is the noise (a fake backend runs its calibrated noise model). "
                             "Simulate a NoiseSpec on engine 'torch' or 'aer', or a backend's noise with "
                             "noise='fake_torino' there")
        self.target = load_target(target)
        self.precision = resolve_precision(self.target.runtime, shots, precision)
        self.backend = get_backend(self.target)
        self.local = is_local(self.backend)
        resolve_pack(pack, False)   # an unknown mode fails before any work
        check_int("max_images", max_images, 1, optional=True)
        check_width(ansatz, self.backend)
        self.packed, self.pack = choose_packing(ansatz, self.target, self.backend, pack, max_images, min_success)
        if self.packed is None:
            self.isa_circuit, self.isa_observables = transpile_for(ansatz, self.target, self.backend)
            inputs: list = list(ansatz.input_params)
        else:
            self.isa_circuit, self.isa_observables = self.packed.isa, self.packed.observables
            inputs = self.packed.slot_inputs(ansatz.n_inputs)
        # a light cone may leave out a parameter (a last rotation that commutes with Z): it changes no
        # output, so the estimator gets the columns of the parameters the circuit holds
        held = set(self.isa_circuit.parameters)
        self._input_columns = torch.tensor([c for c, p in enumerate(inputs) if p in held], dtype=torch.long)
        self._weight_columns = torch.tensor([k for k, p in enumerate(ansatz.weight_params) if p in held],
                                            dtype=torch.long)
        self.n_inputs, self.n_outputs = ansatz.n_inputs, ansatz.n_outputs
        restrict_local_noise(self.backend, self.isa_circuit)
        self.mode = open_mode(self.backend, session)
        self.estimator = make_estimator(self.mode, self.target.runtime, self.precision, self.local, seed)
        #: target options that local testing mode cannot apply (resilience, DD, twirling)
        self.ignored_options = estimator_options(self.target.runtime, self.precision, self.local)[1]
        self._connector = EstimatorConnector(self.isa_circuit, self.isa_observables,
                                             [inputs[c] for c in self._input_columns],
                                             [ansatz.weight_params[k] for k in self._weight_columns],
                                             self.estimator, self.precision, options={"precision": self.precision})
        self.qnn = self._connector.qnn

    def __call__(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """inputs (batch, n_inputs), weights (n_weights,) -> (batch, n_outputs)."""
        w = weights[self._weight_columns]
        if self.packed is None:
            return self._connector(inputs[:, self._input_columns], w)
        k, n = self.packed.images, inputs.shape[0]
        rows = -(-n // k)
        fill = inputs[-1:].detach().expand(rows * k - n, -1)   # empty slots repeat the last sample, no gradient
        side_by_side = torch.cat([inputs, fill]).reshape(rows, k * self.n_inputs)
        out = self._connector(side_by_side[:, self._input_columns], w)
        return out.reshape(rows * k, self.n_outputs)[:n]

    def close(self) -> None:
        """Close the Batch or Session (no more jobs can be sent through this engine)."""
        self.mode.close()
