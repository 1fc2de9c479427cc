"""The wheel ships the whole package, the shipped targets of the top-level transpile/ folder among
it: built from this checkout, listed, installed outside the source tree, and every target loaded
from the installed copy."""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the sources (setuptools writes build/ beside them)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md", "qsnn_qiskit", "transpile"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                          if (ROOT / name).is_dir() else {}))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                           "--no-index", "--quiet", "--wheel-dir", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=out)
    assert done.returncode == 0, done.stderr[-3000:]
    (found,) = out.glob("qsnn_qiskit-*.whl")
    return found


def _source_files() -> set[str]:
    """Paths (as in the wheel) of every module, target and data file the package is made of."""
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "qsnn_qiskit").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    targets = {f"qsnn_qiskit/transpile/{p.name}" for p in (ROOT / "transpile").iterdir()
               if p.suffix in (".toml", ".py") or p.name == "README.md"}
    return package | targets


def test_the_wheel_holds_every_module_and_shipped_target(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_source_files() - names)
    assert not missing, f"not in {wheel.name}: {missing}"
    assert {f"qsnn_qiskit/transpile/{n}.toml" for n in ("fake_torino", "aer-cpu", "ibm_backend_template")} <= names


def test_pyproject_lists_every_package() -> None:
    """setuptools gets an explicit package list (for the transpile/ mapping): a new wing, or a new
    folder of data files, must join it."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = ast.literal_eval(text.split("packages = ", 1)[1].split("]", 1)[0] + "]")
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "qsnn_qiskit").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}   # every folder that holds a file
    assert set(listed) == folders | {"qsnn_qiskit.transpile"}


def test_every_target_loads_from_an_installed_copy(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                           "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = ("import json, qsnn_qiskit\n"
             "from qsnn_qiskit.backends import load_target, target_names\n"
             "names = target_names()\n"
             "loaded = {n: load_target(n).backend.kind for n in names}\n"
             "print(json.dumps({'file': qsnn_qiskit.__file__, 'loaded': loaded}))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(result["file"]).is_relative_to(site), result["file"]   # the installed copy, not this checkout
    shipped = sorted(p.stem for p in (ROOT / "transpile").glob("*.toml"))
    assert sorted(result["loaded"]) == shipped
    assert result["loaded"]["fake_torino"] == "fake" and result["loaded"]["aer-cpu"] == "aer"
