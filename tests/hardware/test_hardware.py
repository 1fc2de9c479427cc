"""Transpilation to ISA circuits, the runtime engine in local testing mode, job persistence, credentials.

Fake backends only; nothing here touches the network.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qsnn_qiskit import QuantumLayer
from qsnn_qiskit.backends import check_width, get_backend, load_target, runtime_service, transpile_for
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.engines import make_engine
from qsnn_qiskit.errors import CredentialsError
from qsnn_qiskit.hardware import success_probability, transpile_report
from qsnn_qiskit.hardware.jobs import JobStore, run_chunks

from support import exact_outputs

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["fake_torino", "fake_brisbane", "line", "ring"])
def test_isa_circuit_uses_only_supported_instructions(name: str) -> None:
    ansatz = build_ansatz("reupload", n_qubits=4, blocks=2)   # a CZ ring: needs routing on a heavy hex / line
    backend = get_backend(name)
    isa, observables = transpile_for(ansatz, name, backend)
    for inst in isa.data:
        qargs = tuple(isa.find_bit(q).index for q in inst.qubits)
        assert backend.target.instruction_supported(inst.operation.name, qargs), (inst.operation.name, qargs)
    assert set(isa.parameters) == set(ansatz.input_params) | set(ansatz.weight_params)
    assert len(observables) == ansatz.n_outputs
    assert all(o.num_qubits == isa.num_qubits == backend.num_qubits for o in observables)


def test_observables_follow_the_final_layout() -> None:
    """On the 9-qubit line (small enough for a Statevector), the ISA circuit with mapped observables
    gives the untranspiled circuit's expectation values."""
    ansatz = build_ansatz("reupload", n_qubits=4, blocks=2)
    isa, observables = transpile_for(ansatz, "line")   # a ring ansatz on a line: SWAPs move qubits
    rng = np.random.default_rng(0)
    x, w = rng.uniform(0, np.pi, (2, ansatz.n_inputs)), rng.uniform(0, 2 * np.pi, ansatz.n_weights)
    layout = isa.layout.final_index_layout()
    for j, o in enumerate(observables):
        assert o.paulis.to_labels()[0][::-1][layout[j]] == "Z"
    for xi, want in zip(x, exact_outputs(ansatz, x, w)):
        bindings = dict(zip(ansatz.input_params, xi)) | dict(zip(ansatz.weight_params, w))
        state = Statevector(isa.assign_parameters(bindings))
        got = [state.expectation_value(o).real for o in observables]
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_report_and_success_probability(torino, tiny_ansatz) -> None:
    isa, _ = transpile_for(tiny_ansatz, "fake_torino", torino)
    report = transpile_report(isa, torino, "fake_torino")
    assert report.two_qubit_gates == sum(1 for i in isa.data if i.operation.num_qubits == 2) >= 1
    assert report.depth == isa.depth() and len(report.layout) == 2
    q0, q1 = report.layout
    expected = 1.0
    for inst in isa.data:   # independent: per instruction, straight from the calibration
        qargs = tuple(isa.find_bit(q).index for q in inst.qubits)
        expected *= 1 - (torino.target[inst.operation.name][qargs].error or 0.0)
    expected *= (1 - torino.target["measure"][(q0,)].error) * (1 - torino.target["measure"][(q1,)].error)
    assert report.success_probability == pytest.approx(expected, rel=1e-12)
    assert 0 < report.success_probability < 1
    assert success_probability(isa, get_backend("aer-cpu"), [0]) is None   # no calibration
    md = report.to_markdown()
    assert "two-qubit gates" in md and f"0->{q0}" in md


