"""Start-up stays light: `import qsnn_qiskit` and `qsnn --help` load neither torch nor qiskit, no
subcommand's --help and no model on the torch engine loads qiskit-aer, qiskit-ibm-runtime or
qiskit-machine-learning, and building an engine that needs them loads them then."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("qiskit_aer", "qiskit_ibm_runtime", "qiskit_machine_learning")
SLOW = ("torch", "qiskit", *HEAVY)


def _loaded_after(code: str, watched: tuple[str, ...] = HEAVY) -> list[str]:
    """The ``watched`` packages in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_and_top_level_help_load_neither_torch_nor_qiskit() -> None:
    code = ("import contextlib, io, qsnn_qiskit\n"
            "from qsnn_qiskit.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])")
    assert _loaded_after(code, SLOW) == []


def test_subcommand_help_and_a_torch_model_load_no_heavy_qiskit_package() -> None:
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
