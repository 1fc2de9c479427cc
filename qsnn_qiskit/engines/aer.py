"""engine="aer": qiskit-machine-learning's EstimatorQNN over Aer's EstimatorV2, via TorchConnector."""
from __future__ import annotations

import torch
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_machine_learning.connectors import TorchConnector
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
from qiskit_machine_learning.neural_networks import EstimatorQNN

from ..circuits import Ansatz

AER_METHODS = ("statevector", "density_matrix", "automatic")
AER_DEVICES = ("CPU", "GPU")


class AerEngine:
    """Exact expectation values on Aer (``precision=0``); parameter-shift gradients on Aer too.

    The TorchConnector is driven functionally with the layer's own weight Parameter, so the layer's
    ``state_dict`` holds just ``weight`` whichever engine runs it.
    """

    name = "aer"

    def __init__(self, ansatz: Ansatz, device: str = "CPU", method: str = "statevector",
                 seed: int | None = None) -> None:
        if device not in AER_DEVICES:
            raise ValueError(f"unknown Aer device {device!r}; known: {', '.join(AER_DEVICES)}")
        if method not in AER_METHODS:
            raise ValueError(f"unknown Aer method {method!r}; known: {', '.join(AER_METHODS)}")
        backend_options = {"method": method, "device": device}
        if seed is not None:
            backend_options["seed_simulator"] = seed
        self.estimator = AerEstimatorV2(options={"backend_options": backend_options})
        self.qnn = EstimatorQNN(
            circuit=ansatz.circuit,
            observables=list(ansatz.observables),
            input_params=list(ansatz.input_params),
            weight_params=list(ansatz.weight_params),
            estimator=self.estimator,
            gradient=ParamShiftEstimatorGradient(self.estimator),
            input_gradients=True,
            default_precision=0.0,
        )
        self._connector = TorchConnector(self.qnn)

    def __call__(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(self._connector, {"weight": weights}, (inputs,))
        return out.to(dtype=inputs.dtype, device=inputs.device)
