"""Training and evaluation: settings, optimisers and schedules by name, the epoch loop with
per-epoch atomic checkpoints, metrics (CSV + TensorBoard), progress bars and final plots.

Under ``torchrun`` (a process group of more than one rank, see ``distributed``) the same loop is
data-parallel: every rank draws the same global batches, trains on its shard of each through
DistributedDataParallel with batch statistics synchronised across ranks, and reports global
figures; only rank 0 prints and writes. The result is that of one process with the same settings.
"""
from __future__ import annotations

import inspect
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from . import distributed, runs
from ._atomic import stale_temp_files, write_error
from .checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from .circuits.registry import ANSATZE
from .data import BatchLoader, DataBundle, check_classes, load_dataset, resolve_dataset
from .engines import ENGINES
from .init import INIT_SCHEMES
from .models import MODELS, build_model
from .noise import FAKE_BACKENDS, NoiseSpec
from .sync_batchnorm import convert_batchnorm, placeholder_batch

Optimizer = torch.optim.Optimizer
Scheduler = torch.optim.lr_scheduler.LRScheduler


def default_engine() -> str:
    """The fast exact engine when installed (``torch``), else ``aer``."""
    return "torch" if "torch" in ENGINES else "aer"


#: name -> (params, lr, weight_decay) -> optimiser. Betas and momentum are PyTorch's defaults
#: (Adam/AdamW betas (0.9, 0.999); SGD without momentum), as the paper's Table 5 comparison.
OPTIMIZERS: dict[str, Callable[[Any, float, float], Optimizer]] = {
    "adam": lambda p, lr, wd: torch.optim.Adam(p, lr=lr, weight_decay=wd, betas=(0.9, 0.999)),
    "adamw": lambda p, lr, wd: torch.optim.AdamW(p, lr=lr, weight_decay=wd, betas=(0.9, 0.999)),
    "sgd": lambda p, lr, wd: torch.optim.SGD(p, lr=lr, weight_decay=wd),
    "sgdr": lambda p, lr, wd: torch.optim.SGD(p, lr=lr, weight_decay=wd),
    "adagrad": lambda p, lr, wd: torch.optim.Adagrad(p, lr=lr, weight_decay=wd),
}

#: The schedule an optimiser gets when ``schedule`` is not given: SGDR is SGD with warm restarts.
OPTIMIZER_SCHEDULES = {"sgdr": "restarts"}


def _restarts(opt: Optimizer, lr: float, steps_per_epoch: int, epochs: int) -> Scheduler:
    return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=steps_per_epoch, T_mult=2)


#: name -> (optimiser, lr, steps_per_epoch, epochs) -> scheduler stepped after every batch, or None.
SCHEDULES: dict[str, Callable[[Optimizer, float, int, int], Scheduler | None]] = {
    "constant": lambda opt, lr, spe, epochs: None,
    # cosine decay from lr to 0 over the whole run
    "cosine": lambda opt, lr, spe, epochs: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=spe * epochs),
    # one cycle: warm up to lr over 30% of the run, then anneal to lr / 1e4
    "onecycle": lambda opt, lr, spe, epochs: torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=spe * epochs),
    # cosine with warm restarts after 1, 3, 7, 15 ... epochs (SGDR)
    "restarts": _restarts,
}

#: settings that are arguments of the model, and the model keyword each one fills.
MODEL_SETTINGS = {"ansatz": "ansatz", "qubits": "n_qubits", "blocks": "blocks", "init": "init",
                  "head": "head", "engine": "engine"}