def test_too_wide_circuit_is_refused_before_anything_runs(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "tiny3.toml"
    path.write_text('[backend]\nkind = "generic"\nnum_qubits = 3\ncoupling = "line"\n'
                    'basis_gates = ["cz", "rz", "sx", "x"]\n')
    wide = build_ansatz("reupload", n_qubits=5, blocks=1)

    def no_transpile(*args, **kwargs):
        raise AssertionError("transpiler called for a circuit that cannot fit")

    monkeypatch.setattr("qsnn_qiskit.backends.isa.generate_preset_pass_manager", no_transpile)
    with pytest.raises(ValueError, match="needs 5 qubits .* has 3"):
        transpile_for(wide, path)
    with pytest.raises(ValueError, match="needs 5 qubits"):
        make_engine("runtime", wide, target=path)
    with pytest.raises(ValueError, match="needs 5 qubits"):
        check_width(wide, get_backend(path))


def test_runtime_matches_exact_simulator_with_many_shots() -> None:
    """engine="runtime" on the noiseless aer-cpu target: outputs within 4 standard errors of the
    Statevector, gradients within 5 standard errors of the exact (torch) engine's."""
    ansatz = build_ansatz("reupload", n_qubits=2, blocks=1)
    shots = 20000
    layer = QuantumLayer(ansatz, engine="runtime", target="aer-cpu", shots=shots, seed=5)
    exact_layer = QuantumLayer(ansatz, engine="torch")
    exact_layer.load_state_dict(layer.state_dict())
    x = torch.tensor(np.random.default_rng(1).uniform(0, np.pi, (3, ansatz.n_inputs)))
    out = layer(x)
    want = exact_outputs(ansatz, x.numpy(), layer.weight.detach().numpy())
    se = np.sqrt((1 - want ** 2) / shots) + 1e-3
    assert np.all(np.abs(out.detach().numpy() - want) < 4 * se)
    out.sum().backward()
    exact_layer(x).sum().backward()
    # each weight derivative: 3 samples x 2 outputs, each (E+ - E-) / 2 with error 1/sqrt(2 shots)
    grad_se = math.sqrt(6 / (2 * shots))
    np.testing.assert_allclose(layer.weight.grad.numpy(), exact_layer.weight.grad.numpy(), atol=5 * grad_se)


def test_fake_torino_matches_aer_with_the_backend_noise_model(torino, tiny_ansatz) -> None:
    """Local testing mode on fake_torino vs an independent reference: Aer's exact density matrix with
    NoiseModel.from_backend (gate and relaxation noise), then each qubit's readout error applied
    analytically (<Z> -> (1 - 2 e) <Z> for a symmetric readout error e)."""
    from qiskit_aer.noise import NoiseModel
    from qiskit_aer.primitives import EstimatorV2 as AerEstimator

    shots = 8192
    engine = make_engine("runtime", tiny_ansatz, target="fake_torino", shots=shots, seed=11)
    rng = np.random.default_rng(2)
    x, w = rng.uniform(0, np.pi, (4, tiny_ansatz.n_inputs)), rng.uniform(0, 2 * np.pi, tiny_ansatz.n_weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = engine(torch.tensor(x), torch.tensor(w)).numpy()

    isa, observables = engine.isa_circuit, engine.isa_observables
    noise = NoiseModel.from_backend(torino)
    for q in range(torino.num_qubits):   # readout is applied analytically below
        noise._local_readout_errors.pop((q,), None)
    reference = AerEstimator(options={"backend_options": {"method": "density_matrix", "noise_model": noise}})
    order = {p: i for i, p in enumerate(list(tiny_ansatz.input_params) + list(tiny_ansatz.weight_params))}
    values = np.array([[np.r_[xi, w][order[p]] for p in isa.parameters] for xi in x])
    evs = np.asarray(reference.run([(isa, [[o] for o in observables], values)], precision=0.0)
                     .result()[0].data.evs).T
    layout = isa.layout.final_index_layout()
    readout = np.array([1 - 2 * torino.target["measure"][(q,)].error for q in layout])
    want = evs * readout
    se = np.sqrt(np.clip(1 - want ** 2, 0, 1) / shots) + 2e-3
    assert np.all(np.abs(got - want) < 4 * se), (got, want)
    exact = exact_outputs(tiny_ansatz, x, w)
    assert np.abs(want - exact).max() > 4 * se.max()   # the noise is visible: the check has teeth


def test_packed_runtime_engine_equals_the_device_noise_of_its_slots(tiny_ansatz) -> None:
    """engine="runtime", pack="cones": 3 images per execution in local testing mode (shots); its
    outputs and parameter-shift gradients agree with the exact device-noise torch engine cut to the
    same 3 slots (a capped placement keeps the uncapped one's first slots)."""
    import dataclasses

    from qsnn_qiskit.backends.device_noise import device_noise
    from qsnn_qiskit.engines.torch_engine import TorchEngine

    shots = 8192
    engine = make_engine("runtime", tiny_ansatz, target="fake_torino", shots=shots, seed=3, pack="cones", max_images=3)
    assert engine.pack == "cones" and engine.packed.images == 3
    full = device_noise(tiny_ansatz, "fake_torino")
    assert [s.observables for s in full.slots[:3]] == [engine.packed.observables[2 * i:2 * i + 2] for i in range(3)]
    exact = TorchEngine(tiny_ansatz, noise=dataclasses.replace(full, slots=full.slots[:3]))
    rng = np.random.default_rng(6)
    x, w = rng.uniform(0, np.pi, (5, tiny_ansatz.n_inputs)), rng.uniform(0, 2 * np.pi, tiny_ansatz.n_weights)
    probe = torch.tensor(rng.normal(size=(5, tiny_ansatz.n_outputs)))
    runs = []
    for run in (engine, exact):
        xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = run(xt, wt)
            (out * probe).sum().backward()
        runs.append((out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()))
    (got, gx, gw), (want, ex, ew) = runs
    se = np.sqrt(np.clip(1 - want ** 2, 0, 1) / shots) + 2e-3
    assert got.shape == (5, tiny_ansatz.n_outputs) and np.all(np.abs(got - want) < 4 * se), (got, want)
    grad_se = float(np.sqrt((probe.numpy() ** 2).sum() / (2 * shots)))   # probe-weighted (E+ - E-) / 2 sums
    np.testing.assert_allclose(gw, ew, atol=5 * grad_se + 2e-3)
    np.testing.assert_allclose(gx, ex, atol=5 * grad_se + 2e-3)
    assert np.abs(want - exact_outputs(tiny_ansatz, x, w)).max() > 1e-3   # the reference carries the device noise
    with pytest.raises(ValueError, match="unknown pack mode 'dense'"):
        make_engine("runtime", tiny_ansatz, target="fake_torino", pack="dense")


def test_missing_credentials_say_how_to_save_an_account(monkeypatch) -> None:
    import qiskit_ibm_runtime
    from qiskit_ibm_runtime.accounts import AccountNotFoundError

    calls = []

    class NoAccount:
        def __init__(self, **kwargs):
            calls.append(kwargs)
            raise AccountNotFoundError("Unable to find account.")

    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", NoAccount)
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.delenv("QISKIT_IBM_INSTANCE", raising=False)
    with pytest.raises(CredentialsError, match=r"QiskitRuntimeService\.save_account") as err:
        runtime_service()
    assert "QISKIT_IBM_TOKEN" in str(err.value)
    with pytest.raises(ValueError, match="save_account"):
        get_backend("ibm_backend_template")
    with pytest.raises(ValueError, match="save_account"):
        make_engine("runtime", build_ansatz("reupload", n_qubits=2, blocks=1), target="ibm_backend_template")

    secret = "s3cr3t-token-value-123"
    monkeypatch.setenv("QISKIT_IBM_TOKEN", secret)
    with pytest.raises(CredentialsError) as err:
        runtime_service()
    assert secret not in str(err.value) and "QISKIT_IBM_TOKEN" in str(err.value)
    assert calls[-1]["token"] == secret   # the token went to the service, nowhere else


class _Result:
    def __init__(self, evs: np.ndarray) -> None:
        self.data = type("Data", (), {"evs": evs})()


class _Job:
    """A job double: ``evs`` (n_outputs, n_samples), or ``fail`` to end in ERROR."""

    def __init__(self, job_id: str, evs: np.ndarray | None = None, fail: bool = False) -> None:
        self._id, self._evs, self._fail = job_id, evs, fail

    def job_id(self) -> str:
        return self._id

    def status(self) -> str:
        return "ERROR" if self._fail else "DONE"

    def result(self):
        if self._fail:
            raise RuntimeError("calibration in progress")
        return [_Result(self._evs)]


def _chunks(n: int = 4, size: int = 2):
    values = np.arange(n * 3, dtype=float).reshape(n, 3)
    return [(list(range(s, s + size)), values[s:s + size]) for s in range(0, n, size)]


def test_killed_between_submit_and_fetch_resumes_by_fetching(tmp_path: Path) -> None:
    """A process sends a job, records it, and is killed while waiting; the next run fetches it."""
    script = textwrap.dedent(f"""
        import os, numpy as np
        from qsnn_qiskit.hardware.jobs import JobStore, run_chunks
        class Job:
            def job_id(self): return "cloud-job-0"
            def status(self): return "RUNNING"
            def result(self): os._exit(9)   # killed while waiting for the result
        values = np.arange(6, dtype=float).reshape(2, 3)
        run_chunks(JobStore({str(tmp_path)!r}, "fake_cloud"), [([0, 1], values)], "ibm_test",
                   submit=lambda v: Job(), retrieve=None, local=False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    store = JobStore(tmp_path, "fake_cloud")
    record = store.load(0)
    assert record.status == "submitted" and record.job_id == "cloud-job-0" and record.attempts == 1
    assert record.parameter_values == np.arange(6.0).reshape(2, 3).tolist()

    fetched = []

    def retrieve(job_id: str) -> _Job:
        fetched.append(job_id)
        return _Job(job_id, np.array([[0.5, -0.25], [0.1, 0.2]]))

    def submit(values):
        raise AssertionError("a job that was sent must be fetched, not sent again")

    values = np.arange(6, dtype=float).reshape(2, 3)
    (done,) = run_chunks(store, [([0, 1], values)], "ibm_test", submit, retrieve, local=False, log=lambda s: None)
    assert fetched == ["cloud-job-0"]
    assert done.status == "done" and done.attempts == 1
    np.testing.assert_allclose(done.evs, [[0.5, 0.1], [-0.25, 0.2]])   # (samples, outputs)
    assert json.loads(store.path(0).read_text())["status"] == "done"


def test_finished_jobs_are_not_sent_again_and_local_lost_jobs_are(tmp_path: Path) -> None:
    store = JobStore(tmp_path, "t")
    sent = []

    def submit(values):
        sent.append(values.copy())
        return _Job(f"job-{len(sent)}", np.vstack([values[:, 0], -values[:, 0]]))

    first = run_chunks(store, _chunks(), "b", submit, None, local=True, log=lambda s: None)
    assert len(sent) == 2 and all(r.status == "done" for r in first)
    again = run_chunks(store, _chunks(), "b", submit, None, local=True, log=lambda s: None)
    assert len(sent) == 2 and [r.job_id for r in again] == ["job-1", "job-2"]

    # a local job recorded as sent, whose process died: local jobs cannot be fetched -> sent again
    record = store.load(1)
    record.status, record.evs = "submitted", None
    store.save(record)
    again = run_chunks(store, _chunks(), "b", submit, None, local=True, log=lambda s: None)
    assert len(sent) == 3 and again[1].status == "done" and again[1].job_id == "job-3"
    np.testing.assert_allclose(np.asarray(again[1].evs)[:, 0], _chunks()[1][1][:, 0])

    # other parameters (a retrained model) -> new jobs, not stale results
    changed = [(s, v + 1.0) for s, v in _chunks()]
    run_chunks(store, changed, "b", submit, None, local=True, log=lambda s: None)
    assert len(sent) == 5


def test_failed_jobs_are_retried_a_bounded_number_of_times(tmp_path: Path) -> None:
    store = JobStore(tmp_path, "t")
    sent = []

    def flaky(values):
        sent.append(1)
        if len(sent) < 3:
            return _Job(f"bad-{len(sent)}", fail=True)
        return _Job(f"good-{len(sent)}", np.zeros((2, len(values))))

    (record,) = run_chunks(store, _chunks(2, 2), "b", flaky, None, local=True, max_attempts=3, log=lambda s: None)
    assert record.status == "done" and record.attempts == 3 and len(record.history) == 2

    always_bad = lambda values: _Job("bad", fail=True)   # noqa: E731
    store2 = JobStore(tmp_path, "u")
    (record,) = run_chunks(store2, _chunks(2, 2), "b", always_bad, None, local=True, max_attempts=2,
                           log=lambda s: None)
    assert record.status == "given_up" and record.attempts == 2 and "calibration" in record.error
    (again,) = run_chunks(store2, _chunks(2, 2), "b", lambda v: pytest.fail("no more attempts"), None,
                          local=True, max_attempts=2, log=lambda s: None)
    assert again.status == "given_up"


def test_example_smoke_trains_transpiles_submits_and_resumes(tmp_path: Path, capsys) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import submit_hardware
    finally:
        sys.path.pop(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert submit_hardware.main(["--smoke", "--run-dir", str(tmp_path)]) == 0
    run_dir = tmp_path / "run"
    summary = json.loads((run_dir / "submit" / "fake_torino" / "summary.json").read_text())
    assert summary["samples"] == submit_hardware.SMOKE["limit"] and summary["failed_chunks"] == []
    assert summary["mean_abs_expectation_error"] < 0.5
    job_ids = [j["job_id"] for j in summary["jobs"]]
    assert (run_dir / "transpiled" / "fake_torino" / "circuit.qpy").is_file()

    # a second run fetches the recorded results: same jobs, nothing sent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert submit_hardware.main(["--smoke", "--run-dir", str(tmp_path)]) == 0
    again = json.loads((run_dir / "submit" / "fake_torino" / "summary.json").read_text())
    assert [j["job_id"] for j in again["jobs"]] == job_ids and all(j["attempts"] == 1 for j in again["jobs"])
    assert "sent job" not in capsys.readouterr().out.split("trained in")[-1]

    # qsnn transpile / jobs on the same run
    from qiskit import qpy

    from qsnn_qiskit.cli import main as qsnn

    assert qsnn(["transpile", str(run_dir), "--target", "ring"]) == 0
    folder = run_dir / "transpiled" / "ring"
    assert {p.name for p in folder.iterdir()} == {"circuit.qpy", "circuit.png", "report.md", "report.json"}
    with open(folder / "circuit.qpy", "rb") as f:
        (circuit,) = qpy.load(f)
    report = json.loads((folder / "report.json").read_text())
    assert report["depth"] == circuit.depth() and report["layout"] == circuit.layout.final_index_layout()
    assert qsnn(["jobs", str(run_dir)]) == 0
    assert job_ids[0] in capsys.readouterr().out
    assert qsnn(["transpile", str(run_dir), "--target", "nowhere"]) == 2


def test_target_runtime_options_are_valid_estimator_options() -> None:
    """The options a real backend would get pass qiskit-ibm-runtime's own validation and carry the
    target's values; local testing mode leaves out the ones it cannot apply."""
    from qiskit_ibm_runtime.options import EstimatorOptions

    from qsnn_qiskit.backends.primitives import estimator_options

    spec = load_target("ibm_backend_template").runtime
    options, dropped = estimator_options(spec, 0.01, local=False)
    parsed = EstimatorOptions(**options)
    assert dropped == [] and parsed.default_precision == 0.01
    assert parsed.resilience_level == spec.resilience_level
    assert parsed.dynamical_decoupling.enable is True and parsed.dynamical_decoupling.sequence_type == spec.dd_sequence
    assert parsed.twirling.enable_gates is spec.twirling is True
    local, dropped = estimator_options(spec, 0.01, local=True, seed=3)
    assert set(dropped) == {"resilience_level", "dynamical_decoupling", "twirling"}
    assert EstimatorOptions(**local).simulator.seed_simulator == 3


def test_ring_target_fits_the_ring_ansatz_and_the_line_needs_swaps() -> None:
    ansatz = build_ansatz("reupload", n_qubits=9, blocks=2)
    n_cz = sum(1 for inst in ansatz.circuit.data if inst.operation.num_qubits == 2)
    ring = transpile_report(transpile_for(ansatz, "ring")[0], get_backend("ring"), "ring")
    line = transpile_report(transpile_for(ansatz, "line")[0], get_backend("line"), "line")
    assert ring.two_qubit_gates == n_cz            # a 9-cycle on a 9-cycle: no SWAP
    assert line.two_qubit_gates > n_cz             # the ring's closing edge must be routed
    assert ring.success_probability > line.success_probability


def test_unavailable_aer_device_is_a_clear_error() -> None:
    from qiskit_aer import AerSimulator

    if "GPU" in AerSimulator().available_devices():
        pytest.skip("a GPU is available to Aer here")
    with pytest.raises(ValueError, match="backend.device 'GPU' is not available"):
        transpile_for(build_ansatz("reupload", n_qubits=2, blocks=1), "aer-gpu")
