"""Two limits on the source as a whole: no file over ``MAX_LINES`` lines, and no import cycle.

A module that grows past a few hundred lines holds more than its name says; split it
into modules whose names explain themselves. An import cycle (``a`` imports ``b``
imports ``a``, at the top or inside a function) makes the order modules are first
imported in matter, and a module half initialised when it is needed fails in ways no
test of either module alone shows.

The imports are read from each module's syntax tree, so a function-level (lazy)
import and a relative one count as much as one at the top. Imports under
``if TYPE_CHECKING:`` never run, and are how a type-only reference avoids a cycle, so
they are left out. The graph is module -> module: ``from vmf.model import VmfError``
is an edge to the package ``vmf.model`` (its ``__init__``), ``from vmf.train import
synth`` an edge to the submodule ``vmf.train.synth``; the package around a module is
initialised before it whoever imports it, so that is no edge. The scripts are
modules too, named by their stem (``scripts/`` is on the path of a script that runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 600
# The folders whose Python files are held to MAX_LINES.
CHECKED = ("contract", "model", "export", "runtime", "benchmarks", "train", "scripts", "tests")
# The folder of each vmf package (pyproject.toml's package-dir: vmf.X lives in X/).
PACKAGE_DIRS = ("contract", "model", "export", "runtime", "benchmarks", "train")
SCRIPTS = "scripts"


# --------------------------------------------------------------------------- sizes


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_python_file_is_over_the_line_limit():
    files = [p for folder in CHECKED for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 100, "the walk found too few files: is ROOT right?"
    long = sorted(
        (f"{p.relative_to(ROOT)}: {n} lines" for p in files if (n := line_count(p)) > MAX_LINES),
        key=lambda line: -int(line.rsplit(": ", 1)[1].split()[0]),
    )
    assert long == [], (
        f"{len(long)} files over {MAX_LINES} lines (split each into modules whose names say "
        "what they hold):\n  " + "\n  ".join(long)
    )


# --------------------------------------------------------------------------- the import graph


class Module:
    """A Python file as an importable module: its name and the package its relative imports use."""

    def __init__(self, name: str, path: Path, package: str, script: bool):
        self.name, self.path, self.package, self.script = name, path, package, script


def find_modules(root: Path, package_dirs=PACKAGE_DIRS, scripts: str | None = SCRIPTS) -> dict[str, Module]:
    """Every module of the vmf packages under ``root`` (``X/a/b.py`` is ``vmf.X.a.b``) and every script."""
    modules = {}
    for folder in package_dirs:
        for path in sorted((root / folder).rglob("*.py")):
            parts = ["vmf", *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                name = ".".join(parts[:-1])
                modules[name] = Module(name, path, name, script=False)
            else:
                name = ".".join(parts)
                modules[name] = Module(name, path, name.rpartition(".")[0], script=False)
    if scripts is not None:
        for path in sorted((root / scripts).glob("*.py")):
            modules[path.stem] = Module(path.stem, path, "", script=True)
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST):
    """Every import statement below ``node``, at any depth, except under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for branch in child.orelse:
                if isinstance(branch, (ast.Import, ast.ImportFrom)):
                    yield branch
                yield from _imports(branch)
        else:
            yield from _imports(child)


