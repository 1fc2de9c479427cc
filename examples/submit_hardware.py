"""Train a tiny SQDR-CNN, transpile it for an IBM backend, submit its inference packed as light
cones, fetch, report.

    python examples/submit_hardware.py --smoke                  # offline, fake_torino, about a minute
    python examples/submit_hardware.py --target fake_brisbane --epochs 3 --limit 64
    python examples/submit_hardware.py --noise-aware            # train under fake_torino's device noise
    python examples/submit_hardware.py --target my_backend.toml  # a real backend (needs an account)

Steps: `qsnn train` (exact fast engine; with --noise-aware, under the noise the target's jobs see:
`--noise-backend`) -> `qsnn transpile` (ISA circuit, drawing, report comparing unpacked with
light-cone packed execution) -> `qsnn submit` (by default each output's light cone on its own
qubit group, several images per circuit execution when the cones embed without SWAPs; a fake
backend previews those jobs cone by cone; EstimatorV2 in Batch mode on a real one, job ids saved in
RUN_DIR/jobs/ as they are sent) -> accuracy on the backend beside the exact noiseless simulator's.
Running it again with the same --run-dir fetches the jobs already sent instead of sending them again.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from qsnn_qiskit.backends.packing import PACK_MODES
from qsnn_qiskit.hardware import submit_run, write_transpiled
from qsnn_qiskit.training import TrainSettings, start_run

#: The budget ``--smoke`` sets: a 2-qubit, 1-block circuit, one short epoch, 8 images in one job.
SMOKE = {"qubits": 2, "blocks": 1, "epochs": 1, "train_limit": 64, "limit": 8, "shots": 1024}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", default="fake_torino", help="a transpile/ target name or .toml path")
    p.add_argument("--run-dir", default=None, help="run directory (default: a new temporary folder)")
    p.add_argument("--qubits", type=int, default=4, help="qubits of the circuit (default 4)")
    p.add_argument("--blocks", type=int, default=1, help="re-upload blocks (default 1)")
    p.add_argument("--classes", type=int, nargs="+", default=[0, 1], help="digits kept (default 0 1)")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    p.add_argument("--train-limit", type=int, default=400, help="training images (default 400)")
    p.add_argument("--limit", type=int, default=32, help="validation images sent to the backend (default 32)")
    p.add_argument("--shots", type=int, default=None, help="shots per expectation value (default: target's)")
    p.add_argument("--pack", choices=PACK_MODES, default=None,
                   help="cones or none (default: cones when every cone embeds without SWAPs)")
    p.add_argument("--noise-aware", action="store_true",
                   help="train under the target's device noise (a fake backend's name as --target)")
    p.add_argument("--smoke", action="store_true", help=f"tiny budget for tests: {SMOKE}")
    args = p.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="qsnn-submit-")) / "run"
    t0 = time.perf_counter()
    if not (run_dir / "config.json").exists():
        settings = TrainSettings(classes=args.classes, limit=args.train_limit, qubits=args.qubits,
                                 blocks=args.blocks, epochs=args.epochs, engine="torch", lr=1e-2,
                                 noise_backend=args.target if args.noise_aware else None)
        trainer, run_dir = start_run(settings, run_dir)
        trainer.fit(run_dir, progress=False)
    print(f"trained in {time.perf_counter() - t0:.1f} s: {run_dir}")

    out, report = write_transpiled(run_dir, args.target, draw=not args.smoke)
    p = report.success_probability
    print(f"transpiled for {report.backend}: qubits {report.layout}, depth {report.depth}, "
          f"{report.two_qubit_gates} two-qubit gates, estimated success probability "
          f"{'n/a' if p is None else f'{p:.4f}'} -> {out}")
    if report.packing is not None and report.packing.packed is not None:
        u, c = report.packing.unpacked, report.packing.packed
        print(f"per output: {u.two_qubit_gates_per_output[0]:.1f} two-qubit gates unpacked, "
              f"{c.two_qubit_gates_per_output[0]:.1f} as a light cone; {c.images_per_execution} images per "
              f"circuit execution packed (default --pack {report.packing.default})")

    t1 = time.perf_counter()
    result = submit_run(run_dir, args.target, limit=args.limit, chunk_size=args.limit, shots=args.shots, seed=1,
                        pack=args.pack)
    print(f"{result.backend} (--pack {result.pack}): {len(result.labels)} images in {time.perf_counter() - t1:.1f} s; accuracy "
          f"{100 * result.hardware_accuracy:.1f}% on the backend, {100 * result.exact_accuracy:.1f}% on the "
          f"exact noiseless simulator; jobs: {[(r.job_id, r.status) for r in result.records]}")
    print(f"results: {run_dir / 'submit' / result.target}/summary.json")
    return 0 if not result.failed_chunks else 1


if __name__ == "__main__":
    raise SystemExit(main())
