"""`qsnn bench --quick`: the whole pipeline on tiny sizes writes its three files with every key."""
from __future__ import annotations

import json

import pytest

from qsnn_qiskit.analysis.anchors import run_anchor
from qsnn_qiskit.analysis.bench import SECTIONS
from qsnn_qiskit.cli import main

#: stand-ins for the anchor scripts: each prints what the real one prints, with a known rate
_FAKE = 'import sys; print(f"anchor {sys.argv[1:]} bs=4: fwd 0.100s bwd 0.300s -> 10.0 samples/s")\n'
_SCRIPTS = ("pennylane_reference_pqc.py", "torchquantum_reference_pqc.py", "qiskit_ml_default_pqc.py")


@pytest.fixture
def anchor_packages_present(monkeypatch):
    """The stand-in scripts import nothing, so the anchors' packages need not be installed."""
    monkeypatch.setattr("qsnn_qiskit.analysis.anchors.find_spec", lambda name: object())


def _run(tmp_path, *flags: str) -> dict:
    out = tmp_path / "results"
    assert main(["bench", "--quick", "--out", str(out), *flags]) == 0
    assert {p.name for p in out.iterdir()} == {"speed.json", "speed.md", "speed.png"}
    assert (out / "speed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "speed.json").read_text())
    md = (out / "speed.md").read_text()
    assert results["machine"]["cpu"] in md and results["command"] in md
    return results


def test_quick_aer_section_with_anchor_stand_ins(tmp_path, anchor_packages_present):
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    for name in _SCRIPTS:
        (anchors / name).write_text(_FAKE)
    results = _run(tmp_path, "--sections", "aer", "--anchors", str(anchors))
    aer = results["aer"]
    assert aer["ours"]["samples_per_s"] > 0
    for key in ("qiskit_ml_default", "qiskit_ml_aer"):
        assert aer["anchors"][key]["samples_per_s"] == pytest.approx(4 / 0.4)   # parsed from fwd/bwd
        assert aer["ratios"][key] == pytest.approx(aer["ours"]["samples_per_s"] / 10.0)
    assert "noiseless" not in results and results["command"].startswith("qsnn bench")


def test_quick_noisy_deep_section_runs_the_mixed_anchor_on_reupload_only(tmp_path, anchor_packages_present):
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "pennylane_reference_pqc.py").write_text(_FAKE)
    results = _run(tmp_path, "--sections", "noisy_deep", "--anchors", str(anchors))
    rows = results["noisy_deep"]["rows"]
    for r in rows:
        anchor = r["anchors"]["pennylane_mixed"]
        assert ("samples_per_s" in anchor) == (r["ansatz"] == "reupload")
    md = (tmp_path / "results" / "speed.md").read_text()
    assert "Noisy deep and entangling circuits" in md and "hea 1b-3q" in md


def test_quick_all_sections_without_anchors(tmp_path):
    results = _run(tmp_path, "--no-anchors")
    for name in SECTIONS:
        assert name in results
    for name in ("noiseless", "noisy", "aer"):
        assert results[name]["ours"]["samples_per_s"] > 0
        assert all("skipped" in a for a in results[name]["anchors"].values())
        assert all(r is None for r in results[name]["ratios"].values())
    for kind in ("noiseless", "noisy"):
        rows = results["sweep"][kind]
        assert [r["qubits"] for r in rows] == list(results["sizes"][f"sweep_{kind}"])
        assert all(r["samples_per_s"] > 0 and r["peak_bytes_per_sample"] is not None for r in rows)
    deep = results["noisy_deep"]["rows"]
    assert [(r["ansatz"], r["qubits"], r["blocks"]) for r in deep] == [tuple(c) for c in results["sizes"]["deep"]]
    assert all(r["ours"]["samples_per_s"] > 0 and r["ours"]["peak_bytes_per_sample"] is not None for r in deep)
    assert all("skipped" in r["anchors"]["pennylane_mixed"] and r["ratios"]["pennylane_mixed"] is None
               for r in deep)
    training = results["training"]
    assert {(r["noise"], r["device"]) for r in training["rows"]} >= {("none", "cpu"), ("bit_flip=0.02", "cpu")}
    assert all(r["images_per_s"] > 0 for r in training["rows"])
    assert all("skipped" in a for a in training["anchors"]) and training["ratios"] == []


@pytest.mark.parametrize("flags,message", [
    (["--sections", "aer,warp"], "unknown benchmark section(s) warp"),
    (["--sections", "aer", "--anchors", "/nonexistent/anchors"], "does not exist"),
    (["--sections", "aer", "--threads", "0"], "threads must be an integer >= 1"),
])
def test_bad_input_is_an_error_before_any_work(tmp_path, capsys, flags, message):
    out = tmp_path / "results"
    assert main(["bench", "--quick", "--out", str(out), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_anchor_whose_package_is_missing_is_skipped_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr("qsnn_qiskit.analysis.anchors.find_spec", lambda name: None)
    (tmp_path / "a.py").write_text(_FAKE)
    result = run_anchor(tmp_path, "a.py", [], "pennylane", batch=4, threads=1, timeout_s=10)
    assert result == {"skipped": "pennylane is not installed (pip install 'qsnn-qiskit[bench]')"}


_FAKE_REFERENCE = ('import sys; n, b, bs, noisy = sys.argv[1:5]; '
                   'print(f"reference sqdrcnn n={n} b={b} bs={bs}: {0.5 if noisy == \'0\' else 50.0:.3f}s per step '
                   '-> 0.0 images/s")\n')


def test_quick_training_section_against_a_reference_stand_in(tmp_path, anchor_packages_present):
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "reference_sqdrcnn_step.py").write_text(_FAKE_REFERENCE)
    results = _run(tmp_path, "--sections", "training", "--anchors", str(anchors))
    training = results["training"]
    by_noise = {a["noisy"]: a for a in training["anchors"]}
    # the rate comes from the printed step time (the printed images/s is rounded): batch 1 / 0.5 s
    assert by_noise[False]["samples_per_s"] == pytest.approx(2.0) and by_noise[True]["samples_per_s"] == pytest.approx(0.02)
    rows = {r["noise"]: r for r in training["rows"]}
    ratios = {r["noise"]: r["ratio"] for r in training["ratios"]}
    assert ratios["none"] == pytest.approx(rows["none"]["images_per_s"] / 2.0)
    assert ratios["bit_flip=0.02"] == pytest.approx(rows["bit_flip=0.02"]["images_per_s"] / 0.02)
    md = (tmp_path / "results" / "speed.md").read_text()
    assert "## SQDR-CNN training step" in md and "ours / reference" in md
