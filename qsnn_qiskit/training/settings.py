"""What `qsnn train` takes: `TrainSettings` (flag names = TOML keys = config.json's ``settings``),
its validation, settings from a TOML file, and the model configuration the settings give."""
from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from .._checks import check_int
from .._providers import FAKE_BACKENDS
from .._toml import read_toml
from ..backends.device_noise import DEVICE_PREFIX
from ..circuits import ANSATZE
from ..circuits.builders import ENTANGLERS
from ..circuits.init import INIT_SCHEMES
from ..circuits.noise import NoiseSpec
from ..data.datasets import check_classes, resolve_dataset
from ..data.loaders import AUGMENTATIONS
from ..engines import ENGINES
from ..models import MODELS, STAND_INS, ansatz_choices
from ..models.standins import STAND_IN_ENGINE
from .optim import OPTIMIZER_SCHEDULES, OPTIMIZERS, SCHEDULES


def default_engine() -> str:
    """The fast exact engine when installed (``torch``), else ``aer``."""
    return "torch" if "torch" in ENGINES else "aer"


#: settings that are arguments of the model, and the model keyword each one fills.
MODEL_SETTINGS = {"ansatz": "ansatz", "qubits": "n_qubits", "blocks": "blocks", "timesteps": "T",
                  "init": "init", "head": "head", "engine": "engine"}


@dataclass
class TrainSettings:
    """Everything `qsnn train` takes; the field names are the flag and TOML key names (with - for _).

    ``ansatz``, ``qubits``, ``blocks`` and ``init`` left as None take the model's own defaults;
    ``engine`` None takes ``default_engine()``; ``schedule`` None takes the optimiser's default.
    ``ansatz`` is a circuit (``circuits.ANSATZE``) or, for sqdrcnn, a baseline without one
    (``models.STAND_INS``: classical, none), which runs on the torch engine only and takes no noise.
    ``holdout`` N: train on the training split but its last N images and validate on those (a
    split to tune on; the dataset's validation split stays unseen).
    ``entangler`` (ring or chain; None: the ansatz's default) lays out the circuit's two-qubit gates
    (``ansatz_options={"entangler": ...}`` of the model).
    ``timesteps`` (None: the model's, the paper's T = 10) is the spiking encoder's number of time
    steps T; the last IF layer's rate then has T + 1 levels.
    ``augment`` changes each training batch (``data.loaders.AUGMENTATIONS``): ``flip``, the reference's
    left-right mirror with probability 1/2 (the default); ``shift``, a translation by up to 2
    pixels; ``flip+shift``; ``none``.
    ``pretrained`` (models with a pretrained part: dsqnet) is a run directory of ``--model
    spikingmlp`` or a ``SpikingMLP.save`` file, loaded into the new model before its first epoch.
    """

    model: str = "sqdrcnn"
    dataset: str = "default"
    data_dir: str | None = None
    download: bool = False
    classes: list[int] | None = None
    limit: int | None = None
    holdout: int | None = None
    ansatz: str | None = None
    qubits: int | None = None
    blocks: int | None = None
    timesteps: int | None = None
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-3
    optimizer: str = "adam"
    augment: str = "flip"
    schedule: str | None = None
    init: str | None = None
    head: str | None = None
    entangler: str | None = None
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
        for name in ("epochs", "batch_size", "qubits", "blocks", "limit", "holdout"):
            check_int(_flag(name), getattr(self, name), 1,
                      optional=name in ("qubits", "blocks", "limit", "holdout"))
        check_int(_flag("timesteps"), self.timesteps, 1, MAX_TIMESTEPS, optional=True)
        for name in ("qubits", "blocks"):
            if (getattr(self, name) or 0) > MAX_CIRCUIT_SIZE:
                raise ValueError(f"{_flag(name)} must be <= {MAX_CIRCUIT_SIZE}, more than any quantum computer "
                                 f"has; got {getattr(self, name)}")
        check_int(_flag("seed"), self.seed, 0)
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                raise ValueError(f"{_flag(name)} must be a finite number {'> 0' if name == 'lr' else '>= 0'}; "
                                 f"got {value!r}")
        for name, known in (("model", MODELS), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES),
                            ("init", INIT_SCHEMES), ("engine", ENGINES), ("augment", AUGMENTATIONS),
                            ("ansatz", ansatz_choices(self.model)), ("entangler", ENTANGLERS),
                            ("device", ("cpu", "cuda"))):
            value = getattr(self, name)
            if value is not None and value not in known:
                raise ValueError(f"unknown {_flag(name)} {value!r}; known: {', '.join(known)}")
        self._validate_stand_in()
        self._validate_entangler()
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

    def _validate_stand_in(self) -> None:
        """A baseline without a circuit (``--ansatz classical|none``) takes no other engine and no noise."""
        if self.ansatz not in STAND_INS:
            return
        circuits = ", ".join(ANSATZE)
        if self.engine not in (None, STAND_IN_ENGINE):
            raise ValueError(f"--engine {self.engine}: --ansatz {self.ansatz} has no circuit, so it runs on the "
                             f"{STAND_IN_ENGINE} engine only (give --engine {STAND_IN_ENGINE} or leave it out); "
                             f"other engines need a circuit ansatz: {circuits}")
        for flag, value in (("--noise", self.noise), ("--noise-backend", self.noise_backend)):
            if value is not None:
                raise ValueError(f"{flag} {value}: --ansatz {self.ansatz} has no circuit to put noise on; noisy "
                                 f"training needs a circuit ansatz: {circuits}")

    def _validate_entangler(self) -> None:
        """``entangler`` (a known layout: checked with the other names) is for a model and ansatz that take one."""
        if self.entangler is None:
            return
        if "ansatz_options" not in _model_keywords(self.model):
            raise ValueError(f"model {self.model!r} has no circuit, so no --entangler option")
        ansatz = self.ansatz or inspect.signature(MODELS[self.model]).parameters["ansatz"].default
        if ansatz not in ANSATZE or "entangler" not in inspect.signature(ANSATZE[ansatz].builder).parameters:
            with_one = [name for name, spec in ANSATZE.items()
                        if "entangler" in inspect.signature(spec.builder).parameters]
            raise ValueError(f"--entangler {self.entangler}: --ansatz {ansatz} has no entanglers to lay out; "
                             f"ansatze with them: {', '.join(with_one)}")

    def _validate_noise(self) -> None:
        if self.noise is not None and self.noise_backend is not None:
            raise ValueError("give --noise or --noise-backend, not both")
        if self.noise is not None:
            NoiseSpec.parse(self.noise)
        if self.noise_backend is not None and self.noise_backend.lower() not in FAKE_BACKENDS:
            raise ValueError(f"unknown --noise-backend {self.noise_backend!r}; known: "
                             f"{', '.join(sorted(FAKE_BACKENDS))}")
        if self.noise_backend is not None and self.engine not in (None, "torch"):
            raise ValueError(f"--noise-backend {self.noise_backend} trains on engine torch only (the target's "
                             f"circuit on its physical qubits); got --engine {self.engine}")
        if (self.noise or self.noise_backend) and not _takes_engine_options(self.model):
            raise ValueError(f"model {self.model!r} takes no engine options, so no noise")


