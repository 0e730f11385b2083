"""The layering of CONTRIBUTING.md ("Nothing imports upward"), checked on the source.

``vmf.contract`` is below everything and free of torch; the runtime reads the
contract and the model, never the exporter or training. Imports are found by
walking each module's syntax tree, so an import inside a function (a lazy one)
counts as much as one at the top.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"contract": "vmf.contract", "runtime": "vmf.runtime"}
# What each package may not import (vmf.X and anything below it).
FORBIDDEN = {
    "runtime": ("vmf.export", "vmf.train", "vmf.benchmarks"),
    "contract": ("vmf.model", "vmf.export", "vmf.runtime", "vmf.train", "vmf.benchmarks", "torch"),
}


def imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement in ``path``, wherever it is."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's own package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # "from vmf import export" names a package too
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_packages_import_nothing_above_them(folder):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"no modules in {folder}/"
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path, PACKAGES[folder])
        if any(_is_under(module, prefix) for prefix in FORBIDDEN[folder])
    ]
    assert wrong == []


def test_the_walk_sees_function_level_and_relative_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from vmf.export import executorch\n"
        "from ..export.sidecar import read_sidecar\nimport vmf.train.video_io\nfrom vmf import export\n"
    )
    lines = {m: line for line, m in imported_modules(source, "vmf.runtime")}
    assert lines["vmf.export"] in (2, 5) and lines["vmf.export.sidecar"] == 3
    assert lines["vmf.train.video_io"] == 4


def test_importing_the_contract_does_not_import_torch():
    modules = sorted(p.stem for p in (ROOT / "contract").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        "import vmf.contract\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module('vmf.contract.' + name)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'torch'\n"
        "               or m.startswith(('vmf.model', 'vmf.export', 'vmf.runtime', 'vmf.train')))\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _module_name(path: Path) -> tuple[str, str]:
    """(module name, the package its relative imports resolve against) of a file under ROOT."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        name = ".".join(["vmf", *parts[:-1]])
        return name, name
    name = ".".join(["vmf", *parts])
    return name, name.rsplit(".", 1)[0]


def import_graph(folder: str) -> dict[str, set[str]]:
    """module -> the modules of the same package tree it imports, at any depth (lazy ones too).

    ``from . import a`` imports the submodule ``a``; the package around it is
    initialised first whatever imports it, so that is not an edge to the package.
    """
    files = {_module_name(path): path for path in sorted((ROOT / folder).rglob("*.py"))}
    known = {name for name, _ in files}

    def owner(module: str) -> str:
        while module and module not in known:  # vmf.export.parity.compare -> vmf.export.parity
            module = module.rpartition(".")[0]
        return module

    graph: dict[str, set[str]] = {}
    for (name, package), path in files.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges |= {owner(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                submodules = {f"{module}.{alias.name}" for alias in node.names} & known
                edges |= submodules
                if len(submodules) < len(node.names):  # a name defined in the module itself
                    edges.add(owner(module))
        graph[name] = edges - {"", name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_exporter_has_no_import_cycle():
    graph = import_graph("export")
    assert "vmf.export.api" in graph and "vmf.export.deployable.forms" in graph
    assert import_cycles(graph) == []


def test_the_cycle_check_sees_a_cycle_through_a_function_level_import(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
