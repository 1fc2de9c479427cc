"""Speed benchmark of qsnn-qiskit against the anchor stacks; the same as `qsnn bench`.

usage: python benchmarks/bench_speed.py [--quick] [--out benchmarks/results] [--sections ...]
"""
import argparse
import sys

from qsnn_qiskit.commands import bench

PROG = "python benchmarks/bench_speed.py"

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    bench.add_arguments(parser)
    args = parser.parse_args()
    try:
        sys.exit(bench.run(args, prog=PROG))
    except (ValueError, TypeError, FileNotFoundError) as err:
        parser.error(str(err))
