"""benchmarks/gpu_check.sh on a machine without a CUDA GPU: a dry run that says what it would do
and checks what it can (the CUDA tests are collected, the benchmark plan exists)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from support import ROOT

SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is here: the script would run for real")
def test_without_a_gpu_the_check_is_a_dry_run_that_passes():
    done = _run()
    assert done.returncode == 0, done.stderr
    assert "no CUDA GPU here" in done.stdout and "dry run" in done.stdout
    for step in ("pip install --no-index --no-deps", "pytest -q -rs", "bench --plan gpu"):
        assert step in done.stdout
    assert "tests collected" in done.stdout


def test_a_bad_flag_is_refused_with_the_usage():
    done = _run("--fast")
    assert done.returncode == 2 and "usage: bash benchmarks/gpu_check.sh" in done.stderr
