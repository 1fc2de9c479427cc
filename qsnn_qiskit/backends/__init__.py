"""Where circuits run: named targets (the TOML files of transpile/), the backends they name and the
IBM Quantum account that reaches them, ISA transpilation, light cones packed onto a device, the
calibration, the noise a target's jobs see, and qiskit-ibm-runtime's primitives."""
from .backends import BACKENDS, get_backend, runtime_service
from .isa import check_width, transpile_for
from .targets import Target, load_target, target_names

__all__ = ["BACKENDS", "Target", "check_width", "get_backend", "load_target", "runtime_service", "target_names",
           "transpile_for"]
