"""Hardware runs: a run's ISA circuit and its cost report, the job store that survives restarts, and
the submit pipeline that runs a trained model on a backend beside the exact simulator; each refuses
a run without a circuit (`require_circuit`)."""
from ..backends import check_width, get_backend, runtime_service, transpile_for
from .circuit import require_circuit
from .report import TranspileReport, success_probability, transpile_report
from .submit import SubmitResult, submit_run
from .transpiled import write_transpiled

__all__ = ["SubmitResult", "TranspileReport", "check_width", "get_backend", "require_circuit", "runtime_service",
           "submit_run", "success_probability", "transpile_for", "transpile_report", "write_transpiled"]
