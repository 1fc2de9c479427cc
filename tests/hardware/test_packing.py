"""Light-cone packed execution: exact against the unpacked circuit, a cone-by-cone preview that is
exact against the packed circuit as one state, statistics with shots, and clear refusals."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qiskit.primitives import StatevectorEstimator

from qsnn_qiskit.backends import get_backend, load_target
from qsnn_qiskit.backends.packing import pack_circuit, resolve_pack
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.cli import main
from qsnn_qiskit.hardware.jobs import expectation_values
from qsnn_qiskit.hardware.preview import ConePreview

from support import exact_outputs

LINE11 = """
[backend]
kind = "generic"
num_qubits = 11
coupling = "line"
basis_gates = ["cz", "rz", "sx", "x", "id"]
calibration_seed = 3
[transpile]
optimization_level = 2
routing_method = "sabre"
seed = 1
"""


@pytest.fixture(scope="module")
def line11(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("targets")) / "line11.toml"
    path.write_text(LINE11)
    target = load_target(str(path))
    return target, get_backend(target)


def _sample(ansatz, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, np.pi, (n, ansatz.n_inputs)), rng.uniform(0, 2 * np.pi, ansatz.n_weights)


@pytest.mark.parametrize("name,blocks", [("reupload", 2), ("hea", 1), ("sqnn", 2)])
def test_packed_execution_is_exact(line11, name: str, blocks: int) -> None:
    """Noiseless: several images' cones in one circuit, demultiplexed, equal the unpacked circuit."""
    target, backend = line11
    ansatz = build_ansatz(name, n_qubits=3, blocks=blocks)
    packed = pack_circuit(ansatz, target, backend, min_success=0.0)
    assert packed.images >= 1 and len(packed.observables) == packed.images * ansatz.n_outputs
    x, w = _sample(ansatz, packed.images + 1)   # a last execution with empty slots
    values = packed.rows(x, w)
    assert values.shape[0] == -(-len(x) // packed.images)
    result = StatevectorEstimator().run([(packed.isa, [[o] for o in packed.observables], values)]).result()
    got = packed.demux(expectation_values(result), len(x))
    np.testing.assert_allclose(got, exact_outputs(ansatz, x, w), atol=1e-9)


def test_groups_are_disjoint_and_never_touch(torino) -> None:
    ansatz = build_ansatz("reupload", n_qubits=9, blocks=2)
    packed = pack_circuit(ansatz, "fake_torino", torino)
    groups = [set(g) for row in packed.placement.groups for g in row]
    assert packed.images >= 2 and not packed.placement.swaps and resolve_pack(None, False) == "cones"
    edges = {tuple(e) for e in torino.coupling_map.get_edges()}
    for a in range(len(groups)):
        for b in range(a + 1, len(groups)):
            assert not groups[a] & groups[b]
            assert not any((p, q) in edges for p in groups[a] for q in groups[b])
    assert sum(1 for i in packed.isa.data if i.operation.num_qubits == 2) == 2 * len(groups)   # no SWAP


def test_a_lower_min_success_packs_more_images_on_worse_groups(torino) -> None:
    ansatz = build_ansatz("reupload", n_qubits=9, blocks=2)
    strict = pack_circuit(ansatz, "fake_torino", torino, min_success=0.9)
    loose = pack_circuit(ansatz, "fake_torino", torino, min_success=0.85)
    assert loose.images > strict.images and not loose.placement.swaps


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.9", True])
def test_min_success_outside_zero_one_is_refused(line11, bad) -> None:
    target, backend = line11
    with pytest.raises(ValueError, match=r"--min-success must be a probability in \[0, 1\].*got"):
        pack_circuit(build_ansatz("reupload", n_qubits=3, blocks=1), target, backend, min_success=bad)


def test_cone_preview_is_exact_against_the_packed_circuit_as_one_state(torino) -> None:
    """Under fake_torino's noise, cone by cone equals the whole packed circuit's density matrix."""
    ansatz = build_ansatz("reupload", n_qubits=3, blocks=2)
    packed = pack_circuit(ansatz, "fake_torino", torino, max_images=1)
    preview = ConePreview(packed, torino)
    x, w = _sample(ansatz, 2)
    values = packed.rows(x, w)
    z = _whole_circuit_z(preview.simulator, packed.isa, packed.observables, values)
    a, b = np.array(preview.readout).T
    np.testing.assert_allclose(preview.exact(values), a[:, None] * z + b[:, None], atol=1e-9)
    assert np.all(np.abs(a) < 1) and not np.allclose(z, exact_outputs(ansatz, x, w).T, atol=1e-4)   # noise acts
    assert sum(1 for i in packed.isa.data if i.operation.num_qubits == 2) == 6


def _whole_circuit_z(simulator, isa, observables, values: np.ndarray) -> np.ndarray:
    """(n_observables, n_rows) <Z> of ``isa`` simulated as one density matrix (no readout)."""
    whole = isa.copy()
    qubits = [int(o.to_sparse_list()[0][1][0]) for o in observables]
    whole.save_probabilities(qubits, label="p")   # save_expval on a truncated wide circuit is wrong in Aer
    binds = [{p: values[:, c].tolist() for c, p in enumerate(isa.parameters)}]
    result = simulator.run([whole], parameter_binds=binds, shots=1).result()
    bits = np.arange(2 ** len(qubits))
    return np.array([[np.sum(np.asarray(result.data(r)["p"]) * (1 - 2 * ((bits >> s) & 1))) for r in range(len(values))]
                     for s in range(len(qubits))])


def test_preview_shots_agree_within_statistical_error(torino) -> None:
    ansatz = build_ansatz("reupload", n_qubits=3, blocks=1)
    packed = pack_circuit(ansatz, "fake_torino", torino, max_images=2)
    preview = ConePreview(packed, torino)
    values = packed.rows(*_sample(ansatz, 4))
    exact = preview.exact(values)
    job = preview.run(values, precision=1 / 32, seed=5)   # 1,024 shots
    data = job.result()[0].data
    sigma = np.sqrt(np.maximum(1 - exact ** 2, 1e-6) / 1024)
    assert np.all(np.abs(data.evs - exact) < 5 * sigma) and job.status() == "DONE"


def test_bad_pack_mode_and_too_large_cone_are_clear_errors(line11) -> None:
    with pytest.raises(ValueError, match="unknown pack mode 'dense'; allowed: cones, none"):
        resolve_pack("dense", False)
    target, backend = line11
    with pytest.raises(ValueError, match=r"fits nowhere on .*\(11 qubits\)"):
        pack_circuit(build_ansatz("reupload", n_qubits=17, blocks=9), target, backend, min_success=0.0)


@pytest.mark.parametrize("command", ["submit", "transpile"])
def test_bad_min_success_flag_is_one_line_before_any_work(tmp_path, capsys, command) -> None:
    assert main([command, str(tmp_path / "no-run"), "--target", "fake_torino", "--min-success", "1.5"]) == 2
    err = capsys.readouterr().err
    assert f"qsnn {command}: error: --min-success must be a probability in [0, 1]" in err and "got 1.5" in err
    assert list(tmp_path.iterdir()) == []
