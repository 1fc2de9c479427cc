#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, Python 3.12 and CUDA torch already installed and
# no network, install qsnn-qiskit from wheels carried beside the checkout, run the CUDA tests and the
# training + PQC benchmarks on cuda, and write benchmarks/results/gpu/ (speed.json, speed.md,
# tests.txt). Everything runs under one 8-minute budget.
#
#   bash benchmarks/gpu_check.sh --fetch     # HERE, with the package registry: fill .whl/ (about 25 MB)
#   bash benchmarks/gpu_check.sh             # THERE: the check (a dry run where no CUDA GPU is found)
#   bash benchmarks/gpu_check.sh --dry-run   # anywhere: say what it would do, and check that it can
#
# Fetching: `pip download --no-deps --only-binary=:all: --python-version 3.12` of the pinned packages
# below (what that machine lacks: the torch, numpy, scipy, matplotlib, tensorboard, tqdm and pytest
# it has are left alone) and our own wheel (`pip wheel --no-deps .`), into .whl/ (git-ignore it:
# `echo /.whl/ >> .git/info/exclude`). Aer's GPU build is not carried (over 64 MB): the torch
# engine is the GPU path checked here, and Aer's GPU test skips itself.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
WHEELS=${QSNN_WHEELS:-.whl}
SITE=${QSNN_SITE:-/tmp/qsnn-site}
RESULTS=${QSNN_GPU_RESULTS:-$PWD/benchmarks/results/gpu}
BUDGET_S=${QSNN_GPU_BUDGET_S:-480}
# what the GPU machine lacks, at the versions this project is tested with
PINNED=(qiskit==2.6.2 rustworkx==0.18.1 stevedore==5.10.0 dill==0.4.1 qiskit-aer==0.18.2
        qiskit-machine-learning==0.9.1 snntorch==1.0.0)
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64
           manylinux1_x86_64)
TESTS=(tests/engines/test_torch_engine.py tests/models/test_sqdrcnn.py tests/spiking tests/circuits/test_noise.py)
TEST_FILTER="cuda or gpu or fused or snntorch"
BENCH=(-m qsnn_qiskit.cli bench --plan gpu --sections training --no-anchors --threads 8 --out "$RESULTS")

mode=check
case "${1:-}" in
    --fetch) mode=fetch ;;
    --dry-run) mode=dry ;;
    "") ;;
    *) echo "usage: bash benchmarks/gpu_check.sh [--fetch | --dry-run]" >&2; exit 2 ;;
esac

if [[ $mode == fetch ]]; then
    platform_flags=(); for p in "${PLATFORMS[@]}"; do platform_flags+=(--platform "$p"); done
    mkdir -p "$WHEELS"
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${platform_flags[@]}" -d "$WHEELS" "${PINNED[@]}"
    "$PY" -m pip wheel --quiet --no-deps --no-build-isolation -w "$WHEELS" .
    ls -l "$WHEELS"
    exit 0
fi

has_gpu=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
if [[ $mode == check && $has_gpu != 1 ]]; then
    echo "no CUDA GPU here (torch.cuda.is_available() is False): dry run"
    mode=dry
fi

if [[ $mode == dry ]]; then
    echo "gpu_check dry run: on a CUDA machine this would, within ${BUDGET_S} s:"
    echo "  1. install ${WHEELS}/*.whl (${PINNED[*]} and qsnn-qiskit) with"
    echo "     $PY -m pip install --no-index --no-deps --target $SITE ${WHEELS}/*.whl"
    echo "  2. run the CUDA tests: $PY -m pytest -q -rs ${TESTS[*]} -k '$TEST_FILTER' (output to $RESULTS/tests.txt)"
    echo "  3. run the benchmarks on cuda: $PY ${BENCH[*]}"
    # what can be checked without a GPU: the tests are collected and the benchmark plan exists
    collected=$("$PY" -m pytest -q --collect-only -p no:cacheprovider "${TESTS[@]}" -k "$TEST_FILTER" 2>&1 |
                grep -c "::" || true)
    [[ $collected -ge 3 ]] || { echo "gpu_check: only $collected CUDA-related tests collected (has $PY pytest and torch? set PYTHON=...)" >&2; exit 1; }
    "$PY" -c "from qsnn_qiskit.analysis.bench import PLANS; assert PLANS['gpu'].train_devices == ('cuda',)"
    echo "checked: $collected tests collected; the benchmark plan 'gpu' exists"
    exit 0
fi

started=$SECONDS
left() { echo $((BUDGET_S - (SECONDS - started))); }
ls "$WHEELS"/*.whl > /dev/null || { echo "no wheels in $WHEELS: run 'bash benchmarks/gpu_check.sh --fetch' where the registry is reachable" >&2; exit 1; }
"$PY" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$RESULTS"
"$PY" -c "import torch, qsnn_qiskit; print('torch', torch.__version__, torch.cuda.get_device_name(0), 'qsnn_qiskit', qsnn_qiskit.__version__)"
set +e
timeout "$(left)" "$PY" -m pytest -q -rs -p no:cacheprovider "${TESTS[@]}" -k "$TEST_FILTER" 2>&1 | tee "$RESULTS/tests.txt"
tests_status=${PIPESTATUS[0]}
# from /tmp, so that the installed copy is what runs
(cd /tmp && timeout "$(left)" "$PY" "${BENCH[@]}") 2>&1 | tail -40
bench_status=${PIPESTATUS[0]}
set -e
echo "gpu_check: tests exit $tests_status, benchmark exit $bench_status, $((SECONDS - started)) s; results in $RESULTS"
[[ $tests_status == 0 && $bench_status == 0 ]]
