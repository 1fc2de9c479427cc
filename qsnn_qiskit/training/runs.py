"""A run's life: start one from settings, resume one from its checkpoint, load a trained one back.

`load_run` rebuilds a run's model on any engine (the weights are the same whatever runs them).
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from torch import nn

from .._atomic import stale_temp_files
from ..data import DataBundle, load_dataset
from ..models import SpikingMLP, build_model
from . import distributed, rundir
from .checkpoints import load_checkpoint
from .settings import MODEL_SETTINGS, TrainSettings, model_config
from .trainer import Trainer


def start_run(settings: TrainSettings, run_dir: str | Path | None = None, command: Sequence[str] = (),
              data: DataBundle | None = None) -> tuple[Trainer, Path]:
    """Validate ``settings``, load the data, build the model and only then create the run directory
    (with its config.json). Returns the trainer and the run directory.

    In a process group every rank calls this; rank 0 chooses and creates the directory."""
    settings = settings.resolved()
    data = data or load_dataset(settings.dataset, settings.data_dir, settings.download, settings.classes,
                                settings.limit, settings.holdout)
    target = distributed.on_main(lambda: rundir.new_run_path(run_dir or settings.run_dir, settings.model))
    config = model_config(settings, data.n_classes)
    for setting, keyword in MODEL_SETTINGS.items():   # record the model defaults that were used
        if getattr(settings, setting) is None and keyword in config:
            setattr(settings, setting, config[keyword])
    settings.run_dir = str(target)
    trainer = Trainer.build(settings, data)
    if settings.pretrained is not None:   # every rank loads it: DDP then starts from equal weights
        trainer.model.load_pretrained(load_spiking_mlp(settings.pretrained))
    distributed.on_main(lambda: rundir.create_run(target, rundir.make_config(
        asdict(settings), config, data, command, world_size=distributed.world_size())))
    return trainer, target


def resume_run(run_dir: str | Path, data: DataBundle | None = None) -> Trainer:
    """Rebuild a run's trainer from its config.json and continue from its last checkpoint.

    In a process group every rank calls this and loads the same checkpoint; rank 0 alone tidies
    and rewrites files. The number of ranks may differ from the run's start: the result does not
    depend on it."""
    run_dir = Path(run_dir)
    config = rundir.read_config(run_dir)
    distributed.on_main(lambda: _remove_stale_checkpoints(run_dir))
    settings = TrainSettings(**config["settings"]).resolved()
    state = load_checkpoint(run_dir / rundir.CHECKPOINT) if (run_dir / rundir.CHECKPOINT).exists() else None
    data = data or load_dataset(settings.dataset, settings.data_dir, settings.download, settings.classes,
                                settings.limit, settings.holdout)
    trainer = Trainer.build(settings, data)
    if state is not None:
        try:
            trainer.load_state(state)
        except (RuntimeError, KeyError, ValueError) as err:
            raise ValueError(f"checkpoint {run_dir / rundir.CHECKPOINT} does not fit the model of "
                             f"{run_dir / rundir.CONFIG} ({str(err).strip().splitlines()[0]}); move it aside and "
                             "run --resume again to retrain from the start, or restore the right file") from None
    distributed.on_main(lambda: rundir.write_metrics(run_dir, trainer.history))
    return trainer


def _remove_stale_checkpoints(run_dir: Path) -> None:
    """Delete checkpoint files left half-written when the run was killed."""
    for stale in stale_temp_files(run_dir / rundir.CHECKPOINT):
        stale.unlink()


def run_dataset(config: dict[str, Any], dataset: str | None = None, data_dir: str | None = None) -> DataBundle:
    """The data a run was trained on, with its class subset, limit and held-out split; ``dataset``
    (read from ``data_dir``) replaces the run's own dataset, keeping the class subset (and no
    held-out split: its own validation split)."""
    settings = config["settings"]
    folder = data_dir if dataset or data_dir else settings["data_dir"]
    return load_dataset(dataset or settings["dataset"], folder, classes=settings["classes"],
                        limit=settings["limit"], holdout=None if dataset else settings.get("holdout"))


def load_run(run_dir: str | Path, checkpoint: str | Path | None = None, **engine_overrides: Any
             ) -> tuple[nn.Module, dict[str, Any]]:
    """The trained model of a run (eval mode, on CPU) and its config.json.

    ``engine_overrides`` replace entries of the stored model config before the model is built, for
    example ``engine="aer"`` or ``engine="aer", method="density_matrix", noise=...`` to evaluate a
    model trained on the fast engine under noise; the weights are the same whatever the engine.
    ``checkpoint`` defaults to the run's ``checkpoints/last.pt``.
    """
    config = rundir.read_config(run_dir)
    path = Path(checkpoint) if checkpoint is not None else Path(run_dir) / rundir.CHECKPOINT
    state = load_checkpoint(path)
    model = build_model(config["model"], **{**config["model_config"], **engine_overrides})
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as err:
        raise ValueError(f"checkpoint {path} does not fit the model of {Path(run_dir) / rundir.CONFIG} "
                         f"({str(err).splitlines()[0]})") from None
    model.eval()
    return model, config


def load_spiking_mlp(path: str | Path) -> SpikingMLP:
    """A trained spiking MLP (DSQ-Net's pretrained part) from a run directory of ``qsnn train --model
    spikingmlp`` or a ``SpikingMLP.save`` file; ``ValueError``/``FileNotFoundError`` naming the path."""
    path = Path(path)
    if not path.is_dir():
        return SpikingMLP.load(path)
    model, config = load_run(path)
    if not isinstance(model, SpikingMLP):
        raise ValueError(f"{path} is a run of model {config['model']!r}, not a spiking MLP; train one with "
                         f"`qsnn train --model spikingmlp` and pass its run directory")
    return model
