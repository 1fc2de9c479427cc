"""`qsnn train`: train a model into a run directory, or continue one with --resume."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..circuits import ANSATZE
from ..circuits.builders import ENTANGLERS
from ..circuits.init import INIT_SCHEMES
from ..circuits.noise import NoiseSpec
from ..data import DATASETS
from ..data.loaders import AUGMENTATIONS, MAX_SHIFT
from ..models import MODELS, STAND_INS, count_trainable
from ..training import (OPTIMIZERS, SCHEDULES, TrainSettings, default_engine, distributed, resume_run, rundir,
                        start_run)
from ..training.launch import DEFAULT_PROCESSES, DEFAULT_THREADS, launch, set_threads
from ..training.settings import SETTING_NAMES, parse_classes, settings_from_toml

_DEFAULTS = TrainSettings()
_CHOICES = "; ".join(f"{key}={'|'.join(values)}" for key, values in NoiseSpec.CHOICES.items())
_NOISE_HELP = (
    "train under noise: a preset, and/or comma-separated KEY=VALUE pairs (after a preset, they override "
    f"it). 'paper': {NoiseSpec.paper().describe()}. 'reference' (the reference code's noise): "
    f"{NoiseSpec.reference().describe()}. Keys: the probabilities {', '.join(NoiseSpec.PROBABILITIES)}; "
    f"{_CHOICES}; {', '.join(NoiseSpec.FLAGS)}=true|false. E.g. bit_flip=0.02,depolarizing=0.03,"
    f"amplitude_damping=0.02: {NoiseSpec.parse('bit_flip=0.02,depolarizing=0.03,amplitude_damping=0.02').describe()}. "
    "The torch engine runs every spec exactly; aer refuses damping=input (so 'reference'), runtime any --noise")


def _classes_arg(text: str) -> list[int]:
    try:
        return parse_classes(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = ("Train a hybrid spiking-quantum model. Every epoch writes an atomic checkpoint, a "
                     "row of metrics.csv and TensorBoard scalars into the run directory; at the end the "
                     "loss/accuracy curves and the validation confusion matrix are saved as PNG. Settings "
                     "come from the flags, then a --config TOML file (keys are the flag names), then the "
                     "defaults. With no flags it trains SQDR-CNN 2b-9q on the embedded MNIST subset. Under "
                     "torchrun (torchrun --nproc_per_node N -m qsnn_qiskit.cli train ...) it trains "
                     "data-parallel, --batch-size being the global batch, with the result of one process; "
                     "rank 0 alone writes the run directory.")
    p.argument_default = argparse.SUPPRESS
    d = _DEFAULTS
    p.add_argument("--model", help=f"model: {', '.join(MODELS)} (default {d.model})")
    p.add_argument("--dataset", help=f"dataset: {', '.join(n for n in DATASETS if n != 'idx')}, idx (a folder of "
                                     f"IDX files given by --data-dir) or idx:PATH (default {d.dataset}: "
                                     "3,000 MNIST digits shipped in the package, split 80/20)")
    p.add_argument("--data-dir", help="where torchvision datasets live (default ./data), or the IDX folder")
    p.add_argument("--download", action="store_true", help="download a torchvision dataset if missing (network)")
    p.add_argument("--classes", type=_classes_arg, help="keep only these labels, e.g. 0,1,2,3,4; they become 0..k-1")
    p.add_argument("--limit", type=int, help="use at most N training images (and N/4 validation images)")
    p.add_argument("--holdout", type=int, metavar="N",
                   help="validate on the last N images of the training split and train on the rest: a split to "
                        "tune on, so the dataset's validation split stays unseen until the figure you report")
    p.add_argument("--ansatz", help=f"circuit: {', '.join(ANSATZE)} (product: reupload without entanglers); or, "
                                    "for sqdrcnn, a baseline without a circuit, keeping the encoder and head "
                                    "(torch engine only, no noise): "
                                    + "; ".join(f"{name}, {s.summary}" for name, s in STAND_INS.items())
                                    + " (default: the model's, reupload)")
    p.add_argument("--qubits", type=int, help="number of qubits (default: the model's, 9)")
    p.add_argument("--blocks", type=int, help="re-upload blocks / layers (default: the model's, 2)")
    p.add_argument("--timesteps", type=int, metavar="T",
                   help="time steps T of the spiking layers (default: the model's, 10, the paper's); the last "
                        "IF layer's rate has T + 1 levels, and a step costs about T times one image")
    p.add_argument("--epochs", type=int, help=f"training epochs (default {d.epochs})")
    p.add_argument("--batch-size", type=int, help=f"images per batch, over all processes under torchrun (default {d.batch_size})")
    p.add_argument("--lr", type=float, help=f"learning rate (peak rate for onecycle; default {d.lr})")
    p.add_argument("--weight-decay", type=float, help=f"weight decay (default {d.weight_decay})")
    p.add_argument("--optimizer", help=f"{', '.join(OPTIMIZERS)} (default {d.optimizer}, betas 0.9/0.999)")
    p.add_argument("--schedule", help=f"learning-rate schedule, stepped per batch: {', '.join(SCHEDULES)} "
                                      "(default constant; restarts for sgdr)")
    p.add_argument("--augment", help=f"what changes each training batch: {', '.join(AUGMENTATIONS)} (default "
                                     f"{d.augment}, the reference's: each image mirrored left-right with "
                                     f"probability 1/2; shift: translated by up to {MAX_SHIFT} pixels each way)")
    p.add_argument("--init", help=f"circuit weight initialisation: {', '.join(INIT_SCHEMES)} (default: the "
                                  "model's, normal_2pi; the baselines classical and none have no circuit weights "
                                  "and ignore it)")
    p.add_argument("--head", help="sqdrcnn: post-processing after the circuit: linear (default, a Linear "
                                  "layer) or none (the first n_classes <Z_j> are the logits; needs qubits >= "
                                  "classes), the paper's Figure 4 ablation")
    p.add_argument("--entangler", help=f"layout of the circuit's two-qubit gates: {' or '.join(ENTANGLERS)} "
                                       "(default ring: qubit i with i + 1 and the last with the first; chain "
                                       "drops that last one); reupload, hea and sqnn")
    p.add_argument("--engine", help=f"where the circuit runs (default {default_engine()} here)")
    p.add_argument("--noise", help=_NOISE_HELP)
    p.add_argument("--noise-backend", metavar="NAME",
                   help="train under the noise a fake IBM backend's jobs see (e.g. fake_torino): the circuit "
                        "`qsnn submit --target NAME` runs (light cones packed when they embed without SWAPs, "
                        "else the routed circuit), on the physical qubits it runs on, with the calibrated gate, "
                        "relaxation and readout errors there; engine torch only")
    p.add_argument("--pretrained", metavar="PATH", help="dsqnet: its frozen spiking part, from a run directory "
                                                         "of `qsnn train --model spikingmlp` (train that first, "
                                                         "on the same classes) or a SpikingMLP.save file")
    p.add_argument("--device", help=f"torch device: cpu or cuda (default {d.device})")
    p.add_argument("--seed", type=int, help=f"seed of initialisation, shuffling and flips (default {d.seed})")
    p.add_argument("--run-dir", help="new run directory (default runs/<model>-<date>-<time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint; "
                                                        "takes no other settings")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file of settings, keys as the flag names "
                                                         "(e.g. batch-size = 32); flags override it")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (per-epoch lines only)")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help="torch threads per process (default: one per core, shared out among --processes; "
                        "measured fastest on an idle 2-core machine, benchmarks/results/training_speed.md). "
                        "Use 1 when another job shares the cores: a second thread then slows a step down "
                        "several times")
    p.add_argument("--processes", type=int, default=DEFAULT_PROCESSES,
                   help=f"data-parallel processes on this machine, started through torchrun (default "
                        f"{DEFAULT_PROCESSES}); --batch-size stays the global batch and the result that of one "
                        "process. Each epoch line prints the training images/s to compare")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    given = {k: v for k, v in vars(args).items() if k in SETTING_NAMES}
    settings: TrainSettings | None = None
    if getattr(args, "resume", None):
        if given or getattr(args, "config", None):
            extra = sorted("--" + k.replace("_", "-") for k in given) + (["--config"] if getattr(args, "config", None) else [])
            raise ValueError(f"--resume continues a run with its stored settings; drop {', '.join(extra)}")
    else:
        toml = settings_from_toml(args.config) if getattr(args, "config", None) else {}
        settings = TrainSettings(**{**toml, **given})
    if args.processes == 1 and distributed.requested_world_size() == 1:
        return _train(args, settings)
    # a bad setting fails here: once, before torchrun starts (--processes), or on every rank before
    # any joins the group (under torchrun)
    checked = (settings or TrainSettings(**rundir.read_config(args.resume)["settings"])).resolved()
    distributed.check_device(checked.device)
    if args.processes != 1:
        return launch(args.argv, args.processes, args.threads)
    with distributed.process_group(checked.device):
        return _train(args, settings)


def _train(args: argparse.Namespace, settings: TrainSettings | None) -> int:
    """Start a run from ``settings`` (or resume ``args.resume`` when None) and train it; only rank 0
    of a torchrun process group prints."""
    say = distributed.main_only(print)
    if settings is None:
        trainer = resume_run(args.resume)
        run_dir = Path(args.resume)
        say(f"resuming {run_dir} after epoch {len(trainer.history)} of {trainer.settings.epochs}")
    else:
        trainer, run_dir = start_run(settings, command=["qsnn", *sys.argv[1:]])
        say(f"run directory {run_dir}")
    s, data = trainer.settings, trainer.data
    processes = f" x {distributed.world_size()} processes" if distributed.is_distributed() else ""
    say(f"{s.model}: {count_trainable(trainer.model)} trainable parameters, engine {s.engine}, device "
        f"{s.device}{processes}; {data.name}: {len(data.train)} training / {len(data.val)} validation images, "
        f"{data.n_classes} classes")
    final = trainer.fit(run_dir, progress=not getattr(args, "no_progress", False))
    say(f"final validation accuracy {100 * final.accuracy:.2f}% ({len(trainer.history)} epochs); "
        f"run directory {run_dir}")
    return 0
