"""The Trainer: a run being trained (model, optimiser, schedule, loaders built from validated
settings), its per-epoch atomic checkpoints, metrics (CSV + TensorBoard), progress and final plots.

Under ``torchrun`` (a process group of more than one rank, see ``distributed``) the same loop is
data-parallel: every rank draws the same global batches, trains on its shard of each through
DistributedDataParallel with batch statistics synchronised across ranks, and reports global
figures; only rank 0 prints and writes. The result is that of one process with the same settings.
"""
from __future__ import annotations

import inspect
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .._atomic import write_error
from .._memory import resident_mib
from ..data import BatchLoader, DataBundle, Split
from ..models import build_model
from . import distributed, rundir
from .checkpoints import capture_rng, restore_rng, save_checkpoint
from .loops import EvalResult, evaluate, train_epoch, train_epoch_sharded
from .optim import OPTIMIZERS, SCHEDULES, Optimizer, Scheduler
from .settings import TrainSettings, model_config
from .sync_batchnorm import convert_batchnorm


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's global generators."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)
    random.seed(seed)


@dataclass
class Trainer:
    """A run being trained: model, optimiser, schedule and loaders built from validated settings.

    Inside a process group of more than one rank, ``model`` has its BatchNorm2d layers
    synchronised across ranks and ``net`` is it wrapped in DistributedDataParallel; otherwise
    ``net`` is ``model``. ``model`` is what checkpoints hold (no DDP ``module.`` prefix).
    """

    settings: TrainSettings
    data: DataBundle
    model: nn.Module
    optimizer: Optimizer
    scheduler: Scheduler | None
    train_loader: BatchLoader
    val_loader: BatchLoader
    history: list[dict[str, float]] = field(default_factory=list)
    net: nn.Module | None = None

    def __post_init__(self) -> None:
        if self.net is None:
            self.net = self.model

    @property
    def device(self) -> str:
        """Where this process computes: ``settings.device``, or ``cuda:LOCAL_RANK`` under torchrun."""
        return distributed.rank_device(self.settings.device)

    @classmethod
    def build(cls, settings: TrainSettings, data: DataBundle) -> "Trainer":
        seed_everything(settings.seed)
        model = build_model(settings.model, **model_config(settings, data.n_classes))
        sharded = distributed.is_distributed()
        if sharded:
            model = convert_batchnorm(model)
        device = distributed.rank_device(settings.device)
        model = model.to(device)
        optimizer = OPTIMIZERS[settings.optimizer](model.parameters(), settings.lr, settings.weight_decay)
        generator = torch.Generator().manual_seed(settings.seed)
        train_loader = BatchLoader(data.train, settings.batch_size, shuffle=True, augment=settings.augment,
                                   generator=generator)
        val_loader = BatchLoader(data.val, max(settings.batch_size, 64))
        scheduler = SCHEDULES[settings.schedule](optimizer, settings.lr, len(train_loader), settings.epochs)
        net = _data_parallel(model, device) if sharded else model
        return cls(settings, data, model, optimizer, scheduler, train_loader, val_loader, net=net)

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimiser, schedule, RNGs, history."""
        return {
            "epoch": len(self.history),
            "model_name": self.settings.model,
            "model_config": model_config(self.settings, self.data.n_classes),
            "settings": asdict(self.settings),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": {**capture_rng(), "loader": self.train_loader.generator.get_state()},
            "history": self.history,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (as ``state()`` made it)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        restore_rng(state["rng"])
        self.train_loader.generator.set_state(state["rng"]["loader"])
        self.history = [dict(row) for row in state["history"]]

    def fit(self, run_dir: Path, progress: bool = True, max_seconds: float | None = None,
            log: Callable[[str], None] = print) -> EvalResult:
        """Train the remaining epochs, checkpointing and logging each; then plot. Returns the final
        validation result. ``max_seconds`` stops before an epoch that would end past the budget.

        In a process group every rank calls this; rank 0 alone logs, shows progress and writes
        (the others wait for each write), and all return the same global result.
        """
        s = self.settings
        sharded, main = distributed.is_distributed(), distributed.is_main()
        progress = progress and main
        say = distributed.main_only(log)
        start_epoch = len(self.history)
        writer = _tensorboard(run_dir, start_epoch) if main else None
        started = time.perf_counter()
        final: EvalResult | None = None
        run_epoch = train_epoch_sharded if sharded else train_epoch
        try:
            for epoch in range(start_epoch + 1, s.epochs + 1):
                elapsed = time.perf_counter() - started
                done = epoch - 1 - start_epoch
                over = max_seconds is not None and done and elapsed / done * (done + 1) > max_seconds
                if distributed.from_main(over):   # rank 0's clock decides for all
                    say(f"stopping after epoch {epoch - 1}: the next epoch would pass the {max_seconds:.0f} s budget")
                    break
                t0 = time.perf_counter()
                lr = self.optimizer.param_groups[0]["lr"]
                desc = f"epoch {epoch}/{s.epochs}"
                train_loss, train_acc = run_epoch(self.net, self.train_loader, self.optimizer, self.scheduler,
                                                  self.device, progress, desc)
                train_seconds = time.perf_counter() - t0
                val = evaluate(self.model, self.val_loader, self.data.n_classes, self.device, progress,
                               f"{desc} validation", sharded=sharded)
                rss, peak = resident_mib() or (math.nan, math.nan)
                row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val.loss,
                       "val_acc": val.accuracy, "lr": lr, "seconds": time.perf_counter() - t0,
                       "train_images_per_s": len(self.data.train) / train_seconds,
                       "rss_mib": rss, "peak_rss_mib": peak}
                self.history.append(row)
                final = val
                distributed.on_main(lambda: self._record(run_dir, row, writer))
                say(f"epoch {epoch}/{s.epochs}: train loss {train_loss:.4f} acc {100 * train_acc:.2f}%  "
                    f"val loss {val.loss:.4f} acc {100 * val.accuracy:.2f}%  ({row['seconds']:.1f} s, "
                    f"{row['train_images_per_s']:.0f} images/s)")
        finally:
            if writer is not None:
                writer.close()
        if final is None:   # nothing left to train: evaluate the checkpointed model for the plots
            final = evaluate(self.model, self.val_loader, self.data.n_classes, self.device, sharded=sharded)
        distributed.on_main(lambda: self._plot(run_dir, final))
        return final

    def _record(self, run_dir: Path, row: dict[str, float], writer: Any) -> None:
        """Write the epoch just finished: checkpoint, metrics.csv, TensorBoard scalars."""
        save_checkpoint(run_dir / rundir.CHECKPOINT, self.state())
        rundir.write_metrics(run_dir, self.history)
        try:
            for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
                writer.add_scalar(key.replace("_", "/", 1), row[key], row["epoch"])   # train/loss, val/acc, lr
            writer.flush()
        except OSError as err:
            raise write_error(err, run_dir / rundir.TENSORBOARD_DIR) from None

    def _plot(self, run_dir: Path, final: EvalResult) -> None:
        from .plots import plot_confusion, plot_curves

        plot_curves(self.history, run_dir / rundir.CURVES_PLOT)
        plot_confusion(final.confusion, self.data.class_names, run_dir / rundir.CONFUSION_PLOT)


def estimate_epoch_seconds(settings: TrainSettings, data: DataBundle, steps: int = 40) -> float:
    """Seconds one epoch of ``settings`` (resolved) on ``data`` takes here: a few training steps
    timed on a throwaway model (after as many for warm-up), scaled to one epoch, plus 10% for the
    validation pass (a forward of a quarter as many images)."""
    trainer = Trainer.build(settings, data)
    n = steps * settings.batch_size
    probe = BatchLoader(Split(data.train.images[:n], data.train.labels[:n]), settings.batch_size)
    train_epoch(trainer.model, probe, trainer.optimizer, None, settings.device)   # warm-up
    start = time.perf_counter()
    train_epoch(trainer.model, probe, trainer.optimizer, None, settings.device)
    per_batch = (time.perf_counter() - start) / len(probe)
    return per_batch * len(trainer.train_loader) * 1.1


def _tensorboard(run_dir: Path, start_epoch: int) -> Any:
    """A TensorBoard writer into the run directory that drops events after ``start_epoch``."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(run_dir / rundir.TENSORBOARD_DIR), purge_step=start_epoch + 1)


def _data_parallel(model: nn.Module, device: str) -> nn.Module:
    """``model`` in DistributedDataParallel, one device per rank, without DDP's broadcast of
    buffers before every forward: snntorch neurons keep the last membrane as a buffer shaped like
    the rank's own shard (broadcasting rank 0's would scramble the coalesced buffers), and
    ``SyncBatchNorm2d`` already gives every rank the same running statistics."""
    from torch.nn.parallel import DistributedDataParallel

    index = torch.device(device).index
    no_sync = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(
        DistributedDataParallel).parameters else "broadcast_buffers"   # renamed in torch 2.14
    return DistributedDataParallel(model, device_ids=None if index is None else [index], **{no_sync: False})