@dataclass
class TrainSettings:
    """Everything `qsnn train` takes; the field names are the flag and TOML key names (with - for _).

    ``ansatz``, ``qubits``, ``blocks`` and ``init`` left as None take the model's own defaults;
    ``engine`` None takes ``default_engine()``; ``schedule`` None takes the optimiser's default.
    ``pretrained`` (models with a pretrained part: dsqnet) is a run directory of ``--model
    spikingmlp`` or a ``SpikingMLP.save`` file, loaded into the new model before its first epoch.
    """

    model: str = "sqdrcnn"
    dataset: str = "default"
    data_dir: str | None = None
    download: bool = False
    classes: list[int] | None = None
    limit: int | None = None
    ansatz: str | None = None
    qubits: int | None = None
    blocks: int | None = None
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-3
    optimizer: str = "adam"
    schedule: str | None = None
    init: str | None = None
    head: str | None = None
    engine: str | None = None
    noise: str | None = None
    noise_backend: str | None = None
    pretrained: str | None = None
    device: str = "cpu"
    seed: int = 20200626
    run_dir: str | None = None

    def resolved(self) -> "TrainSettings":
        """A validated copy with ``engine`` and ``schedule`` filled in (with their defaults, which are
        always valid); ``ValueError``/``TypeError`` on a bad value."""
        self.validate()
        s = TrainSettings(**asdict(self))
        s.engine = s.engine or default_engine()
        s.schedule = s.schedule or OPTIMIZER_SCHEDULES.get(s.optimizer, "constant")
        return s

    def validate(self) -> None:
        """Raise ``ValueError``/``TypeError`` naming the first bad setting and what is allowed:
        first any value of the wrong type (by the field's annotation), then bad values."""
        for f in fields(self):   # before anything below reads a value of the wrong type
            _check_type(f.name, getattr(self, f.name), f.type)
        for name in ("epochs", "batch_size", "qubits", "blocks", "limit"):
            _check_int(name, getattr(self, name), minimum=1, optional=name in ("qubits", "blocks", "limit"))
        for name in ("qubits", "blocks"):
            if (getattr(self, name) or 0) > MAX_CIRCUIT_SIZE:
                raise ValueError(f"{_flag(name)} must be <= {MAX_CIRCUIT_SIZE}, more than any quantum computer "
                                 f"has; got {getattr(self, name)}")
        _check_int("seed", self.seed, minimum=0)
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                raise ValueError(f"{_flag(name)} must be a finite number {'> 0' if name == 'lr' else '>= 0'}; "
                                 f"got {value!r}")
        for name, known in (("model", MODELS), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES),
                            ("init", INIT_SCHEMES), ("engine", ENGINES), ("ansatz", ANSATZE),
                            ("device", ("cpu", "cuda"))):
            value = getattr(self, name)
            if value is not None and value not in known:
                raise ValueError(f"unknown {_flag(name)} {value!r}; known: {', '.join(known)}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available here; use --device cpu")
        resolve_dataset(self.dataset, self.data_dir)
        check_classes(self.classes)
        self._validate_noise()
        accepted = _model_keywords(self.model)
        if self.pretrained is not None and "pretrained" not in accepted:
            raise ValueError(f"--pretrained: only models with a pretrained part take it "
                             f"({', '.join(m for m in MODELS if 'pretrained' in _model_keywords(m))}); got "
                             f"{self.pretrained!r} for model {self.model!r}")
        for setting, keyword in MODEL_SETTINGS.items():
            if getattr(self, setting) is not None and setting != "engine" and keyword not in accepted:
                raise ValueError(f"model {self.model!r} has no {_flag(setting)} option")


    def _validate_noise(self) -> None:
        if self.noise is not None and self.noise_backend is not None:
            raise ValueError("give --noise or --noise-backend, not both")
        if self.noise is not None:
            NoiseSpec.parse(self.noise)
        if self.noise_backend is not None and self.noise_backend.lower() not in FAKE_BACKENDS:
            raise ValueError(f"unknown --noise-backend {self.noise_backend!r}; known: "
                             f"{', '.join(sorted(FAKE_BACKENDS))}")
        if (self.noise or self.noise_backend) and not _takes_engine_options(self.model):
            raise ValueError(f"model {self.model!r} takes no engine options, so no noise")


def _takes_engine_options(name: str) -> bool:
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(MODELS[name]).parameters.values())


