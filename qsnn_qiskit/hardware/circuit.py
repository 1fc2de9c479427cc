"""The circuit of a run, for the hardware commands: first a check that the run has one (not a
classical baseline), read from its config.json alone so that a run without one is refused before
any work or file; then the model's one QuantumLayer, wherever the model keeps it."""
from __future__ import annotations

from pathlib import Path

from torch import nn

from ..circuits import ANSATZE
from ..models import STAND_INS
from ..qnn import QuantumLayer
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


def quantum_layer(model: nn.Module) -> QuantumLayer:
    """The model's one `QuantumLayer`: SQDR-CNN's ``quantum``, or the one inside DSQ-Net's and
    PPF-QSNN's dressed nets; ``ValueError`` if the model holds none or several."""
    layers = [m for m in model.modules() if isinstance(m, QuantumLayer)]
    if len(layers) != 1:
        raise ValueError(f"model {type(model).__name__} holds {len(layers)} quantum layers; the hardware "
                         "commands run models with exactly one circuit")
    return layers[0]
