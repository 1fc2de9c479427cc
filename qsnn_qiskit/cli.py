"""The `qsnn` command. Each subcommand lives in `qsnn_qiskit.commands.<name>` with
``register(parser)``; this module only assembles them (importing just the one being run) and turns
errors into messages.

Exit status: 0 success, 1 the system refused (disk full, permissions, a network fetch failed),
2 a bad value or file given by the user, 130 interrupted. None of them prints a traceback.
"""
from __future__ import annotations

import argparse
import errno
import sys
import threading
from typing import Sequence

from . import commands
from .errors import WriteError

#: errno values of a full, over-quota, read-only or forbidden file system
_STORAGE_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of ``qsnn``. Every subcommand is listed with its one-line help; the arguments are
    registered (and the module imported) for the subcommand ``argv`` names, or for all of them when
    ``argv`` is None."""
    parser = argparse.ArgumentParser(
        prog="qsnn", description="Hybrid spiking-quantum neural networks on Qiskit.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    for name, help_line in commands.COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_line)
        if chosen is None or name == chosen:
            commands.load(name).register(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``qsnn``; returns the exit status (2 for a user error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    args.argv = argv   # what was asked, for a command that starts itself again (qsnn train --processes)
    previous_hook = threading.excepthook
    threading.excepthook = _quiet_storage_errors
    try:
        return int(args.handler(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"qsnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"qsnn {args.command}: error: {_system_error(err, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"qsnn {args.command}: interrupted; files written before are intact: run the same command "
              "again to continue (`qsnn train --resume RUN_DIR` for a training run)", file=sys.stderr)
        return 130
    finally:
        threading.excepthook = previous_hook


def _quiet_storage_errors(hook_args: threading.ExceptHookArgs) -> None:
    """A background writer's (TensorBoard's) disk error is re-raised in the main thread and reported
    there in one paragraph; print no traceback for it here."""
    if not (isinstance(hook_args.exc_value, OSError) and hook_args.exc_value.errno in _STORAGE_ERRORS):
        sys.__excepthook__(hook_args.exc_type, hook_args.exc_value, hook_args.exc_traceback)


def _system_error(err: OSError, args: argparse.Namespace) -> str:
    """One paragraph: what failed, the system's reason, and for a failed write what was kept and
    what to run next (for `qsnn train`, the exact resume command)."""
    from .training.rundir import find_run_dir, resume_advice

    write = _write_error_in(err)
    code = errno.errorcode.get(err.errno or 0, "")
    if write is not None:
        what, run_dir = str(write), find_run_dir(write.filename)
    elif err.errno in _STORAGE_ERRORS:   # e.g. TensorBoard's event writer, whose errors name no file
        what = f"could not write {err.filename or 'to the run directory'}: {err.strerror} ({code})"
        given = getattr(args, "resume", None) or getattr(args, "run_dir", None)
        run_dir = find_run_dir(given) if given else None
    else:
        return f"{err.filename}: {err.strerror} ({code})" if err.filename and code else str(err)
    if args.command != "train":
        return f"{what}. Files written before are intact; free space or fix the permissions, then run the same command again"
    if run_dir is None:
        return (f"{what}. Checkpoints of finished epochs are intact; free space or fix the permissions, then "
                "continue with: qsnn train --resume RUN_DIR (the run directory printed above)")
    return f"{what}. {resume_advice(run_dir)}"


def _write_error_in(err: BaseException) -> WriteError | None:
    """The ``WriteError`` that ``err`` is or that it replaced (an error in a ``finally`` block hides
    the one being raised, e.g. a writer closed while a checkpoint write fails)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, WriteError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