#: The largest ``qubits`` or ``blocks`` a run takes: a bound against typing errors, not a promise
#: that a circuit this large fits in memory.
MAX_CIRCUIT_SIZE = 1024

#: Annotation (as a string) of a TrainSettings field -> the Python types it takes, and in words.
_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "str": ((str,), "a string"), "int": ((int,), "an integer"), "float": ((int, float), "a number"),
    "bool": ((bool,), "true or false"), "list[int]": ((list,), "a list of integers"),
}


def _check_type(name: str, value: Any, annotation: str) -> None:
    """``TypeError`` naming the setting unless ``value`` fits its field's ``annotation`` (e.g. ``int | None``)."""
    kinds = [k.strip() for k in annotation.split("|")]
    if value is None and "None" in kinds:
        return
    wanted = [_FIELD_TYPES[k] for k in kinds if k != "None"]
    for types, _ in wanted:
        is_bool = isinstance(value, bool)
        if isinstance(value, types) and is_bool == (bool in types) and (
                types != (list,) or all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            return
    words = " or ".join(w for _, w in wanted) + (" (or left out)" if "None" in kinds else "")
    raise TypeError(f"{_flag(name)} must be {words}; got {value!r}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_int(name: str, value: Any, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if value < minimum:   # an int: validate checked the field types first
        raise ValueError(f"{_flag(name)} must be an integer >= {minimum}; got {value!r}")


def _model_keywords(name: str) -> set[str]:
    params = inspect.signature(MODELS[name]).parameters
    return {p for p, v in params.items() if v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)}


def model_config(settings: TrainSettings, n_classes: int) -> dict[str, Any]:
    """The model's full keyword configuration (every argument, defaults filled in) for ``build_model``."""
    cls = MODELS[settings.model]
    params = inspect.signature(cls).parameters
    given: dict[str, Any] = {"n_classes": n_classes, "seed": settings.seed, "in_channels": 1}
    for setting, keyword in MODEL_SETTINGS.items():
        if getattr(settings, setting) is not None:
            given[keyword] = getattr(settings, setting)
    config = {k: v for k, v in given.items() if k in params}
    noise = settings.noise or settings.noise_backend   # a string: config.json stays JSON
    if noise:
        config["noise"] = noise
    for name, p in params.items():
        if name not in config and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) \
                and p.default is not inspect.Parameter.empty:
            config[name] = p.default
    return config


@dataclass
class EvalResult:
    """Mean cross-entropy, accuracy in [0, 1] and confusion matrix (true class, predicted class)."""

    loss: float
    accuracy: float
    confusion: np.ndarray

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """Recall of each class, (n_classes,); NaN for a class with no samples."""
        totals = self.confusion.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / totals


@torch.no_grad()
def evaluate(model: nn.Module, loader: BatchLoader, n_classes: int, device: str = "cpu",
             progress: bool = False, desc: str = "evaluate", sharded: bool = False) -> EvalResult:
    """Loss, accuracy and confusion matrix of ``model`` (in eval mode) over ``loader``.

    ``sharded`` (every rank of a process group calls it): each rank evaluates its shard of every
    batch and all get the figures of the whole loader.
    """
    model.eval()
    confusion = torch.zeros(n_classes, n_classes, dtype=torch.int64)
    total_loss = 0.0
    for images, labels in tqdm(loader, desc=desc, leave=False, disable=not progress, file=sys.stderr):
        if sharded:
            part = distributed.shard(len(labels))
            images, labels = images[part], labels[part]
            if not len(labels):
                continue
        logits = model(images.to(device)).cpu()
        total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        confusion += torch.bincount(labels * n_classes + logits.argmax(1), minlength=n_classes ** 2
                                    ).view(n_classes, n_classes)
    if sharded:
        total_loss = float(distributed.all_reduce_sum(torch.tensor([total_loss], dtype=torch.float64)))
        confusion = distributed.all_reduce_sum(confusion)
    confusion_np = confusion.numpy()
    count = int(confusion_np.sum())
    return EvalResult(total_loss / count, float(np.trace(confusion_np)) / count, confusion_np)


