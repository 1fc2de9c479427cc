"""Subcommands of `qsnn`, in the order `--help` lists them. Each module has ``register(sub)``."""
from . import demo

COMMANDS = [demo]
