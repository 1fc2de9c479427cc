"""Subcommands of `qsnn`, in the order `--help` lists them. Each module has ``register(sub)``."""
from . import bench, demo, evaluate, jobs, robustness, submit, train, transpile

COMMANDS = [demo, train, evaluate, robustness, transpile, submit, jobs, bench]
