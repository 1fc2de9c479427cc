"""The package's architecture holds: imports only run down the layer order, and there is no import
cycle. Read from the source (every import, also those inside functions and TYPE_CHECKING blocks)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "qsnn_qiskit"

#: The wings from the top down. A module may import its own wing and the wings of lower layers,
#: never a wing of its own layer or one above. ``_utilities`` are ``errors.py`` and the ``_*.py``
#: helpers at the package root; ``transpile`` is the data package of shipped target files.
LAYERS: list[tuple[str, ...]] = [
    ("cli",),
    ("commands",),
    ("analysis", "hardware"),
    ("training",),
    ("models",),
    ("qnn",),
    ("engines",),
    ("backends",),
    ("circuits", "spiking"),
    ("data",),
    ("_utilities", "transpile"),
]
RANK = {wing: rank for rank, wings in enumerate(LAYERS) for wing in wings}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def wing(module: str) -> str:
    """The wing of a module of the package: its first name below ``qsnn_qiskit``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    name = parts[1]
    return "_utilities" if name == "errors" or name.startswith("_") else name


def imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the modules of the package it imports (a ``from pkg import name`` of a submodule
    counts as an import of that submodule)."""
    out: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        here = module.split(".") if is_package else module.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.split(".")[0] == "qsnn_qiskit"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                elif (node.module or "").split(".")[0] == "qsnn_qiskit":
                    target = node.module
                else:
                    continue
                subs = {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules}
                found |= subs or {target}
                if len(subs) < len(node.names):
                    found.add(target)
        out[module] = found - {module}
    return out


MODULES = _modules()
IMPORTS = imports(MODULES)


def test_every_module_belongs_to_a_known_wing() -> None:
    unknown = sorted(m for m in MODULES if wing(m) not in RANK and m != "qsnn_qiskit")
    assert not unknown, f"modules outside every wing of LAYERS: {unknown}"


def test_every_wing_folder_says_what_it_owns() -> None:
    for folder in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()):
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
        assert doc, f"{folder.name}/__init__.py has no docstring saying what the wing owns"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_layers(module: str) -> None:
    if module == "qsnn_qiskit":
        return   # the package's front door re-exports the public names
    upward = []
    for target in sorted(IMPORTS[module]):
        if target == "qsnn_qiskit":
            upward.append(f"{target} (the package root: import the wing that defines the name)")
        elif wing(target) != wing(module) and RANK[wing(target)] <= RANK[wing(module)]:
            upward.append(f"{target} (wing {wing(target)!r}, layer {RANK[wing(target)]} of {module}'s "
                          f"{RANK[wing(module)]})")
    assert not upward, f"{module} imports against the layer order: {upward}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    assert _cycles(IMPORTS) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The reader resolves relative imports: circuits importing training is caught."""
    fake = {"qsnn_qiskit.circuits.x": tmp_path / "x.py", "qsnn_qiskit.training.loops": tmp_path / "loops.py"}
    fake["qsnn_qiskit.circuits.x"].write_text("def f():\n    from ..training import loops\n")
    fake["qsnn_qiskit.training.loops"].write_text("")
    found = imports(fake)["qsnn_qiskit.circuits.x"]
    assert found == {"qsnn_qiskit.training.loops"}
    assert RANK[wing("qsnn_qiskit.training.loops")] < RANK[wing("qsnn_qiskit.circuits.x")]
