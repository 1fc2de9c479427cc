"""Training under device noise (``noise="device:NAME"``): the torch engine runs the circuit a
target's jobs run, on its physical qubits, with its calibrated errors and readout. Checked against
Aer's density matrix of the same ISA circuits under ``NoiseModel.from_backend`` (the cone-by-cone
preview for packed slots, the whole routed circuit for unpacked), with gradients against finite
differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, ReadoutError

from qsnn_qiskit.backends import get_backend, load_target
from qsnn_qiskit.backends.calibration import readout_map
from qsnn_qiskit.backends.device_noise import default_target, device_noise
from qsnn_qiskit.backends.packing import pack_circuit
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.engines.torch_engine import TorchEngine
from qsnn_qiskit.hardware.preview import ConePreview
from qsnn_qiskit.qnn import QuantumLayer

from support import exact_outputs


@pytest.fixture(scope="module")
def torino():
    return get_backend(load_target("fake_torino"))


def _sample(ansatz, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-np.pi, np.pi, (n, ansatz.n_inputs)), rng.uniform(0, 2 * np.pi, ansatz.n_weights)


@pytest.fixture(scope="module")
def packed_case(torino):
    """2b-9q re-upload: its device-noise engine and Aer's cone-by-cone preview of the same packing."""
    ansatz = build_ansatz("reupload", 9, 2)
    engine = TorchEngine(ansatz, noise="device:fake_torino")
    packed = pack_circuit(ansatz, "fake_torino", torino)
    return ansatz, engine, packed, ConePreview(packed, torino)


def test_packed_device_noise_equals_aer_cone_by_cone(packed_case) -> None:
    ansatz, engine, packed, preview = packed_case
    assert engine.device_noise.pack == "cones" and len(engine.device_noise.slots) == packed.images >= 2
    x, w = _sample(ansatz, 2 * packed.images + 1)
    got = engine(torch.tensor(x), torch.tensor(w)).numpy()
    want = packed.demux(preview.exact(packed.rows(x, w)).T, len(x))   # sample b runs in slot b mod images
    np.testing.assert_allclose(got, want, atol=1e-8)
    assert np.abs(got - exact_outputs(ansatz, x, w)).max() > 1e-3   # the device's noise acts


def test_each_sample_runs_in_its_slot(packed_case) -> None:
    """The same image in every batch position: equal outputs within a slot, different across slots
    (other qubits, other calibration)."""
    ansatz, engine, packed, _ = packed_case
    x, w = _sample(ansatz, 1)
    out = engine(torch.tensor(np.repeat(x, 2 * packed.images, 0)), torch.tensor(w)).numpy()
    s = packed.images
    np.testing.assert_allclose(out[:s], out[s:], atol=1e-12)
    assert np.abs(out[0] - out[1]).max() > 1e-6
    np.testing.assert_allclose(engine(torch.tensor(x), torch.tensor(w)).numpy(), out[:1], atol=1e-12)   # batch < slots


def test_device_noise_gradients_match_finite_differences(packed_case) -> None:
    ansatz, engine, packed, _ = packed_case
    x, w = _sample(ansatz, packed.images, seed=3)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    probe = torch.tensor(np.random.default_rng(4).normal(size=(len(x), ansatz.n_outputs)))
    (engine(xt, wt) * probe).sum().backward()
    h = 1e-5
    for k in (0, 7, ansatz.n_weights - 1):
        step = np.zeros_like(w)
        step[k] = h
        up = (engine(torch.tensor(x), torch.tensor(w + step)) * probe).sum()
        down = (engine(torch.tensor(x), torch.tensor(w - step)) * probe).sum()
        assert abs(float((up - down) / (2 * h)) - float(wt.grad[k])) < 1e-6
    step = np.zeros_like(x)
    step[1, 4] = h
    up = (engine(torch.tensor(x + step), torch.tensor(w)) * probe).sum()
    down = (engine(torch.tensor(x - step), torch.tensor(w)) * probe).sum()
    assert abs(float((up - down) / (2 * h)) - float(xt.grad[1, 4])) < 1e-6


def test_unpacked_device_noise_equals_the_routed_circuit_as_one_density_matrix(torino) -> None:
    """--pack none: the routed ISA circuit (SWAPs and all), every gate's error and the readout."""
    ansatz = build_ansatz("reupload", 4, 1)
    noise = device_noise(ansatz, "fake_torino", pack="none")
    engine = TorchEngine(ansatz, noise=noise)
    (slot,) = noise.slots
    x, w = _sample(ansatz, 3, seed=1)
    got = engine(torch.tensor(x), torch.tensor(w)).numpy()

    isa, qubits = slot.circuit.copy(), [int(o.to_sparse_list()[0][1][0]) for o in slot.observables]
    isa.save_probabilities(qubits, label="p")
    model = NoiseModel.from_backend(torino)
    order = {p: i for i, p in enumerate(list(ansatz.input_params) + list(ansatz.weight_params))}
    binds = [{p: [np.r_[xi, w][order[p]] for xi in x] for p in isa.parameters}]
    result = AerSimulator(method="density_matrix", noise_model=model).run([isa], parameter_binds=binds).result()
    bits = np.arange(2 ** len(qubits))
    z = np.array([[np.sum(np.asarray(result.data(r)["p"]) * (1 - 2 * ((bits >> j) & 1))) for j in range(len(qubits))]
                  for r in range(len(x))])
    want = z * slot.readout[:, 0] + slot.readout[:, 1]
    np.testing.assert_allclose(got, want, atol=1e-8)
    assert sum(1 for i in slot.circuit.data if i.operation.num_qubits == 2) > 4   # routed: more than the ring's CZs


def test_unpacked_cones_too_wide_to_train_are_a_clear_error() -> None:
    ansatz = build_ansatz("reupload", 9, 2)
    with pytest.raises(ValueError, match=r"device noise fake_torino \(--pack none\): the noisy light cones .* span "
                                         r"up to 1[1-9] qubits.*--noise paper"):
        TorchEngine(ansatz, noise=device_noise(ansatz, "fake_torino", pack="none"))


def test_readout_map_is_the_affine_action_of_a_readout_error_on_z() -> None:
    model = NoiseModel()
    model.add_readout_error(ReadoutError([[0.9, 0.1], [0.3, 0.7]]), [2])
    a, b = readout_map(model, 2)
    for p1 in (0.0, 0.25, 1.0):   # prepared |1> with probability p1: <Z> = 1 - 2 p1
        read1 = (1 - p1) * 0.1 + p1 * 0.7
        assert a * (1 - 2 * p1) + b == pytest.approx(1 - 2 * read1)
    assert readout_map(model, 0) == (1.0, 0.0)


def test_aer_refuses_device_noise_and_unknown_devices_are_named() -> None:
    ansatz = build_ansatz("reupload", 2, 1)
    with pytest.raises(ValueError, match="engine 'aer' does not train under device noise.*use engine 'torch'"):
        QuantumLayer(ansatz, engine="aer", noise="device:fake_torino")
    with pytest.raises(ValueError, match="unknown device 'fake_mars'.*shipped targets: .*fake_torino"):
        default_target("fake_mars")
    kyiv = default_target("fake_kyiv")   # a fake backend without a shipped target: the default transpilation
    assert kyiv.backend.name == "FakeKyiv" and kyiv.transpile.optimization_level == 2
