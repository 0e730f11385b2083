"""The artifact cache: a hit never re-produces, a failed or foreign entry is never reused."""

import dataclasses
import json

import pytest

from vmf.benchmarks.cache import MANIFEST, ArtifactCache, CacheKey
from vmf.benchmarks.rows import COLUMNS, Row
from vmf.model import VmfError

KEY = CacheKey("560M", False, "deployable", 2, 8, "tflite", "int8", "default", "0.1.0")


def producer(calls):
    def produce(folder):
        calls.append(folder)
        path = folder / "model.tflite"
        path.write_bytes(b"tflite")
        return path

    return produce


def test_second_fetch_is_a_hit(tmp_path):
    cache, calls = ArtifactCache(tmp_path), []
    first = cache.fetch(KEY, producer(calls))
    second = cache.fetch(KEY, producer(calls))
    assert len(calls) == 1 and not first.hit and second.hit
    assert first.path == second.path and second.path.read_bytes() == b"tflite"
    assert second.path.parent == tmp_path / "0.1.0" / KEY.folder()


@pytest.mark.parametrize(
    "field, value",
    [
        ("version", "0.2.0"),
        ("tools", "0123abcd"),  # another onnx2tf, ONNX Runtime, ...
        ("precision", "fp16"),
        ("converter", "litert-torch"),
        ("form", "naive"),
        ("baseline", True),
        ("frames", 4),
        ("resolution", 16),
    ],
)
def test_every_key_field_separates_entries(tmp_path, field, value):
    cache, calls = ArtifactCache(tmp_path), []
    cache.fetch(KEY, producer(calls))
    other = dataclasses.replace(KEY, **{field: value})
    assert cache.lookup(other) is None
    assert not cache.fetch(other, producer(calls)).hit and len(calls) == 2


def test_failed_export_leaves_nothing(tmp_path):
    cache = ArtifactCache(tmp_path)

    def fails(folder):
        (folder / "half.tflite").write_bytes(b"half")
        raise VmfError("conversion failed")

    with pytest.raises(VmfError, match="conversion failed"):
        cache.fetch(KEY, fails)
    assert cache.lookup(KEY) is None
    assert list((tmp_path / "0.1.0").iterdir()) == []  # no temporary folder left behind


def test_entry_without_its_artifact_is_re_exported(tmp_path):
    cache, calls = ArtifactCache(tmp_path), []
    path = cache.fetch(KEY, producer(calls)).path
    path.unlink()
    assert cache.lookup(KEY) is None
    assert not cache.fetch(KEY, producer(calls)).hit and len(calls) == 2


def test_manifest_of_another_key_is_not_trusted(tmp_path):
    cache, calls = ArtifactCache(tmp_path), []
    entry = cache.fetch(KEY, producer(calls)).path.parent
    manifest = json.loads((entry / MANIFEST).read_text())
    manifest["key"]["precision"] = "fp32"
    (entry / MANIFEST).write_text(json.dumps(manifest))
    assert cache.lookup(KEY) is None


def test_producer_must_write_inside_its_folder(tmp_path):
    outside = tmp_path / "elsewhere.tflite"
    outside.write_bytes(b"x")
    with pytest.raises(VmfError, match="outside the cache folder"):
        ArtifactCache(tmp_path / "c").fetch(KEY, lambda folder: outside)


def test_row_fields_are_the_schema():
    assert tuple(f.name for f in dataclasses.fields(Row)) == COLUMNS


def test_choices_follow_the_exporter_and_runtime_registries():
    from vmf.benchmarks.jobs import CHECKPOINT, CUDA_BACKENDS, NO_CUDA, PRECISIONS, backend_targets
    from vmf.contract.card import PRECISIONS as CARD_PRECISIONS
    from vmf.contract.targets import REGISTRY
    from vmf.runtime.backends import BACKENDS

    assert set(backend_targets()) == set(BACKENDS)  # every runtime backend has rows
    assert set(NO_CUDA) == set(BACKENDS) - set(CUDA_BACKENDS)  # every refusal says why
    # ort (ONNX Runtime Mobile) is timed on phones; its mobile .onnx runs on the onnxruntime row.
    # web is timed in a browser (docs/web.md).
    timed = {name for name, t in REGISTRY.items() if t.benchmarked}
    assert set(backend_targets().values()) - {CHECKPOINT} == timed == set(REGISTRY) - {"ort", "web"}
    assert backend_targets()["openvino"] == backend_targets()["onnxruntime"] == "onnx"
    assert PRECISIONS == CARD_PRECISIONS


def test_a_failed_exports_conversion_log_outlives_the_scratch_folder(tmp_path):
    from vmf.benchmarks.artifacts import keep_conversion_log
    from vmf.model import VmfError

    scratch = tmp_path / ".entry.tmp"
    scratch.mkdir()
    log = scratch / "vmf-export-tflite-20261130-093000.log"
    log.write_text("onnx2tf: Traceback ...\n")
    exc = keep_conversion_log(
        VmfError(f"onnx2tf failed (ValueError); try --converter litert-torch (converter output: {log})"),
        tmp_path,
    )
    kept = tmp_path / "logs" / log.name
    assert str(exc) == f"onnx2tf failed (ValueError); try --converter litert-torch (converter output: {kept})"
    assert kept.read_text() == "onnx2tf: Traceback ...\n" and not log.exists()
    plain = VmfError("parity check failed")
    assert keep_conversion_log(plain, tmp_path) is plain


def test_a_new_converter_version_is_a_new_entry(monkeypatch):
    from vmf.benchmarks import cache as cache_mod
    from vmf.export import metadata

    installed = metadata.versions()
    cache_mod.tools_fingerprint.cache_clear()
    try:
        before = cache_mod.tools_fingerprint()
        monkeypatch.setattr(metadata, "versions", lambda: {**installed, "onnx2tf": "0.0.1-other"})
        cache_mod.tools_fingerprint.cache_clear()
        after = cache_mod.tools_fingerprint()
    finally:
        cache_mod.tools_fingerprint.cache_clear()
    assert before != after
    assert dataclasses.replace(KEY, tools=before).folder() != dataclasses.replace(KEY, tools=after).folder()