def import_graph(modules: dict[str, Module]) -> dict[str, dict[str, int]]:
    """module -> {module it imports: line of the first such import}, over ``modules`` only."""

    def owner(name: str, script: bool) -> str | None:
        """The module that defines ``name``: itself, or the longest known module it lies in."""
        if not (name.startswith("vmf.") or script):  # a script's bare names may be other scripts
            return None
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for module in modules.values():
        edges: dict[str, int] = {}
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        for node in _imports(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [owner(alias.name, module.script) for alias in node.names]
            else:
                if node.level:  # relative: against the module's own package
                    base = module.package.split(".")
                    base = base[: len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.append(submodule if submodule in modules else owner(source, module.script))
            for target in targets:
                if target is not None and target != module.name:
                    edges.setdefault(target, node.lineno)
        graph[module.name] = edges
    return graph


def shortest_cycle_through(node: str, graph: dict[str, dict[str, int]]) -> list[str] | None:
    """The shortest import path from ``node`` back to itself, [node, ..., node]; None if none."""
    parent: dict[str, str] = {}
    frontier = [node]
    while frontier:
        following = []
        for current in frontier:
            for nxt in sorted(graph.get(current, ())):
                if nxt == node:
                    loop = [current]
                    while loop[-1] != node:
                        loop.append(parent[loop[-1]])
                    return [node, *reversed(loop[:-1]), node] if len(loop) > 1 else [node, node]
                if nxt not in parent and nxt in graph:
                    parent[nxt] = current
                    following.append(nxt)
        frontier = following
    return None


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Import cycles, each as [a, b, ..., a] from its smallest module: the shortest cycle
    through each module not already on one reported, so every module on some cycle is on
    a reported one (and a single cycle is reported once)."""
    cycles, covered = [], set()
    for node in sorted(graph):
        if node in covered:
            continue
        loop = shortest_cycle_through(node, graph)
        if loop is not None:
            ring = loop[:-1]
            start = ring.index(min(ring))
            ring = ring[start:] + ring[:start]
            cycles.append([*ring, ring[0]])
            covered.update(ring)
    return sorted(cycles)


def describe(cycle: list[str], graph: dict[str, dict[str, int]], modules: dict[str, Module]) -> str:
    steps = [cycle[0]]
    for a, b in zip(cycle, cycle[1:]):
        steps.append(f"{b} ({modules[a].path.relative_to(ROOT)}:{graph[a][b]})")
    return " -> ".join(steps)


def test_no_import_cycles():
    modules = find_modules(ROOT)
    assert {"vmf.contract", "vmf.train.trainer", "vmf.export.deployable"} <= set(modules)
    graph = import_graph(modules)
    cycles = find_cycles(graph)
    assert cycles == [], (
        f"{len(cycles)} import cycles (module (file:line of the import) -> ...):\n  "
        + "\n  ".join(describe(c, graph, modules) for c in cycles)
    )


def test_the_package_folders_are_pyprojects():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for folder in PACKAGE_DIRS:
        assert f'"vmf.{folder}" = "{folder}"' in text


# --------------------------------------------------------------------------- the checks check


def _tree(root: Path, files: dict[str, str]) -> dict[str, Module]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return find_modules(root, package_dirs=("pkg",), scripts="scripts")


def test_the_graph_sees_lazy_relative_and_package_imports_not_type_checking_ones(tmp_path):
    modules = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "from .a import A\n",
            "pkg/a.py": "import os\n\ndef f():\n    from . import b\n    from ..pkg.sub import c\n",
            "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n"
            "else:\n    import vmf.pkg.sub\nfrom vmf.pkg import A\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from .. import b\nimport numpy\n",
            "scripts/run.py": "import helper\nimport json\nfrom vmf.pkg.a import f\n",
            "scripts/helper.py": "",
        },
    )
    graph = import_graph(modules)
    assert graph["vmf.pkg"] == {"vmf.pkg.a": 1}
    assert graph["vmf.pkg.a"] == {"vmf.pkg.b": 4, "vmf.pkg.sub.c": 5}  # not os
    assert graph["vmf.pkg.b"] == {"vmf.pkg.sub": 5, "vmf.pkg": 6}  # not the TYPE_CHECKING one
    assert graph["vmf.pkg.sub.c"] == {"vmf.pkg.b": 1}
    assert graph["run"] == {"helper": 1, "vmf.pkg.a": 3}
    assert find_cycles(graph) == [
        ["vmf.pkg", "vmf.pkg.a", "vmf.pkg.b", "vmf.pkg"],
        [
            "vmf.pkg",
            "vmf.pkg.a",
            "vmf.pkg.sub.c",
            "vmf.pkg.b",
            "vmf.pkg",
        ],  # through c, which the first misses
    ]


def test_the_search_reports_each_cycle_once_from_its_smallest_module():
    graph = {"c": {"a": 1}, "a": {"b": 1}, "b": {"c": 1, "d": 1}, "d": {"d2": 1}, "d2": {"d": 1}, "e": {}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["d", "d2", "d"]]
    assert find_cycles({"a": {"b": 1}, "b": {}}) == []
    assert find_cycles({"a": {"a": 1}}) == [["a", "a"]]
