"""Ansätze by name: `build_ansatz("reupload", n_qubits=9, blocks=2)`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .._checks import check_int, check_options
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
    "product": AnsatzSpec(builders.product),   # reupload without entanglers: a baseline
}


def build_ansatz(name: str, n_qubits: int, blocks: int, **options: Any) -> Ansatz:
    """Build a registered ansatz; ``options`` go to its builder (for example ``entangler="chain"``)."""
    if name not in ANSATZE:
        raise ValueError(f"unknown ansatz {name!r}; known: {', '.join(sorted(ANSATZE))}")
    spec = ANSATZE[name]
    check_int(f"n_qubits of ansatz {name!r}", n_qubits, spec.min_qubits)
    check_int(f"blocks of ansatz {name!r}", blocks, spec.min_blocks)
    check_options(spec.builder, options, f"ansatz {name!r}", positional=("n_qubits", "blocks"))
    return spec.builder(n_qubits, blocks, **options)
