"""fake_torino, SQDR-CNN 2b-9q re-upload: unpacked vs light-cone packed cost, and a 32-image cone preview timing
(benchmarks/results/hardware_packing.md)."""
import time, numpy as np
from qsnn_qiskit.backends import get_backend, load_target, transpile_for
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.hardware.transpiled import compare_packing
from qsnn_qiskit.hardware.packing import pack_circuit
from qsnn_qiskit.hardware.preview import ConePreview
spec = load_target("fake_torino"); b = get_backend(spec)
a = build_ansatz("reupload", n_qubits=9, blocks=2)
isa, obs = transpile_for(a, spec, b)
print(compare_packing(a, spec, b, isa, obs).to_markdown())
for ms in (0.85,):
    p = pack_circuit(a, spec, b, min_success=ms)
    from qsnn_qiskit.hardware.comparison import execution_cost
    c = execution_cost(p.isa, p.observables, b, p.images, 4096); print("min_success", ms, c)
p = pack_circuit(a, spec, b, max_images=32)
t0=time.time(); pv = ConePreview(p, b); t1=time.time()
rng=np.random.default_rng(0); x=rng.uniform(0,np.pi,(32,a.n_inputs)); w=rng.uniform(0,2*np.pi,a.n_weights)
v=p.rows(x,w); t2=time.time(); job=pv.run(v, 1/64, seed=1); t3=time.time()
print(f"preview: setup {t1-t0:.2f}s (noise model + cones), 32 images {t3-t2:.2f}s, images/exec {p.images}")
