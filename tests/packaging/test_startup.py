"""Start-up stays light: importing the package and building the `qsnn` parser (what `qsnn --help`
does) load none of qiskit-aer, qiskit-ibm-runtime and qiskit-machine-learning; building an engine
that needs one loads it then."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("qiskit_aer", "qiskit_ibm_runtime", "qiskit_machine_learning")


def _loaded_after(code: str) -> list[str]:
    """The HEAVY packages in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_and_help_load_no_heavy_qiskit_package() -> None:
    code = ("import contextlib, io, qsnn_qiskit\n"
            "from qsnn_qiskit.cli import build_parser, main\n"
            "parser = build_parser()\n"
            "for argv in (['--help'], *[[name, '--help'] for name in parser._subparsers._group_actions[0].choices]):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        main(argv)\n"
            "from qsnn_qiskit import SQDRCNN\n"
            "import torch\n"
            "SQDRCNN(n_qubits=2, blocks=1, n_classes=2)(torch.zeros(1, 1, 28, 28))")
    assert _loaded_after(code) == []


@pytest.mark.parametrize("engine, loads", [("aer", {"qiskit_aer", "qiskit_machine_learning"})])
def test_an_engine_that_needs_them_loads_them(engine: str, loads: set[str]) -> None:
    code = ("from qsnn_qiskit import QuantumLayer, build_ansatz\n"
            f"QuantumLayer(build_ansatz('reupload', 2, 1), engine={engine!r})")
    assert loads <= set(_loaded_after(code))
