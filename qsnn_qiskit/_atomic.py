"""Writing files so that a crash leaves the old file or the new one, never a partial one."""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Callable

from .errors import WriteError

_TMP_SUFFIX = ".tmp"


def stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Temporary files ``atomic_write(path, ...)`` left beside ``path`` when its process was killed."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*{_TMP_SUFFIX}"))


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, fsync it, and rename it into place.

    The temporary file is ``.<name>.<random>.tmp`` in the same folder. The file gets the usual
    permissions (0666 less the umask), not mkstemp's 0600. On any error the temporary file is
    removed and ``path`` is left as it was; an ``OSError`` becomes a ``WriteError`` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    except OSError as err:
        raise write_error(err, path) from None
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise write_error(err, path) from None
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """``atomic_write`` of UTF-8 text, newlines as given."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


def write_error(err: OSError, path: str | os.PathLike) -> WriteError:
    """``err`` (from writing ``path``) as a ``WriteError`` naming ``path``."""
    return WriteError(err.errno or errno.EIO, err.strerror or str(err), str(path))


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
