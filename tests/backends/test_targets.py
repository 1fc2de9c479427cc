"""Transpilation targets: shipped names, loading by path, and errors that name the bad key."""
from __future__ import annotations

from pathlib import Path

import pytest

from qsnn_qiskit.backends import Target, load_target, target_names

REQUIRED = ("aer-cpu", "aer-gpu", "fake_torino", "fake_brisbane", "line", "ring", "ibm_backend_template")

GOOD = """
description = "test"
[backend]
kind = "generic"
num_qubits = 5
coupling = "ring"
basis_gates = ["cz", "rz", "sx", "x"]
[transpile]
optimization_level = 1
seed = 3
[runtime]
precision = 0.01
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", REQUIRED)
def test_shipped_targets_load(name: str) -> None:
    assert name in target_names()
    target = load_target(name)
    assert isinstance(target, Target) and target.name == name
    assert not (target.runtime.shots and target.runtime.precision)
    assert 0 < target.runtime.effective_precision <= 1


def test_shipped_backends_are_what_the_issue_names() -> None:
    assert load_target("fake_torino").backend.name == "FakeTorino"
    assert load_target("fake_brisbane").backend.name == "FakeBrisbane"
    assert load_target("aer-gpu").backend.device == "GPU"
    assert load_target("line").backend.coupling == "line"
    assert load_target("ring").backend.coupling == "ring"
    assert load_target("ibm_backend_template").backend.kind == "ibm"


def test_load_by_path(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, GOOD))
    assert target.name == "mine"
    assert target.backend.basis_gates == ("cz", "rz", "sx", "x")
    assert target.transpile.optimization_level == 1 and target.transpile.seed == 3
    assert target.runtime.effective_precision == 0.01
    assert load_target(str(tmp_path / "mine.toml")) == target


@pytest.mark.parametrize("old, new, key", [
    ("optimization_level = 1", "optimisation_level = 1", "transpile.optimisation_level"),
    ("optimization_level = 1", "optimization_level = 7", "transpile.optimization_level"),
    ("optimization_level = 1", "optimization_level = true", "transpile.optimization_level"),
    ("seed = 3", "seed = -1", "transpile.seed"),
    ("seed = 3", "layout_method = \"magic\"", "transpile.layout_method"),
    ("precision = 0.01", "precision = 0.01\nshots = 100", "runtime.shots"),
    ("precision = 0.01", "shots = 0", "runtime.shots"),
    ("precision = 0.01", "precision = 2.0", "runtime.precision"),
    ("precision = 0.01", "twirling = \"yes\"", "runtime.twirling"),
    ("precision = 0.01", "resilience_level = 3", "runtime.resilience_level"),
    ("precision = 0.01", "dd_sequence = \"XYZ\"", "runtime.dd_sequence"),
    ('kind = "generic"', 'kind = "quantum"', "backend.kind"),
    ('coupling = "ring"', 'coupling = "star"', "backend.coupling"),
    ("num_qubits = 5", "num_qubits = 1", "backend.num_qubits"),
    ("num_qubits = 5", "", "backend.num_qubits"),
    ('basis_gates = ["cz", "rz", "sx", "x"]', "basis_gates = []", "backend.basis_gates"),
    ('description = "test"', 'descripton = "test"', "descripton"),
])
def test_bad_key_or_value_is_named(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in GOOD
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        load_target(_write(tmp_path, GOOD.replace(old, new, 1)))


def test_fake_backend_name_is_checked(tmp_path: Path) -> None:
    text = '[backend]\nkind = "fake"\nname = "FakeNowhere"\n'
    with pytest.raises(ValueError, match=r"backend\.name 'FakeNowhere'"):
        load_target(_write(tmp_path, text))


def test_missing_backend_table_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[backend\]"):
        load_target(_write(tmp_path, "[transpile]\nseed = 1\n"))
    with pytest.raises(ValueError, match="not valid TOML"):
        load_target(_write(tmp_path, "[backend\nkind = 1"))


def test_unknown_name_lists_shipped_targets(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fake_torino"):
        load_target("fake_nowhere")
    with pytest.raises(FileNotFoundError):
        load_target(tmp_path / "absent.toml")
    with pytest.raises(TypeError):
        load_target(3)  # type: ignore[arg-type]


def test_targets_are_package_data() -> None:
    """The TOMLs live in the top-level transpile/ folder, which pyproject maps to the package
    qsnn_qiskit.transpile and ships in the wheel (tests/packaging/test_wheel.py builds it)."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"]["qsnn_qiskit.transpile"] == "transpile"
    assert "*.toml" in setuptools["package-data"]["qsnn_qiskit.transpile"]
    shipped = {p.stem for p in (root / "transpile").glob("*.toml")}
    assert set(REQUIRED) <= shipped
