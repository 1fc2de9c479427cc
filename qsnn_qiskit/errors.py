"""The package's own exceptions: what a caller may catch by name.

Bad values given by the user are plain ``ValueError``/``TypeError`` (the ``qsnn`` command turns them
into exit status 2); these classes mark the failures that need their own handling.
"""
from __future__ import annotations

import errno


class WriteError(OSError):
    """Writing ``filename`` failed (disk full, permission, read-only file system, ...); the file
    holds what it held before. ``errno``/``strerror`` are the operating system's."""

    def __str__(self) -> str:
        code = errno.errorcode.get(self.errno or 0, "")
        reason = f"{self.strerror} ({code})" if code else str(self.strerror)
        return f"could not write {self.filename}: {reason}; {self.filename} was left as it was"


class CredentialsError(ValueError):
    """No usable IBM Quantum account; the message says how to save one (never shows a token)."""


class NotAnIntegerError(TypeError, ValueError):
    """A value that must be an integer is not one (a float, a string, a bool, ...). It is both a
    ``TypeError`` and a ``ValueError``: callers of either kind of check catch it."""


class JobFetchError(ConnectionError):
    """A job that was sent could not be fetched (network, service); its record is kept, so running
    the same command again fetches it instead of sending it again."""


__all__ = ["CredentialsError", "JobFetchError", "NotAnIntegerError", "WriteError"]
