"""Reading TOML files (targets, `qsnn train --config`), with errors that name the file."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:   # pragma: no cover
    import tomli as tomllib


def parse_toml(text: str, shown: str) -> dict[str, Any]:
    """The TOML document ``text``; ``ValueError`` naming ``shown`` (its file) if it is not valid TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{shown} is not valid TOML ({err})") from None


def read_toml(path: str | Path, what: str = "file") -> dict[str, Any]:
    """The TOML file at ``path``: ``FileNotFoundError`` if it is missing, ``ValueError`` naming it
    (as ``what`` PATH) if it is not UTF-8 text or not valid TOML."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} {path} is not UTF-8 text, so not TOML ({err.reason} at byte "
                         f"{err.start})") from None
    return parse_toml(text, f"{what} {path}")
