"""Training: settings (flags = TOML keys = config.json), optimisers and schedules, the epoch loops,
the Trainer, run directories and checkpoints, data-parallel training, plots."""
from .loops import EvalResult, evaluate, train_epoch
from .optim import OPTIMIZERS, SCHEDULES
from .runs import load_run, load_spiking_mlp, resume_run, run_dataset, start_run
from .settings import TrainSettings, default_engine, model_config
from .trainer import Trainer, estimate_epoch_seconds, seed_everything

__all__ = ["EvalResult", "OPTIMIZERS", "SCHEDULES", "TrainSettings", "Trainer", "default_engine",
           "estimate_epoch_seconds", "evaluate", "load_run", "load_spiking_mlp", "model_config", "resume_run",
           "run_dataset", "seed_everything", "start_run", "train_epoch"]
