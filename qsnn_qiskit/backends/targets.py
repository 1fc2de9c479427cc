"""Transpilation targets: one TOML file each, loaded by name (the files of the top-level
``transpile/`` folder, shipped in the wheel as ``qsnn_qiskit.transpile``) or by path, checked key by
key into a `Target` dataclass. See transpile/README.md."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from .._providers import AER_DEVICES, fake_backend_class
from .._toml import parse_toml, read_toml

#: the package that holds the shipped target files (the top-level transpile/ folder)
TARGETS_PACKAGE = "qsnn_qiskit.transpile"

BACKEND_KINDS = ("fake", "ibm", "aer", "generic")
COUPLINGS = ("line", "ring", "full")
LAYOUT_METHODS = ("default", "trivial", "dense", "sabre")
ROUTING_METHODS = ("default", "none", "basic", "lookahead", "stochastic", "sabre")
DD_SEQUENCES = ("XX", "XpXm", "XY4")


@dataclass(frozen=True)
class BackendSpec:
    """Which backend: a fake snapshot (``name`` a fake_provider class), a real IBM backend (``name``,
    optional ``instance``), an AerSimulator (``device``), or a generic coupling map + basis gates."""

    kind: str
    name: str | None = None
    instance: str | None = None
    device: str = "CPU"
    num_qubits: int | None = None
    coupling: str | None = None
    basis_gates: tuple[str, ...] | None = None
    calibration_seed: int = 0


@dataclass(frozen=True)
class TranspileSpec:
    """Arguments of ``generate_preset_pass_manager``."""

    optimization_level: int = 2
    layout_method: str = "default"
    routing_method: str = "default"
    seed: int | None = None


@dataclass(frozen=True)
class RuntimeSpec:
    """EstimatorV2 options: ``shots`` or ``precision`` (one), resilience, dynamical decoupling, twirling."""

    shots: int | None = None
    precision: float | None = None
    resilience_level: int = 1
    dynamical_decoupling: bool = False
    dd_sequence: str = "XY4"
    twirling: bool = False

    @property
    def effective_precision(self) -> float:
        """Target standard error of each expectation value: ``precision``, or 1/sqrt(shots)."""
        if self.precision is not None:
            return self.precision
        return 1.0 / (self.shots or 4096) ** 0.5


@dataclass(frozen=True)
class Target:
    """A named transpilation and execution target (one TOML file)."""

    name: str
    backend: BackendSpec
    transpile: TranspileSpec = field(default_factory=TranspileSpec)
    runtime: RuntimeSpec = field(default_factory=RuntimeSpec)
    description: str = ""
    path: str | None = None


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"target {where}: {message}")


def _check_type(where: str, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _fail(where, f"{key} must be {what}; got {value!r}")
    if not isinstance(value, kind):
        raise _fail(where, f"{key} must be {what}; got {value!r}")


def _check_choice(where: str, key: str, value: Any, known: tuple[str, ...]) -> None:
    if value not in known:
        raise _fail(where, f"{key} must be one of {', '.join(known)}; got {value!r}")


def _section(where: str, raw: dict[str, Any], name: str, cls: type, required: bool = False) -> dict[str, Any]:
    """The table ``name`` of ``raw``, its keys checked against the fields of ``cls``."""
    if name not in raw:
        if required:
            raise _fail(where, f"missing table [{name}]")
        return {}
    table = raw[name]
    if not isinstance(table, dict):
        raise _fail(where, f"{name} must be a table [{name}]; got {table!r}")
    allowed = [f.name for f in fields(cls)]
    for key in table:
        if key not in allowed:
            raise _fail(where, f"unknown key {name}.{key}; known keys of [{name}]: {', '.join(allowed)}")
    return dict(table)


def _backend(where: str, t: dict[str, Any]) -> BackendSpec:
    if "kind" not in t:
        raise _fail(where, f"missing key backend.kind ({', '.join(BACKEND_KINDS)})")
    _check_choice(where, "backend.kind", t["kind"], BACKEND_KINDS)
    kind = t["kind"]
    needs = {"fake": ("name",), "ibm": ("name",), "aer": (), "generic": ("num_qubits", "coupling", "basis_gates")}
    for key in needs[kind]:
        if key not in t:
            raise _fail(where, f"missing key backend.{key} (needed by kind = {kind!r})")
    for key in ("name", "instance"):
        if key in t:
            _check_type(where, f"backend.{key}", t[key], str, "a string")
    if "device" in t:
        _check_choice(where, "backend.device", t["device"], AER_DEVICES)
    for key, low in (("num_qubits", 2), ("calibration_seed", 0)):
        if key in t:
            _check_type(where, f"backend.{key}", t[key], int, "an integer")
            if t[key] < low:
                raise _fail(where, f"backend.{key} must be >= {low}; got {t[key]!r}")
    if "coupling" in t:
        _check_choice(where, "backend.coupling", t["coupling"], COUPLINGS)
    if "basis_gates" in t:
        gates = t["basis_gates"]
        if not isinstance(gates, list) or not gates or not all(isinstance(g, str) for g in gates):
            raise _fail(where, f"backend.basis_gates must be a non-empty list of gate names; got {gates!r}")
        t["basis_gates"] = tuple(gates)
    if kind == "fake":
        try:
            fake_backend_class(t["name"])
        except ValueError:
            raise _fail(where, f"backend.name {t['name']!r} is not a fake backend of "
                               "qiskit_ibm_runtime.fake_provider (e.g. FakeTorino, FakeBrisbane)") from None
    return BackendSpec(**t)


def _transpile(where: str, t: dict[str, Any]) -> TranspileSpec:
    if "optimization_level" in t:
        _check_type(where, "transpile.optimization_level", t["optimization_level"], int, "an integer 0..3")
        if not 0 <= t["optimization_level"] <= 3:
            raise _fail(where, f"transpile.optimization_level must be 0..3; got {t['optimization_level']!r}")
    if "layout_method" in t:
        _check_choice(where, "transpile.layout_method", t["layout_method"], LAYOUT_METHODS)
    if "routing_method" in t:
        _check_choice(where, "transpile.routing_method", t["routing_method"], ROUTING_METHODS)
    if "seed" in t:
        _check_type(where, "transpile.seed", t["seed"], int, "an integer >= 0")
        if t["seed"] < 0:
            raise _fail(where, f"transpile.seed must be an integer >= 0; got {t['seed']!r}")
    return TranspileSpec(**t)


def _runtime(where: str, t: dict[str, Any]) -> RuntimeSpec:
    if "shots" in t and "precision" in t:
        raise _fail(where, "runtime.shots and runtime.precision are exclusive; give one of them")
    if "shots" in t:
        _check_type(where, "runtime.shots", t["shots"], int, "an integer >= 1")
        if t["shots"] < 1:
            raise _fail(where, f"runtime.shots must be an integer >= 1; got {t['shots']!r}")
    if "precision" in t:
        _check_type(where, "runtime.precision", t["precision"], (int, float), "a number in (0, 1]")
        if not 0 < t["precision"] <= 1:
            raise _fail(where, f"runtime.precision must be a number in (0, 1]; got {t['precision']!r}")
        t["precision"] = float(t["precision"])
    if "resilience_level" in t:
        _check_type(where, "runtime.resilience_level", t["resilience_level"], int, "an integer 0..2")
        if not 0 <= t["resilience_level"] <= 2:
            raise _fail(where, f"runtime.resilience_level must be 0..2; got {t['resilience_level']!r}")
    for key in ("dynamical_decoupling", "twirling"):
        if key in t:
            _check_type(where, f"runtime.{key}", t[key], bool, "true or false")
    if "dd_sequence" in t:
        _check_choice(where, "runtime.dd_sequence", t["dd_sequence"], DD_SEQUENCES)
    return RuntimeSpec(**t)


def parse_target(raw: dict[str, Any], name: str, path: str | None = None) -> Target:
    """A `Target` from the parsed TOML ``raw``; ``ValueError`` naming the first bad key."""
    where = repr(path or name)
    allowed = ("description", "backend", "transpile", "runtime")
    for key in raw:
        if key not in allowed:
            raise _fail(where, f"unknown key {key!r}; known top-level keys: {', '.join(allowed)}")
    description = raw.get("description", "")
    _check_type(where, "description", description, str, "a string")
    return Target(
        name=name,
        backend=_backend(where, _section(where, raw, "backend", BackendSpec, required=True)),
        transpile=_transpile(where, _section(where, raw, "transpile", TranspileSpec)),
        runtime=_runtime(where, _section(where, raw, "runtime", RuntimeSpec)),
        description=description,
        path=path,
    )


def _shipped() -> Any:
    return resources.files(TARGETS_PACKAGE)


def target_names() -> list[str]:
    """Names of the targets shipped with the package."""
    return sorted(p.name[:-5] for p in _shipped().iterdir() if p.name.endswith(".toml"))


def load_target(target: str | Path | Target) -> Target:
    """A target by shipped name (``"fake_torino"``), by path to a TOML file, or as given.

    Raises ``ValueError`` for an unknown name, a file that is not valid TOML, or a bad key or value
    (the message names the key); ``FileNotFoundError`` for a path that does not exist.
    """
    if isinstance(target, Target):
        return target
    if not isinstance(target, (str, Path)):
        raise TypeError(f"target must be a name, a path or a Target; got {type(target).__name__}")
    text_path = str(target)
    is_path = isinstance(target, Path) or text_path.endswith(".toml") or "/" in text_path or "\\" in text_path
    if is_path:
        shown = str(target)
        raw = read_toml(target, "target file")
        name = Path(target).stem
    else:
        resource = _shipped() / f"{text_path}.toml"
        if not resource.is_file():
            raise ValueError(f"unknown target {text_path!r}; shipped targets: {', '.join(target_names())} "
                             "(or pass the path of a .toml file)")
        name, shown = text_path, f"{text_path}.toml"
        raw = parse_toml(resource.read_text(encoding="utf-8"), f"target {shown!r}")
    return parse_target(raw, name, shown)