#: The setting names: the fields of TrainSettings (flags with - for _, TOML keys, config.json keys).
SETTING_NAMES = frozenset(f.name for f in fields(TrainSettings))


def _takes_engine_options(name: str) -> bool:
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(MODELS[name]).parameters.values())


#: The largest ``qubits`` or ``blocks`` a run takes: a bound against typing errors, not a promise
#: that a circuit this large fits in memory.
MAX_CIRCUIT_SIZE = 1024
#: The largest ``timesteps``: the encoder holds (T * batch, ...) activations at once.
MAX_TIMESTEPS = 1000

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
    # a string: config.json stays JSON; --noise-backend trains under what the target's jobs run
    if settings.entangler is not None:
        config["ansatz_options"] = {"entangler": settings.entangler}
    noise = settings.noise or (settings.noise_backend and DEVICE_PREFIX + settings.noise_backend.lower())
    if noise:
        config["noise"] = noise
    for name, p in params.items():
        if name not in config and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) \
                and p.default is not inspect.Parameter.empty:
            config[name] = p.default
    return config


def parse_classes(text: str | list[int]) -> list[int]:
    """``"0,1,2"`` (or a list from TOML) -> [0, 1, 2]; ``ValueError`` on anything else."""
    if isinstance(text, list):
        return text
    try:
        return [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--classes must be comma-separated labels such as 0,1,2; got {text!r}") from None


def settings_from_toml(path: str | Path) -> dict[str, Any]:
    """Settings from a TOML file, by field name; keys are flag names (``batch-size`` or ``batch_size``).
    ``ValueError`` naming the file and the known keys for an unknown key."""
    raw = read_toml(path, "config file")
    unknown = sorted(k for k in raw if k.replace("-", "_") not in SETTING_NAMES)
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(sorted(s.replace('_', '-') for s in SETTING_NAMES))}")
    settings = {key.replace("-", "_"): value for key, value in raw.items()}
    if "classes" in settings:
        settings["classes"] = parse_classes(settings["classes"])
    return settings
