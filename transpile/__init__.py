"""The shipped transpilation targets, one TOML file each (read by ``qsnn_qiskit.backends.targets``).

Installed as the package ``qsnn_qiskit.transpile``: pyproject.toml maps this top-level folder there.
"""
