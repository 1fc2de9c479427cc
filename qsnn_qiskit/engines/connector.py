"""The one wiring of a circuit to torch through qiskit-machine-learning, shared by the aer and
runtime engines: ``EstimatorQNN`` (inputs and weights as parameters, one output per observable,
gradients by `BatchedParamShiftGradient`) inside a ``TorchConnector`` that is driven functionally
with the layer's own weight Parameter, so a layer's ``state_dict`` holds just ``weight`` whichever
engine runs it."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.primitives import BaseEstimatorV2
from qiskit_machine_learning.connectors import TorchConnector
from qiskit_machine_learning.neural_networks import EstimatorQNN

from .param_shift import BatchedParamShiftGradient


class EstimatorConnector:
    """``(inputs (batch, n_inputs), weights (n_weights,)) -> (batch, n_observables)`` on ``estimator``.

    Args:
        circuit: the circuit the estimator runs (as built, or in a backend's ISA).
        observables: one per output, on ``circuit``'s qubits.
        input_params, weight_params: the circuit's parameters, in the order of the tensors' columns.
        estimator: an EstimatorV2 (Aer's, a shot-based one, or qiskit-ibm-runtime's).
        precision: the estimator's target standard error per value (0.0: exact).
        gradient_options: keyword arguments of `BatchedParamShiftGradient`.
    """

    def __init__(self, circuit: QuantumCircuit, observables: Sequence[Any], input_params: Sequence[Parameter],
                 weight_params: Sequence[Parameter], estimator: BaseEstimatorV2, precision: float = 0.0,
                 **gradient_options: Any) -> None:
        self.qnn = EstimatorQNN(
            circuit=circuit,
            observables=list(observables),
            input_params=list(input_params),
            weight_params=list(weight_params),
            estimator=estimator,
            gradient=BatchedParamShiftGradient(estimator, **gradient_options),
            input_gradients=True,
            default_precision=precision,
        )
        self._connector = TorchConnector(self.qnn)

    def __call__(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        # Qiskit computes in float64; the cast lets any float dtype in (numpy has no bfloat16)
        out = torch.func.functional_call(self._connector, {"weight": weights}, (inputs.double(),))
        return out.to(dtype=inputs.dtype, device=inputs.device)