def train_epoch(model: nn.Module, loader: BatchLoader, optimizer: Optimizer, scheduler: Scheduler | None,
                device: str = "cpu", progress: bool = False, desc: str = "train") -> tuple[float, float]:
    """One pass over ``loader``; returns (mean loss, accuracy in [0, 1]) over the pass."""
    model.train()
    total_loss, correct, count = 0.0, 0, 0
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress, file=sys.stderr)
    for images, labels in bar:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        logits = model(images)
        loss = nn.functional.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        count += len(labels)
        bar.set_postfix(loss=f"{total_loss / count:.4f}", acc=f"{correct / count:.3f}")
    return total_loss / count, correct / count


def _train_epoch_sharded(model: nn.Module, loader: BatchLoader, optimizer: Optimizer,
                         scheduler: Scheduler | None, device: str = "cpu", progress: bool = False,
                         desc: str = "train") -> tuple[float, float]:
    """``train_epoch`` of a data-parallel run: every rank calls it with the same ``loader`` (so all
    draw the same global batches) and a DistributedDataParallel ``model``; returns the global
    (mean loss, accuracy in [0, 1]) over the pass.

    A rank's loss is the sum of its samples' losses * world size / global batch size, so DDP's
    mean over ranks is the gradient of the global batch's mean loss, even for a last batch that
    does not split evenly. A rank whose shard is empty runs the batch's first sample as a
    placeholder with weight 0, to take part in every collective without changing the result.
    """
    model.train()
    world = distributed.world_size()
    totals = torch.zeros(3, dtype=torch.float64)   # this rank's summed loss, correct, count
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress, file=sys.stderr)
    for images, labels in bar:
        n_global = len(labels)
        part = distributed.shard(n_global)
        placeholder = part.start == part.stop
        if placeholder:
            part = slice(0, 1)
        images, labels = images[part].to(device), labels[part].to(device)
        optimizer.zero_grad()
        with placeholder_batch(model, placeholder):
            logits = model(images)
        loss_sum = nn.functional.cross_entropy(logits, labels, reduction="sum")
        (loss_sum * (0.0 if placeholder else world / n_global)).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if not placeholder:
            totals += torch.tensor([loss_sum.item(), int((logits.argmax(1) == labels).sum()), len(labels)],
                                   dtype=torch.float64)
    loss_total, correct, count = distributed.all_reduce_sum(totals).tolist()
    return loss_total / count, correct / count


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
        train_loader = BatchLoader(data.train, settings.batch_size, shuffle=True, flip=True, generator=generator)
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
        run_epoch = _train_epoch_sharded if sharded else train_epoch
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
                val = evaluate(self.model, self.val_loader, self.data.n_classes, self.device, progress,
                               f"{desc} validation", sharded=sharded)
                row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val.loss,
                       "val_acc": val.accuracy, "lr": lr, "seconds": time.perf_counter() - t0}
                self.history.append(row)
                final = val
                distributed.on_main(lambda: self._record(run_dir, row, writer))
                say(f"epoch {epoch}/{s.epochs}: train loss {train_loss:.4f} acc {100 * train_acc:.2f}%  "
                    f"val loss {val.loss:.4f} acc {100 * val.accuracy:.2f}%  ({row['seconds']:.1f} s)")
        finally:
            if writer is not None:
                writer.close()
        if final is None:   # nothing left to train: evaluate the checkpointed model for the plots
            final = evaluate(self.model, self.val_loader, self.data.n_classes, self.device, sharded=sharded)
        distributed.on_main(lambda: self._plot(run_dir, final))
        return final

    def _record(self, run_dir: Path, row: dict[str, float], writer: Any) -> None:
        """Write the epoch just finished: checkpoint, metrics.csv, TensorBoard scalars."""
        save_checkpoint(run_dir / runs.CHECKPOINT, self.state())
        runs.write_metrics(run_dir, self.history)
        try:
            for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
                writer.add_scalar(key.replace("_", "/", 1), row[key], row["epoch"])   # train/loss, val/acc, lr
            writer.flush()
        except OSError as err:
            raise write_error(err, run_dir / runs.TENSORBOARD_DIR) from None

    def _plot(self, run_dir: Path, final: EvalResult) -> None:
        from .plots import plot_confusion, plot_curves

        plot_curves(self.history, run_dir / runs.CURVES_PLOT)
        plot_confusion(final.confusion, self.data.class_names, run_dir / runs.CONFUSION_PLOT)


