"""engine="aer": qiskit-machine-learning's EstimatorQNN over Aer's EstimatorV2, via TorchConnector."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2
from qiskit.primitives.containers import DataBin, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.primitive_job import PrimitiveJob
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

from .._checks import check_int
from .._providers import check_aer_device
from ..backends.device_noise import DeviceNoise, device_target_name
from ..circuits import Ansatz
from ..circuits.channels import INPUT_DAMPING
from ..circuits.noise import noisy_circuit
from .connector import EstimatorConnector

AER_METHODS = ("statevector", "density_matrix", "automatic")


class AerEngine:
    """Expectation values on Aer, exact or from shots; parameter-shift gradients on Aer too.

    Args:
        device: ``"CPU"`` or ``"GPU"`` (needs the qiskit-aer-gpu package in place of qiskit-aer).
        method: Aer simulation method; ``None`` picks ``"statevector"``, or ``"density_matrix"``
            for exact noisy values.
        seed: seed of Aer's sampling (shots and noise trajectories).
        noise: a NoiseSpec, an Aer NoiseModel, a ``--noise`` string or a fake backend name
            (``qsnn_qiskit.circuits.noise.noisy_circuit``); ``None``: noiseless. A circuit with gates
            outside the model's basis is translated into it so that the errors follow its gates; a
            NoiseSpec's positional channels with fixed rates run as ``kraus`` instructions, and its
            input-dependent damping (``damping="input"``, the ``reference`` preset) is refused:
            Aer takes fixed rates only.
        shots: ``None``: exact expectation values (with noise: the density matrix,
            ``method="density_matrix"``). An int: every expectation value is estimated from that
            many measured shots (Aer's SamplerV2; with noise, each shot of the statevector method is
            one noise trajectory), the same estimator as on hardware; see `ShotEstimator`.

    The circuit reaches torch through `EstimatorConnector` (EstimatorQNN + TorchConnector).
    """

    name = "aer"

    def __init__(self, ansatz: Ansatz, device: str = "CPU", method: str | None = None,
                 seed: int | None = None, noise: Any = None, shots: int | None = None) -> None:
        if method is not None and method not in AER_METHODS:
            raise ValueError(f"unknown Aer method {method!r}; known: {', '.join(AER_METHODS)}")
        check_int("shots (None: exact expectation values)", shots, 1, optional=True)
        check_aer_device(device)
        if device_target_name(noise) is not None or isinstance(noise, DeviceNoise):
            raise ValueError(f"engine 'aer' does not train under device noise ({noise!r}: the circuit a target runs, "
                             "on its physical qubits); use engine 'torch' for it, and `qsnn submit --target` to run "
                             "the trained model there (a fake backend's jobs are previewed on Aer)")
        circuit, noise_model = noisy_circuit(ansatz.circuit, noise, ansatz.input_params)
        _refuse_input_damping(circuit)
        if method is None:
            method = "density_matrix" if noise_model is not None and shots is None else "statevector"
        if noise_model is not None and shots is None and method != "density_matrix":
            raise ValueError(f"exact noisy expectation values need method='density_matrix'; method={method!r} "
                             "would average noise trajectories. Give shots=N to sample instead")
        # runtime binding: Aer binds a PUB's whole parameter array inside one simulator run
        backend_options = {"method": method, "device": device, "runtime_parameter_bind_enable": True}
        if seed is not None:
            backend_options["seed_simulator"] = seed
        if noise_model is not None:
            backend_options["noise_model"] = noise_model
        self.noise_model, self.shots = noise_model, shots
        self.estimator = (AerEstimatorV2(options={"backend_options": backend_options}) if shots is None
                          else ShotEstimator(shots, backend_options))
        self._connector = EstimatorConnector(circuit, ansatz.observables, ansatz.input_params,
                                             ansatz.weight_params, self.estimator,
                                             merge_rotations=noise_model is None)
        self.qnn = self._connector.qnn

    def __call__(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self._connector(inputs, weights)


def _refuse_input_damping(circuit: QuantumCircuit) -> None:
    """``ValueError`` if ``circuit`` holds a channel whose rate depends on a parameter."""
    if any(inst.operation.name == INPUT_DAMPING for inst in circuit.data):
        raise ValueError("engine 'aer' cannot express amplitude damping whose rate depends on the inputs "
                         "(gamma = sigmoid(the qubit's first input angle): NoiseSpec damping='input', as in "
                         "the 'reference' preset): Aer's noise models and Kraus instructions take fixed rates, "
                         "and parameter-shift gradients have no rule for a rate. Use engine 'torch', or a "
                         "fixed rate (damping='fixed', amplitude_damping=...)")


def _basis(pauli: str) -> str:
    """The measurement basis of a Pauli label: X/Y/Z where it acts, Z where it is the identity."""
    return pauli.replace("I", "Z")


def _diagonal(pauli: str) -> str:
    """The Pauli label as measured after the basis rotation: X and Y become Z."""
    return pauli.replace("X", "Z").replace("Y", "Z")


def _measured(circuit: QuantumCircuit, basis: str) -> QuantumCircuit:
    """``circuit`` rotated so that ``basis`` (a Pauli label, qubit 0 rightmost) becomes Z, measured."""
    out = circuit.remove_final_measurements(inplace=False)
    for qubit, axis in enumerate(reversed(basis)):
        if axis == "Y":
            out.sdg(qubit)
        if axis in "XY":
            out.h(qubit)
    out.measure_all()
    return out


class ShotEstimator(BaseEstimatorV2):
    """An EstimatorV2 that estimates every Pauli expectation value from measured shots on Aer.

    Aer's own EstimatorV2 computes exact values and, given ``precision > 0``, only adds Gaussian
    noise of that width: no shots are taken. This one samples, as hardware does: each PUB's circuit
    is rotated into the measurement basis of its Paulis, measured ``shots`` times for every parameter
    set (Aer's SamplerV2, one run for all PUBs), and each Pauli's value is the mean of its +-1
    outcomes. PUBs that share a circuit, basis and parameter values share their shots. ``stds`` is
    sqrt(sum_P c_P^2 (1 - <P>^2) / shots), the standard error when the Paulis are estimated
    independently. The ``precision`` argument of ``run`` is ignored: the shot count sets it.
    """

    def __init__(self, shots: int, backend_options: dict[str, Any]) -> None:
        self.shots = shots
        self._sampler = AerSamplerV2(default_shots=shots, seed=backend_options.get("seed_simulator"),
                                     options={"backend_options": backend_options})

    def run(self, pubs, *, precision: float | None = None) -> PrimitiveJob:
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult:
        keys: dict[tuple, int] = {}      # (circuit id, basis, values) -> index of its sampler PUB
        sampler_pubs, needs = [], []
        for pub in pubs:
            values = pub.parameter_values.as_array(pub.circuit.parameters)
            paulis = {p for obs in pub.observables.ravel() for p in obs}
            need = {}
            for pauli in paulis:
                key = (id(pub.circuit), _basis(pauli), values.shape, values.tobytes())
                if key not in keys:
                    keys[key] = len(sampler_pubs)
                    sampler_pubs.append((_measured(pub.circuit, _basis(pauli)), values, self.shots))
                need[pauli] = keys[key]
            needs.append(need)
        results = self._sampler.run(sampler_pubs).result() if sampler_pubs else []
        return PrimitiveResult([self._pub_result(pub, need, results) for pub, need in zip(pubs, needs)],
                               metadata={"version": 2, "shots": self.shots})

    def _pub_result(self, pub: EstimatorPub, need: dict[str, int], results) -> PubResult:
        # Pauli -> its sampled mean per parameter set, flattened (prod(param_shape),)
        means = {p: np.asarray(results[i].data.meas.expectation_values(_diagonal(p))).reshape(-1)
                 for p, i in need.items()}
        param_shape = pub.parameter_values.shape
        flat_index = np.arange(int(np.prod(param_shape))).reshape(param_shape)
        bc_index, bc_obs = np.broadcast_arrays(flat_index, pub.observables)
        evs, variances = np.zeros(bc_index.shape), np.zeros(bc_index.shape)
        for index in np.ndindex(*bc_index.shape):
            for pauli, coeff in bc_obs[index].items():
                mean = means[pauli][bc_index[index]]
                evs[index] += np.real(coeff) * mean
                variances[index] += abs(coeff) ** 2 * (1.0 - mean ** 2) / self.shots
        return PubResult(DataBin(evs=evs, stds=np.sqrt(variances), shape=evs.shape),
                         metadata={"shots": self.shots, "circuit_metadata": pub.circuit.metadata})
