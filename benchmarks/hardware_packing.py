"""fake_torino, SQDR-CNN 2b-9q re-upload: unpacked against light-cone packed execution cost (at the
default and a lower --min-success), and the time of a 32-image cone-by-cone preview. Prints the
figures recorded in benchmarks/results/hardware_packing.md.

    PYTHONPATH=. python benchmarks/hardware_packing.py
"""
from __future__ import annotations

import time

import numpy as np

from qsnn_qiskit.backends import get_backend, load_target, transpile_for
from qsnn_qiskit.backends.packing import pack_circuit
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.hardware.comparison import execution_cost
from qsnn_qiskit.hardware.preview import ConePreview
from qsnn_qiskit.hardware.transpiled import compare_packing

SHOTS, PREVIEW_IMAGES, LOWER_MIN_SUCCESS = 4096, 32, 0.85


def main() -> None:
    spec = load_target("fake_torino")
    backend = get_backend(spec)
    ansatz = build_ansatz("reupload", n_qubits=9, blocks=2)
    isa, observables = transpile_for(ansatz, spec, backend)
    print(compare_packing(ansatz, spec, backend, isa, observables).to_markdown())
    loose = pack_circuit(ansatz, spec, backend, min_success=LOWER_MIN_SUCCESS)
    print(f"min_success {LOWER_MIN_SUCCESS}:", execution_cost(loose.isa, loose.observables, backend, loose.images, SHOTS))

    packed = pack_circuit(ansatz, spec, backend, max_images=PREVIEW_IMAGES)
    started = time.perf_counter()
    preview = ConePreview(packed, backend)
    set_up = time.perf_counter() - started
    rng = np.random.default_rng(0)
    values = packed.rows(rng.uniform(0, np.pi, (PREVIEW_IMAGES, ansatz.n_inputs)),
                         rng.uniform(0, 2 * np.pi, ansatz.n_weights))
    started = time.perf_counter()
    preview.run(values, 1 / np.sqrt(SHOTS), seed=1).result()
    print(f"preview: set-up {set_up:.2f} s (noise model + cones), {PREVIEW_IMAGES} images "
          f"{time.perf_counter() - started:.2f} s, {packed.images} images per execution")


if __name__ == "__main__":
    main()
