"""Ansätze by name: `build_ansatz("reupload", n_qubits=9, blocks=2)`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .._options import check_options
from . import builders
from .ansatz import Ansatz


@dataclass(frozen=True)
class AnsatzSpec:
    """A registered builder and the smallest circuit it makes."""

    builder: Callable[..., Ansatz]
    min_qubits: int = 1
    min_blocks: int = 1


ANSATZE: dict[str, AnsatzSpec] = {
    "reupload": AnsatzSpec(builders.reupload),
    "hea": AnsatzSpec(builders.hea),
    "sqnn": AnsatzSpec(builders.sqnn),
}


def _check_count(what: str, value: Any, minimum: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"ansatz {name!r} needs {what} >= {minimum}; got {value}")


def build_ansatz(name: str, n_qubits: int, blocks: int, **options: Any) -> Ansatz:
    """Build a registered ansatz; ``options`` go to its builder (for example ``entangler="chain"``)."""
    if name not in ANSATZE:
        raise ValueError(f"unknown ansatz {name!r}; known: {', '.join(sorted(ANSATZE))}")
    spec = ANSATZE[name]
    _check_count("n_qubits", n_qubits, spec.min_qubits, name)
    _check_count("blocks", blocks, spec.min_blocks, name)
    check_options(spec.builder, options, f"ansatz {name!r}", positional=("n_qubits", "blocks"))
    return spec.builder(n_qubits, blocks, **options)
