"""`qsnn submit RUN_DIR --target NAME --dataset NAME --limit N`: a trained model's inference on a
backend, beside the exact simulator's (the pipeline is `qsnn_qiskit.hardware.submit`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..backends import target_names
from ..backends.packing import MIN_SUCCESS, PACK_MODES
from ..hardware.submit import SUBMIT_DIR, submit_run


def register(p: argparse.ArgumentParser) -> None:
    """Describe the subcommand on its parser ``p``: description, arguments, handler."""
    p.description = ("Evaluate the first --limit validation images of a `qsnn train` run on a target's "
                     "backend through qiskit-ibm-runtime's EstimatorV2 (Batch mode), beside the exact "
                     "noiseless simulator. On a local backend (fake, generic, Aer), light-cone packed jobs are "
                     "previewed cone by cone instead: each slot's cone as an exact density matrix under the "
                     "backend's noise model, shots sampled from it (2,000 images in minutes); --no-preview and "
                     "unpacked jobs run local testing mode's EstimatorV2, the real hardware's code path, at "
                     "about a minute per image for 2b-9q on fake_torino. Job ids go to RUN_DIR/jobs/<target>/ as soon as each job exists; running "
                     "the same command again after a crash fetches those jobs instead of sending them "
                     "again. Results: RUN_DIR/submit/<target>/predictions.csv and summary.json. A real "
                     "backend needs a saved IBM Quantum account or QISKIT_IBM_TOKEN.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `qsnn train`")
    p.add_argument("--target", required=True,
                   help=f"a target name ({', '.join(target_names())}) or the path of a target .toml file")
    p.add_argument("--dataset", help="dataset of the images (default: the run's)")
    p.add_argument("--data-dir", help="folder of --dataset (torchvision root or IDX folder)")
    p.add_argument("--limit", type=int, default=32, help="number of validation images (default 32)")
    p.add_argument("--chunk-size", type=int, default=32, help="images per job (default 32)")
    p.add_argument("--shots", type=int, help="shots per expectation value (default: the target's)")
    p.add_argument("--max-attempts", type=int, default=3,
                   help="times a chunk is sent before its failure is final (default 3)")
    p.add_argument("--seed", type=int, help="simulator seed (local testing mode only)")
    p.add_argument("--pack", choices=PACK_MODES, default=None,
                   help="cones: run each output's light cone, several images side by side on disjoint, "
                        "well-calibrated qubit groups of one circuit; "
                        "none: the whole circuit once per image (default: cones when every cone embeds without "
                        "SWAPs, else none)")
    p.add_argument("--min-success", type=float, default=MIN_SUCCESS,
                   help=f"least estimated success probability (calibrated gate and readout errors) of a light "
                        f"cone's qubit group when packing (default {MIN_SUCCESS}); lower packs more images per "
                        "circuit execution on worse qubits")
    p.add_argument("--no-preview", dest="preview", action="store_false",
                   help="on a local backend, run packed jobs through EstimatorV2 in local testing mode (the code "
                        "path of real hardware; the whole packed circuit on Aer, slow) instead of the cone-by-cone "
                        "preview")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    r = submit_run(args.run_dir, args.target, args.dataset, args.limit, args.chunk_size, args.shots,
                   args.max_attempts, args.data_dir, args.seed, pack=args.pack,
                   min_success=args.min_success, preview=args.preview)
    print(f"{r.backend} ({r.target}): {len(r.labels)} images, accuracy {100 * r.hardware_accuracy:.2f}% "
          f"(exact noiseless simulator {100 * r.exact_accuracy:.2f}%), predictions agree on "
          f"{100 * float((r.exact_pred == r.hardware_pred).mean()):.2f}%")
    if r.failed_chunks:
        print(f"chunks {r.failed_chunks} failed after every attempt; their images count as wrong")
    print(f"wrote {Path(args.run_dir) / SUBMIT_DIR / r.target}/ (predictions.csv, summary.json)")
    return 1 if r.failed_chunks else 0
