"""The subcommands of `qsnn`: one module each, with ``register(parser)`` (description, arguments,
handler) and ``run(args)``; argparse and printing only, the work is in the wings below.

`COMMANDS` lists them in the order `qsnn --help` shows, with their one-line help, so that the
parser imports only the module of the subcommand being run (`load`): `qsnn --help` loads neither
torch nor qiskit.
"""
from __future__ import annotations

import importlib
from types import ModuleType

#: subcommand -> one-line help, in the order `qsnn --help` lists them; the module has the same name
COMMANDS: dict[str, str] = {
    "demo": "forward + backward pass of SQDR-CNN on random images",
    "train": "train a model into a run directory (or --resume one)",
    "evaluate": "accuracy, per-class accuracy and confusion matrix of a run",
    "robustness": "accuracy of a run on corrupted images, per corruption and intensity",
    "transpile": "transpile a run's circuit for a hardware target; write QPY, PNG, report",
    "submit": "run a trained model's inference on a backend (fake or real IBM)",
    "jobs": "list the hardware jobs that `qsnn submit` sent for a run",
    "bench": "speed benchmark against PennyLane, TorchQuantum, qiskit-ml",
}


def load(name: str) -> ModuleType:
    """The module of subcommand ``name`` (imported now)."""
    return importlib.import_module(f".{name}", __name__)


__all__ = ["COMMANDS", "load"]
