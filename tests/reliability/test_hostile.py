"""Hostile input, property-based (hypothesis): bad command-line values, random TOML configs and
target files, and tensors of every wrong kind. Every case ends in a result or a clear
ValueError/TypeError (exit status 2 on the command line) that names the bad flag, key or shape;
never a traceback from inside a library, a hang, or a file left on disk.

No generated case trains: command lines get only values that must be refused, and TOML configs
are checked by validating their settings, which is what `qsnn train` does before any work.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qsnn_qiskit import SQDRCNN, QuantumLayer
from qsnn_qiskit.backends.targets import BACKEND_KINDS, load_target, target_names
from qsnn_qiskit.circuits import NoiseSpec, build_ansatz
from qsnn_qiskit.cli import main
from qsnn_qiskit.models import PPFQSNN, DSQNet
from qsnn_qiskit.spiking import SpikingConvEncoder, phase_encode
from qsnn_qiskit.training import OPTIMIZERS, SCHEDULES, TrainSettings
from qsnn_qiskit.training.settings import settings_from_toml

from support import TINY_FLAGS

FAST = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
USER_ERRORS = (ValueError, TypeError, FileNotFoundError)
TINY = [*TINY_FLAGS, "--epochs", "1"]
#: text as argv can carry it (no NUL, no lone surrogates)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


def _not_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return True
    return False


def _not_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


def _bad_ints(minimum: int) -> st.SearchStrategy[str]:
    """Integers below ``minimum``, and text that is no integer."""
    return st.integers(max_value=minimum - 1).map(str) | TEXT.filter(_not_int)


def _bad_names(known) -> st.SearchStrategy[str]:
    return (TEXT | st.sampled_from(["ADAM", "adam ", "torch\n", "résumé", "🙂", "../x", "-"])).filter(
        lambda v: v not in known and v.strip() != "")


_BAD_FLOATS = st.sampled_from(["nan", "inf", "-inf", "-1e-3", "0", "-0.0"]) | TEXT.filter(_not_float)


def _bad_noise(text: str) -> bool:
    try:
        NoiseSpec.parse(text)
    except ValueError:
        return True
    return False


#: flag -> values `qsnn train` must refuse
TRAIN_FLAGS = {
    "--epochs": _bad_ints(1), "--batch-size": _bad_ints(1), "--qubits": _bad_ints(1), "--blocks": _bad_ints(1),
    "--limit": _bad_ints(1), "--seed": _bad_ints(0),
    "--lr": _BAD_FLOATS, "--weight-decay": _BAD_FLOATS.filter(lambda v: v not in ("0", "-0.0")),
    "--optimizer": _bad_names(OPTIMIZERS), "--schedule": _bad_names(SCHEDULES),
    "--init": _bad_names(["normal_2pi", "uniform_2pi", "uniform_1", "normal_1"]),
    "--engine": _bad_names(["torch", "aer", "runtime"]), "--model": _bad_names(["sqdrcnn", "dsqnet", "ppfqsnn"]),
    "--device": _bad_names(["cpu"]), "--ansatz": _bad_names(["reupload", "hea", "sqnn"]),
    "--dataset": _bad_names(["default", "mnist", "fashion-mnist", "kmnist"]).filter(
        lambda v: not v.startswith("idx")),
    "--noise-backend": _bad_names([]).filter(lambda v: not v.lower().startswith("fake_")),
    "--noise": TEXT.filter(_bad_noise),
    "--classes": st.sampled_from(["1", "0,0", "0,10", "-1,2", "a,b", "0;1", "1.5,2", ",", "99999999999999999999,1"])
    | TEXT.filter(lambda v: any(not p.strip().isdigit() for p in v.split(",") if p.strip())),
    "--config": st.just("NOWHERE.toml"),
}


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as exit_info:   # argparse refuses a value it cannot convert
        status = exit_info.code
    return status, capsys.readouterr().err


def _refused(status: int, err: str, command: str, names: list[str], folder: Path) -> None:
    assert status == 2, err
    assert f"qsnn {command}: error:" in err
    assert "Traceback" not in err
    assert any(name in err for name in names), (names, err)
    assert not any(folder.iterdir()), "a refused command created files"


@FAST
@given(data=st.data())
def test_train_refuses_bad_flag_values(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture,
                                       data: st.DataObject) -> None:
    flag = data.draw(st.sampled_from(sorted(TRAIN_FLAGS)), label="flag")
    value = data.draw(TRAIN_FLAGS[flag], label="value")
    folder = tmp_path_factory.mktemp("train")
    status, err = _run_cli(["train", *TINY, "--run-dir", str(folder / "run"), f"{flag}={value}"], capsys)
    _refused(status, err, "train", [flag, flag.lstrip("-").replace("-", "_"), flag.lstrip("-"), repr(value)[1:-1]],
             folder)


@FAST
@given(data=st.data())
def test_evaluate_transpile_submit_refuse_bad_values(tmp_path_factory: pytest.TempPathFactory,
                                                     capsys: pytest.CaptureFixture, data: st.DataObject) -> None:
    folder = tmp_path_factory.mktemp("other")
    run = str(folder / "no-run")
    bad_target = _bad_names(target_names()).filter(lambda v: "/" not in v and not v.endswith(".toml"))
    command, flag, value = data.draw(st.one_of(
        st.tuples(st.just("evaluate"), st.just("--batch-size"), _bad_ints(1)),
        st.tuples(st.just("evaluate"), st.just("RUN_DIR"), TEXT.filter(lambda v: v.strip() and not v.startswith("-"))),
        st.tuples(st.just("transpile"), st.just("--target"), bad_target),
        st.tuples(st.just("submit"), st.sampled_from(["--limit", "--chunk-size", "--max-attempts"]), _bad_ints(1)),
        st.tuples(st.just("submit"), st.just("--target"), bad_target),
    ), label="case")
    if flag == "RUN_DIR":
        argv, names = [command, str(folder / value)], ["not a qsnn run directory"]
    else:
        extra = ["--target", "fake_torino"] if command == "submit" and flag != "--target" else []
        argv = [command, run, *extra, f"{flag}={value}"] if command != "evaluate" else [command, run, f"{flag}={value}"]
        names = [flag, flag.lstrip("-").replace("-", "_"), repr(value)[1:-1]]
    status, err = _run_cli(argv, capsys)
    _refused(status, err, command, names, folder)


# ---- TOML configs of `qsnn train --config` ------------------------------------------------------

def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


SETTING_KEYS = sorted(f.replace("_", "-") for f in TrainSettings.__dataclass_fields__) + ["batch_size", "run_dir"]
TOML_SCALARS = (st.integers(-10**20, 10**20) | st.floats() | st.booleans() | TEXT
                | st.sampled_from(["adam", "default", "torch", "cpu", "reupload", "idx:", "nan"]))
TOML_VALUES = st.recursive(TOML_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2), max_leaves=4)

def _check_config(path: Path) -> None:
    try:
        TrainSettings(**settings_from_toml(path)).resolved()
    except USER_ERRORS as err:
        message = str(err)
        assert message and "\n" not in message.strip(), message
        assert str(path) in message or any(key.replace("-", "_") in message or key in message
                                           for key in SETTING_KEYS), message


@FAST
@given(doc=st.dictionaries(st.sampled_from(SETTING_KEYS) | TEXT.filter(bool), TOML_VALUES, max_size=4))
def test_random_toml_configs_give_settings_or_a_clear_error(tmp_path_factory: pytest.TempPathFactory,
                                                            doc: dict) -> None:
    path = tmp_path_factory.mktemp("toml") / "c.toml"
    path.write_text("\n".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc.items()) + "\n", encoding="utf-8")
    _check_config(path)


@FAST
@given(raw=st.binary(max_size=64) | TEXT.map(lambda t: t.encode()))
def test_garbage_config_files_are_refused_naming_the_file(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("garbage") / "c.toml"
    path.write_bytes(raw)
    _check_config(path)


@pytest.mark.parametrize("line", ["dataset = 5", "optimizer = [1]", "model = {a = 1}"])
def test_config_values_of_the_wrong_type_are_named(tmp_path: Path, line: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(line + "\n")
    with pytest.raises(USER_ERRORS) as info:
        TrainSettings(**settings_from_toml(path)).resolved()
    assert line.split()[0] in str(info.value)


# ---- transpilation target files -----------------------------------------------------------------

TARGET_DOCS = st.fixed_dictionaries({
    "backend": st.fixed_dictionaries({}, optional={
        "kind": st.sampled_from([*BACKEND_KINDS, "quantum"]) | TOML_SCALARS,
        "name": st.sampled_from(["fake_torino", "FakeTorino", "ibm_x"]) | TOML_SCALARS,
        "num_qubits": st.integers(-3, 40) | TOML_SCALARS, "coupling": st.sampled_from(["line", "ring", "star"]),
        "basis_gates": st.lists(st.sampled_from(["cz", "rz", "sx", "x", "bogus"]) | TOML_SCALARS, max_size=4),
        "device": st.sampled_from(["CPU", "GPU", "TPU"]), "calibration_seed": TOML_SCALARS,
        "instance": TOML_SCALARS, "colour": TOML_SCALARS}) | TOML_VALUES,
}, optional={
    "transpile": st.fixed_dictionaries({}, optional={
        "optimization_level": st.integers(-1, 5) | TOML_SCALARS, "seed": TOML_SCALARS,
        "layout_method": st.sampled_from(["sabre", "dense", "magic"]), "routing_method": TOML_SCALARS}),
    "runtime": st.fixed_dictionaries({}, optional={
        "shots": st.integers(-5, 10**6) | TOML_SCALARS, "precision": st.floats() | TOML_SCALARS,
        "resilience_level": st.integers(-1, 4), "dynamical_decoupling": TOML_SCALARS,
        "dd_sequence": st.sampled_from(["XX", "XY8"]), "twirling": TOML_SCALARS}),
    "description": TOML_SCALARS, "extra": TOML_VALUES,
})


def _check_target(path: Path) -> None:
    try:
        target = load_target(path)
    except USER_ERRORS as err:
        assert str(path) in str(err), err
    else:
        assert target.path == str(path) and target.backend.kind in BACKEND_KINDS


def _toml_document(doc: dict) -> str:
    top = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    tables = [f"[{json.dumps(k)}]\n" + "\n".join(f"{json.dumps(kk)} = {_toml_value(vv)}" for kk, vv in v.items())
              for k, v in doc.items() if isinstance(v, dict)]
    return "\n".join(top + tables) + "\n"


@FAST
@given(doc=TARGET_DOCS)
def test_random_target_files_load_or_name_the_file_and_key(tmp_path_factory: pytest.TempPathFactory,
                                                           doc: dict) -> None:
    path = tmp_path_factory.mktemp("target") / "mine.toml"
    path.write_text(_toml_document(doc), encoding="utf-8")
    _check_target(path)


@FAST
@given(raw=st.binary(max_size=64))
def test_garbage_target_files_name_the_file(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("target") / "mine.toml"
    path.write_bytes(raw)
    _check_target(path)


# ---- tensors --------------------------------------------------------------------------------------

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8, torch.int64, torch.bool,
          torch.complex64]
FILLS = ["valid", "nan", "inf", "above_1", "negative"]


def _tensor(shape: tuple[int, ...], dtype: torch.dtype, fill: str) -> torch.Tensor:
    x = torch.rand(shape, dtype=torch.float64)
    if x.numel():
        x.view(-1)[0] = {"valid": 0.5, "nan": math.nan, "inf": math.inf, "above_1": 1.5, "negative": -0.5}[fill]
    return x.to(dtype)


def _expect(result_or_error, shape: tuple, dtype: torch.dtype, fill: str, out_shape: tuple | None,
            words: tuple[str, ...]) -> None:
    """A valid input gives an output of ``out_shape``; anything else a ValueError/TypeError that
    names what is expected (one of ``words``)."""
    valid = dtype.is_floating_point and out_shape is not None and (fill == "valid" or 0 in shape)
    if isinstance(result_or_error, Exception):
        assert isinstance(result_or_error, (ValueError, TypeError)), repr(result_or_error)
        assert not valid, f"a valid input was refused: {result_or_error}"
        assert any(w in str(result_or_error) for w in words), str(result_or_error)
    else:
        assert valid, f"an invalid input {shape} {dtype} {fill} gave a result"
        assert tuple(result_or_error.shape) == out_shape
        if result_or_error.numel() and result_or_error.is_floating_point():
            assert torch.isfinite(result_or_error.float()).all()


def _call(fn, x):
    try:
        with torch.no_grad():
            return fn(x)
    except Exception as err:   # judged by _expect: only ValueError/TypeError are allowed
        return err


ANSATZ = build_ansatz("reupload", n_qubits=2, blocks=1)


@pytest.fixture(scope="module")
def layers() -> dict[str, QuantumLayer]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"torch": QuantumLayer(ANSATZ, seed=0), "aer": QuantumLayer(ANSATZ, engine="aer", seed=0)}


@settings(FAST, max_examples=200)
@example(engine="aer", batch=2, width=6, extra_dim=False, dtype=torch.bfloat16, fill="valid")   # was a numpy TypeError
@given(engine=st.sampled_from(["torch", "aer"]), batch=st.integers(0, 3), width=st.integers(0, 8),
       extra_dim=st.booleans(), dtype=st.sampled_from(DTYPES), fill=st.sampled_from(FILLS))
def test_quantum_layer_inputs(layers, engine: str, batch: int, width: int, extra_dim: bool,
                              dtype: torch.dtype, fill: str) -> None:
    shape = (batch, width, 1) if extra_dim else (batch, width)
    fill = "valid" if fill in ("above_1", "negative") else fill   # angles have no range
    x = _tensor(shape, dtype, fill)
    ok_shape = None if extra_dim or width != ANSATZ.n_inputs else (batch, ANSATZ.n_outputs)
    _expect(_call(layers[engine], x), shape, dtype, fill, ok_shape,
            ("(batch, 6)", "length 6", "floating-point", "finite"))


@pytest.fixture(scope="module")
def models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    built = {"sqdrcnn": SQDRCNN(n_qubits=2, blocks=1, n_classes=3), "dsqnet": DSQNet(n_classes=3, hidden=16),
             "ppfqsnn": PPFQSNN(n_classes=3, hidden=16), "encoder": SpikingConvEncoder(n_features=5)}
    return {name: model.eval() for name, model in built.items()}


OUTPUTS = {"sqdrcnn": 3, "dsqnet": 3, "ppfqsnn": 3, "encoder": 5}


@settings(FAST, max_examples=200)
@given(name=st.sampled_from(sorted(OUTPUTS) + ["phase_encode"]), batch=st.integers(0, 2),
       channels=st.sampled_from([1, 1, 1, 2]), side=st.sampled_from([28, 28, 28, 4, 0]),
       ndim=st.sampled_from([4, 4, 4, 3, 5]), dtype=st.sampled_from(DTYPES), fill=st.sampled_from(FILLS),
       train_mode=st.booleans())
def test_model_and_encoder_inputs(models, name: str, batch: int, channels: int, side: int, ndim: int,
                                  dtype: torch.dtype, fill: str, train_mode: bool) -> None:
    shape = (batch, channels, side, side)[:ndim] if ndim <= 4 else (batch, channels, side, side, 1)
    x = _tensor(shape, dtype, fill)
    if name == "phase_encode":
        ok_shape = (10, *shape) if ndim == 4 else None
        result = _call(phase_encode, x)
    else:
        model = models[name].train(train_mode)
        fits = ndim == 4 and channels == 1 and (side == 28 or (name in ("sqdrcnn", "encoder") and side >= 8))
        ok_shape = (batch, OUTPUTS[name]) if fits else None
        result = _call(model, x)
        model.eval()
    _expect(result, shape, dtype, fill, ok_shape,
            ("shape", "floating-point", "[0, 1]", "at least 8x8", "C*H*W"))


def test_empty_batch_backpropagates_to_the_weights(layers) -> None:
    """The documented choice: an empty batch gives an empty output that a loss can still flow through."""
    out = layers["torch"](torch.zeros(0, ANSATZ.n_inputs))
    assert out.shape == (0, ANSATZ.n_outputs)
    out.sum().backward()
    assert layers["torch"].weight.grad is not None and not layers["torch"].weight.grad.any()
