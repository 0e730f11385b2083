"""The table of deployable forms: every (layout, spelling) it allows is exact, every other is one error.

No ExecuTorch or ONNX Runtime needed: this checks the arithmetic of each
form's twins against the reference network on small configurations (the
lowerings are tested in test_export_executorch and test_export_ort_mobile),
that the pairs the table leaves out raise one ``VmfError`` naming the
allowed ones, and that the subpackage's modules import one another without
a cycle.
"""

import ast
import dataclasses
import itertools
from pathlib import Path

import pytest
import torch

import vmf.export.deployable as deployable
from vmf.export.deployable import FORMS, SPELLINGS, make_deployable, to_deployable
from vmf.export.deployable.forms import DEFAULT_TWINS
from vmf.export.sidecar import LAYOUTS
from vmf.model import VARIANTS, VmfError, build_model
from vmf.model.blocks import Stem

FORM_IDS = [f"{layout}-{spelling}" for layout, spelling in FORMS]
DISALLOWED = [pair for pair in itertools.product(LAYOUTS, SPELLINGS) if pair not in FORMS]


def small_model(variant, baseline, randomize):
    cfg = dataclasses.replace(
        VARIANTS[variant], blocks_per_stage=(1, 1, 1, 1), base_channels=8, head_hidden=64
    )
    return randomize(build_model(cfg, baseline=baseline, num_classes=10), seed=2)


@pytest.mark.parametrize("layout,spelling", list(FORMS), ids=FORM_IDS)
@pytest.mark.parametrize(
    "variant, baseline, frames",
    [
        ("560M", False, 16),  # k_t = s_t = 8: one stem tap group, no zero frames in the stem
        ("1G", False, 8),  # k_t = 5, s_t = 4, padding 2: stem groups shifted by zero frames
        ("1G", True, 8),  # Mobile3D: no tokens, plain ReLU
    ],
)
def test_every_form_matches_the_reference(
    variant, baseline, frames, layout, spelling, randomize, assert_equivalent
):
    model = small_model(variant, baseline, randomize)
    clip = torch.randn(1, 3, frames, 32, 32, generator=torch.Generator().manual_seed(0))
    twin = make_deployable(model, frames=frames, resolution=32, layout=layout, spelling=spelling)
    folded = clip[0].transpose(0, 1)  # [T, 3, R, R]
    if layout == "THWC":
        folded = folded.permute(0, 2, 3, 1).contiguous()
    assert twin.input_layout == layout and twin.input_shape == tuple(folded.shape)
    with torch.no_grad():
        assert_equivalent(model(clip), twin(folded), f"{variant} {layout}/{spelling}")


def test_the_table_covers_the_runtimes_that_ask():
    # ONNX / Core ML / PyTorch take TCHW, TFLite THWC (``Target.layout``), ExecuTorch's XNNPACK and
    # ONNX Runtime Mobile their TCHW spellings.
    assert set(FORMS) == {
        ("TCHW", "default"),
        ("THWC", "default"),
        ("TCHW", "xnnpack"),
        ("TCHW", "ort_mobile"),
    }
    assert SPELLINGS == ("default", "xnnpack", "ort_mobile")
    for (layout, spelling), form in FORMS.items():
        assert (form.layout, form.spelling) == (layout, spelling) and layout in LAYOUTS
        assert set(form.twins) == set(DEFAULT_TWINS), f"{form}: every form converts the same block types"
    assert FORMS["TCHW", "default"].twins is DEFAULT_TWINS


@pytest.mark.parametrize("layout,spelling", DISALLOWED, ids=[f"{lay}-{sp}" for lay, sp in DISALLOWED])
def test_every_disallowed_pair_is_one_clear_error(layout, spelling, randomize):
    model = small_model("560M", False, randomize)
    allowed = [f"{lay}/{sp}" for lay, sp in FORMS]
    for build in (
        lambda: make_deployable(model, frames=8, resolution=32, layout=layout, spelling=spelling),
        lambda: to_deployable(Stem(8, 5, 8), torch.zeros(1, 3, 8, 16, 16), layout=layout, spelling=spelling),
    ):
        with pytest.raises(VmfError, match=f"the {spelling} spelling has no {layout} form") as raised:
            build()
        assert all(name in str(raised.value) for name in allowed), str(raised.value)


def test_unknown_spelling_is_one_error():
    model = build_model(VARIANTS["560M"], num_classes=10)
    with pytest.raises(
        VmfError, match="unknown spelling 'tflite'; valid spellings: default, xnnpack, ort_mobile"
    ):
        make_deployable(model, frames=8, resolution=32, spelling="tflite")


def test_the_legacy_ort_mobile_flag_is_gone():
    model = build_model(VARIANTS["560M"], num_classes=10)
    with pytest.raises(TypeError, match="ort_mobile"):
        make_deployable(model, frames=8, resolution=32, ort_mobile=True)


def _imports(path: Path, package: str, siblings: set[str]) -> tuple[set[str], set[str]]:
    """(sibling modules, ``vmf.export`` modules outside the package) that ``path`` imports, at any depth.

    A sibling is named by its module name; an import of the package itself (its
    ``__init__``) counts as ``"__init__"``.
    """
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 2:  # from ..sidecar import LAYOUTS
                outside.add(module.split(".")[0])
                continue
            if node.level == 0:
                if module != package and not module.startswith(package + "."):
                    continue
                module = module[len(package) :].lstrip(".")
            if module:
                inside.add(module.split(".")[0])
            else:  # from . import a, b / from <package> import name
                inside |= {alias.name if alias.name in siblings else "__init__" for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    inside.add(alias.name[len(package) + 1 :].split(".")[0] or "__init__")
    return inside, outside


def test_the_subpackage_has_no_import_cycle():
    folder = Path(deployable.__file__).parent
    package = deployable.__name__
    modules = {p.stem: p for p in folder.glob("*.py")}
    siblings = set(modules) - {"__init__"}
    graph, outside = {}, set()
    for name, path in modules.items():
        graph[name], out = _imports(path, package, siblings)
        outside |= out
        if name != "__init__":
            assert "__init__" not in graph[name], f"{name} imports the package {package} itself"
    # What the package takes from the rest of vmf.export must not import the package back.
    for name in outside:
        tree = ast.parse((folder.parent / f"{name}.py").read_text())
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if "deployable" in m], f"vmf.export.{name} imports the package back"
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(name) :] + [name]))
        if name not in done:
            for dep in sorted(graph[name]):
                visit(dep, stack + [name])
            done.add(name)

    for name in sorted(graph):
        visit(name, [])
