"""Checking keyword options against the callable that takes them, with an error naming both."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable


def check_options(target: Callable[..., Any], options: dict[str, Any], what: str,
                  positional: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` naming ``what`` and its accepted options if ``options`` has others."""
    skip = set(positional) | {"self"}
    allowed = [p for p in inspect.signature(target).parameters if p not in skip]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{what} has no option {', '.join(unknown)}; "
                         f"its options: {', '.join(allowed) or 'none'}")
