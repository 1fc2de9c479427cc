"""A fast local preview of light-cone packed jobs on a local backend: each slot's cone (its gates in
the packed ISA circuit, on its own physical qubits) is simulated on its own as an exact density
matrix under the backend's noise model (the model local testing mode runs; disjoint cones are
independent, so this is exact), never the packed circuit as one state. The readout error of the
measured qubit acts on <Z> as an exact affine map; with shots, each value is sampled from that
exact measurement distribution.

Only packed circuits: in a routed, unpacked circuit the noise of the gates that Qiskit's LightCone
drops (the last CZ ring commutes with Z, but its errors still act) couples every qubit, so no
cone is smaller than the whole circuit (13 qubits for 2b-9q on fake_torino).
"""
from __future__ import annotations

import math
import uuid
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2

from ..backends.calibration import readout_map
from ..backends.cones import cone_of, z_qubit
from ..backends.packing import PackedCircuit
from ..circuits.noise import noise_from_backend, restrict_noise_model


class ConePreview:
    """Noisy expectation values of a packed circuit's slots, cone by cone (Aer, density matrix)."""

    def __init__(self, packed: PackedCircuit, backend: BackendV2) -> None:
        from qiskit_aer import AerSimulator

        noise = noise_from_backend(backend, readout_error=True)
        self.circuits: list[QuantumCircuit] = []
        self.readout: list[tuple[float, float]] = []   # <Z> measured = a * <Z> + b
        qubits: set[int] = set()
        for o in packed.observables:
            q = z_qubit(o)
            cone = cone_of(packed.isa, q)
            cone.save_probabilities([q], label="p")   # save_expval on a truncated wide circuit is wrong in Aer
            self.circuits.append(cone)
            qubits |= {cone.find_bit(b).index for inst in cone.data for b in inst.qubits}
            self.readout.append(readout_map(noise, q))
        self.columns = {p: c for c, p in enumerate(packed.isa.parameters)}
        self.simulator = AerSimulator(method="density_matrix", noise_model=restrict_noise_model(noise, qubits))

    def exact(self, values: np.ndarray) -> np.ndarray:
        """(n_slots, n_rows) noisy <Z> with readout error, exact, for parameter rows ``values``."""
        binds = [{p: values[:, self.columns[p]].tolist() for p in c.parameters} for c in self.circuits]
        result = self.simulator.run(self.circuits, parameter_binds=binds, shots=1).result()
        n_rows = values.shape[0]
        p = np.array([[result.data(s * n_rows + r)["p"] for r in range(n_rows)] for s in range(len(self.circuits))])
        z = p[..., 0] - p[..., 1]
        a, b = np.array(self.readout).T
        return a[:, None] * z + b[:, None]

    def run(self, values: np.ndarray, precision: float, seed: int | None = None) -> Any:
        """A finished job-like object whose result holds (n_slots, n_rows) evs sampled with
        ceil(1 / precision^2) shots each, as an EstimatorV2 job in local testing mode would."""
        from qiskit.primitives import DataBin, PrimitiveResult, PubResult

        shots = math.ceil(1.0 / precision ** 2)
        p1 = (1.0 - np.clip(self.exact(np.asarray(values, dtype=float)), -1.0, 1.0)) / 2
        evs = 1.0 - 2.0 * np.random.default_rng(seed).binomial(shots, p1) / shots
        stds = np.sqrt(np.maximum(1.0 - evs ** 2, 0.0) / shots)
        return _DoneJob(PrimitiveResult([PubResult(DataBin(evs=evs, stds=stds, shape=evs.shape))]))


class _DoneJob:
    """The job interface `jobs.run_chunks` reads, for a result computed on the spot."""

    def __init__(self, result: Any) -> None:
        self._result, self._id = result, f"preview-{uuid.uuid4().hex[:12]}"

    def job_id(self) -> str:
        return self._id

    def status(self) -> str:
        return "DONE"

    def result(self) -> Any:
        return self._result
