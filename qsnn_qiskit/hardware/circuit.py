"""The hardware commands' first check: the run has a circuit (not a classical baseline), read from
its config.json alone, so that a run without one is refused before any work or file."""
from __future__ import annotations

from pathlib import Path

from ..circuits import ANSATZE
from ..models import STAND_INS
from ..training.rundir import read_config


def require_circuit(run_dir: str | Path, command: str) -> None:
    """``ValueError`` naming the run's ansatz (or model) and the circuit ansätze allowed, unless the
    run's model has a circuit that ``command`` (e.g. ``"qsnn transpile"``) can put on a backend."""
    config = read_config(run_dir)
    ansatz = config["model_config"].get("ansatz")
    if ansatz in ANSATZE:
        return
    what = (f"was trained with --ansatz {ansatz}, which has no circuit ({STAND_INS[ansatz].summary})"
            if ansatz in STAND_INS else f"is a run of model {config['model']!r}, which has no circuit")
    raise ValueError(f"{run_dir} {what}, so {command} has nothing to put on a backend; it takes runs whose "
                     f"--ansatz is a circuit: {', '.join(ANSATZE)}")
