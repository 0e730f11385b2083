"""The target registry (``vmf.contract.targets``) is the one place a target is defined.

A fake target registered at run time shows up everywhere a target matters: the
exporter's plan and ``--help``, an export through its writer step, the
benchmark's jobs and the runtime's choice of backend by suffix. And no module
keeps a table of its own: the source is searched for collections of target
names, suffixes or precisions outside the registry.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest

from vmf.contract import VmfError
from vmf.contract import targets as registry
from vmf.contract.card import PRECISIONS, read_sidecar
from vmf.contract.targets import Target

ROOT = Path(__file__).resolve().parents[2]
# Every package's source; scripts/ are one-off measurements and docs are prose.
PACKAGES = ("contract", "model", "export", "runtime", "benchmarks", "train")
# The registry itself, and the card, whose enum is the one list of precision names.
DEFINES = {"targets": ROOT / "contract" / "targets.py", "precisions": ROOT / "contract" / "card.py"}


def _fake_writer(s, job):
    """A writer step as a new target would have: write, check parity, card, per precision."""

    def build(tmp: Path, precision: str) -> dict:
        tmp.write_bytes(b"a fake model file")
        parity = s.parity(lambda clip: s.reference_logits(clip[None]), job.target, precision, tmp.name)
        return s.metadata(job.target, precision, converter=job.converter, input_name="clip", parity=parity)

    return s.per_precision(job, build)


@pytest.fixture
def fake(monkeypatch):
    module = types.ModuleType("vmf_fake_writer")
    module.export_fake = _fake_writer
    monkeypatch.setitem(sys.modules, module.__name__, module)
    record = Target(
        name="fake",
        title="Fake",
        suffixes=(".fake",),
        layout="TCHW",
        writer=f"{module.__name__}:export_fake",
        backend="fakert",
        card_in="appended-zip",
        precisions=("fp32", "fp16"),
        default_precision="fp16",
        tolerances={"fp32": 1e-4, "fp16": 1e-2},
        in_all=False,
    )
    registry.register(record)
    yield record
    registry.unregister(record.name)


def test_a_registered_target_is_planned_with_its_own_precisions(fake):
    assert registry.plan(("fake",), None, None, "deployable", None) == [registry.Job("fake", ("fp16",), None)]
    with pytest.raises(VmfError, match="--target fake does not support --precision int8"):
        registry.plan(("fake",), ("int8",), None, "deployable", None)
    assert "fake" not in [j.target for j in registry.plan(("all",), None, None, "deployable", None)]
    with pytest.raises(VmfError, match=r"naive form exports to onnx and tflite only \(Fake takes"):
        registry.plan(("fake",), None, None, "naive", None)


def test_a_registered_target_is_a_choice_of_vmf_export(fake, capsys):
    from vmf.export.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["--target", "fake"]).target == "fake"
    parser.print_help()
    out = capsys.readouterr().out
    choices = "{" + ",".join(registry.names()) + ",all}"  # the registered ones, fake last
    assert choices.endswith(",fake,all}") and choices in out and "Fake" in out


def test_a_registered_target_is_exported_through_its_writer(fake, tmp_path):
    from vmf.export import export
    from vmf.export.metadata import read_embedded

    report = export(
        "560M", ("fake",), frames=8, resolution=32, out_dir=tmp_path, log=lambda m: None, warn=lambda m: None
    )
    (artifact,) = report.artifacts
    assert artifact.path == tmp_path / "fake" / "vmf-560m_t8_r32_fp16.fake"
    card = read_sidecar(artifact.path)
    assert card["target"] == "fake" and card["parity"]["threshold"] == 1e-2  # its own tolerance
    assert read_embedded(artifact.path) == card  # the card inside, where its record says


def test_a_registered_target_is_timed_by_its_backend(fake):
    from vmf.benchmarks.artifacts import cache_key
    from vmf.benchmarks.jobs import backend_targets, plan_jobs

    assert backend_targets()["fakert"] == "fake"
    (job,) = plan_jobs(["560M"], ["fakert"], ["fp16"], [1], frames=8, resolution=32)
    assert (job.backend, job.converter) == ("fakert", None)
    assert cache_key(job).target == "fake"


def test_a_registered_target_is_run_by_the_backend_its_suffix_implies(fake):
    from vmf.runtime.backends import backend_for, suffixes

    assert backend_for("exports/fake/m.FAKE") == "fakert"
    assert ".fake" in suffixes("fakert")


def test_a_record_that_contradicts_itself_or_another_is_refused():
    onnx = registry.get("onnx")
    with pytest.raises(ValueError, match="tolerances"):
        Target(**{**_fields(onnx), "name": "x", "suffixes": (".x",), "tolerances": {}})
    with pytest.raises(ValueError, match="default_precision"):
        Target(**{**_fields(onnx), "name": "x", "suffixes": (".x",), "default_precision": "fp16"})
    with pytest.raises(ValueError, match=r"\.onnx is already onnx's suffix"):
        registry.register(Target(**{**_fields(onnx), "name": "x"}))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(onnx)


def _fields(target: Target) -> dict:
    return {name: getattr(target, name) for name in target.__dataclass_fields__}


# -- one place ------------------------------------------------------------------------------
def _literal_strings(nodes) -> list[str]:
    """The string constants among ``nodes`` (a tuple key counts by its first element)."""
    found = []
    for node in nodes:
        if isinstance(node, ast.Tuple) and node.elts:
            node = node.elts[0]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
    return found


def target_tables(source: str, *, precisions_allowed: bool = False) -> list[tuple[int, str]]:
    """(line, why) of every collection literal in ``source`` that restates what targets are."""
    names = set(registry.names())
    suffixes = {s for t in registry.REGISTRY.values() for s in t.suffixes}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            groups = [[k for k in node.keys if k is not None], node.values]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            groups = [node.elts]
        else:
            continue
        for group in groups:
            strings = _literal_strings(group)
            if set(strings) & suffixes:
                found.append((node.lineno, f"target suffixes {sorted(set(strings) & suffixes)}"))
            if len(strings) >= 2 and len(strings) == len(group) and set(strings) <= names:
                found.append((node.lineno, f"a table of targets {strings}"))
            if not precisions_allowed and len(set(strings) & set(PRECISIONS)) >= 2:
                found.append((node.lineno, f"a list of precisions {sorted(set(strings) & set(PRECISIONS))}"))
    return found


def test_no_module_but_the_registry_restates_what_a_target_is():
    wrong = []
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == DEFINES["targets"]:
                continue
            tables = target_tables(path.read_text(), precisions_allowed=path == DEFINES["precisions"])
            wrong += [f"{path.relative_to(ROOT)}:{line}: {why}" for line, why in tables]
    assert wrong == []


def test_the_search_finds_the_tables_the_registry_replaced():
    old = """
TARGETS = ("onnx", "tflite", "coreml", "ort", "executorch")
SUPPORTED_PRECISIONS = {"onnx": ("fp32", "int8"), "coreml": ("fp16", "fp32")}
EXTENSIONS = {"onnx": ".onnx", "tflite": ".tflite"}
TOLERANCES = {("onnx", "fp32"): 1e-4, ("tflite", "fp32"): 1e-3}
BACKEND_TARGETS = {"onnxruntime": "onnx", "tflite": "tflite"}
def f(path):
    return path.suffix in (".tflite", ".pte")
PACKAGES = ("vmf", "torch", "onnx", "executorch")  # package names are not a table of targets
NO_CUDA = {"tflite": "phones", "openvino": "Intel GPUs"}  # nor are backend names
"""
    lines = sorted({line for line, _ in target_tables(old)})
    assert lines == [2, 3, 4, 5, 6, 8]