def _tensorboard(run_dir: Path, start_epoch: int) -> Any:
    """A TensorBoard writer into the run directory that drops events after ``start_epoch``."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(run_dir / runs.TENSORBOARD_DIR), purge_step=start_epoch + 1)


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


def start_run(settings: TrainSettings, run_dir: str | Path | None = None, command: Sequence[str] = (),
              data: DataBundle | None = None) -> tuple[Trainer, Path]:
    """Validate ``settings``, load the data, build the model and only then create the run directory
    (with its config.json). Returns the trainer and the run directory.

    In a process group every rank calls this; rank 0 chooses and creates the directory."""
    settings = settings.resolved()
    data = data or load_dataset(settings.dataset, settings.data_dir, settings.download, settings.classes,
                                settings.limit)
    target = distributed.on_main(lambda: runs.new_run_path(run_dir or settings.run_dir, settings.model))
    config = model_config(settings, data.n_classes)
    for setting, keyword in MODEL_SETTINGS.items():   # record the model defaults that were used
        if getattr(settings, setting) is None and keyword in config:
            setattr(settings, setting, config[keyword])
    settings.run_dir = str(target)
    trainer = Trainer.build(settings, data)
    if settings.pretrained is not None:   # every rank loads it: DDP then starts from equal weights
        trainer.model.load_pretrained(runs.load_spiking_mlp(settings.pretrained))
    distributed.on_main(lambda: runs.create_run(target, runs.make_config(
        settings, config, data, command, world_size=distributed.world_size())))
    return trainer, target


def resume_run(run_dir: str | Path, data: DataBundle | None = None) -> Trainer:
    """Rebuild a run's trainer from its config.json and continue from its last checkpoint.

    In a process group every rank calls this and loads the same checkpoint; rank 0 alone tidies
    and rewrites files. The number of ranks may differ from the run's start: the result does not
    depend on it."""
    run_dir = Path(run_dir)
    config = runs.read_config(run_dir)
    distributed.on_main(lambda: _remove_stale_checkpoints(run_dir))
    settings = TrainSettings(**config["settings"]).resolved()
    state = load_checkpoint(run_dir / runs.CHECKPOINT) if (run_dir / runs.CHECKPOINT).exists() else None
    data = data or load_dataset(settings.dataset, settings.data_dir, settings.download, settings.classes,
                                settings.limit)
    trainer = Trainer.build(settings, data)
    if state is not None:
        try:
            trainer.load_state(state)
        except (RuntimeError, KeyError, ValueError) as err:
            raise ValueError(f"checkpoint {run_dir / runs.CHECKPOINT} does not fit the model of "
                             f"{run_dir / runs.CONFIG} ({str(err).strip().splitlines()[0]}); move it aside and "
                             "run --resume again to retrain from the start, or restore the right file") from None
    distributed.on_main(lambda: runs.write_metrics(run_dir, trainer.history))
    return trainer


def _remove_stale_checkpoints(run_dir: Path) -> None:
    """Delete checkpoint files left half-written when the run was killed."""
    for stale in stale_temp_files(run_dir / runs.CHECKPOINT):
        stale.unlink()


__all__ = ["EvalResult", "OPTIMIZERS", "SCHEDULES", "TrainSettings", "Trainer", "default_engine", "evaluate",
           "model_config", "resume_run", "start_run", "train_epoch"]
