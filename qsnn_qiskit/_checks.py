"""Small checks of user-given values, with errors that name the value and what is allowed."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable

from .errors import NotAnIntegerError


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None,
              optional: bool = False) -> None:
    """`NotAnIntegerError` (a ``TypeError`` and a ``ValueError``) unless ``value`` is an ``int``
    (``bool`` is not; ``None`` passes if ``optional``), ``ValueError`` unless ``minimum <= value <=
    maximum``; both messages name ``name`` and the range allowed."""
    if value is None and optional:
        return
    low = "" if minimum is None else f" >= {minimum}"
    allowed = f" in {minimum}..{maximum}" if minimum is not None and maximum is not None else (
        low or ("" if maximum is None else f" <= {maximum}"))
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotAnIntegerError(f"{name} must be an integer{allowed}{' (or None)' if optional else ''}; got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer{allowed}; got {value!r}")


def check_options(target: Callable[..., Any], options: dict[str, Any], what: str,
                  positional: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` naming ``what`` and its accepted options if ``options`` has others."""
    skip = set(positional) | {"self"}
    allowed = [p for p in inspect.signature(target).parameters if p not in skip]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{what} has no option {', '.join(unknown)}; "
                         f"its options: {', '.join(allowed) or 'none'}")
