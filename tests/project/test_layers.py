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
