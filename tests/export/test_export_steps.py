"""The step wrapper: publish verified artifacts atomically, leave nothing behind on failure."""

import pytest

from vmf.contract.card import read_sidecar
from vmf.export.metadata import ModelFacts, build_metadata, read_embedded
from vmf.export.steps import run_step
from vmf.model import VmfError, get_variant


FACTS = ModelFacts(
    cfg=get_variant("560M"),
    baseline=False,
    frames=8,
    resolution=32,
    labels=("a", "b"),
    num_classes=2,
    weights_sha256="0" * 64,
    untrained=True,
    macs=10,
    params=5,
)


def card(**overrides):
    kw = dict(
        target="tflite",
        form="deployable",
        precision="fp32",
        converter="onnx2tf",
        input_name="clip",
        layout="THWC",
        parity={
            "checked": True,
            "passed": True,
            "max_rel_err": 1e-7,
            "threshold": 1e-3,
            "metric": "max_rel_err",
        },
    )
    return build_metadata(FACTS, **{**kw, **overrides})


def step(final, build, lines):
    return run_step(
        "tflite fp32",
        final,
        build,
        log=lines.append,
        target="tflite",
        precision="fp32",
        converter="onnx2tf",
        form="deployable",
    )


def test_a_verified_step_is_renamed_into_place_with_its_card(tmp_path):
    final = tmp_path / "tflite" / "vmf-560m_fp32.tflite"
    lines = []

    def build(tmp):
        assert tmp.parent == final.parent and tmp.name.startswith(".") and tmp.suffix == ".tflite"
        tmp.write_bytes(b"TFL3 pretend flatbuffer")
        return card()

    art = step(final, build, lines)
    assert art.path == final and final.read_bytes().startswith(b"TFL3 pretend flatbuffer")
    assert read_sidecar(final)["input_shape"] == [8, 32, 32, 3]
    assert read_embedded(final) == read_sidecar(final)  # the same dict, inside the file
    assert sorted(p.name for p in final.parent.iterdir()) == ["vmf-560m_fp32.json", "vmf-560m_fp32.tflite"]
    assert art.size_mb > 0 and "max rel err 1.0e-07" in lines[-1] and str(final) in lines[-1]


def test_a_failed_step_leaves_nothing(tmp_path):
    final = tmp_path / "tflite" / "vmf-560m_fp32.tflite"
    lines = []

    def build(tmp):
        tmp.write_bytes(b"half")
        raise VmfError("parity check failed")

    with pytest.raises(VmfError, match="parity check failed"):
        step(final, build, lines)
    assert list(tmp_path.iterdir()) == []  # no partial file, and the new folder is gone
    assert "FAILED" in lines[-1]


def test_an_empty_artifact_is_refused(tmp_path):
    final = tmp_path / "vmf-560m_fp32.tflite"
    with pytest.raises(VmfError, match="empty"):
        step(final, lambda tmp: (tmp.write_bytes(b""), card())[1], [])
    assert list(tmp_path.iterdir()) == []


def test_metadata_refuses_a_shape_the_layout_does_not_give():
    with pytest.raises(VmfError, match="input_layout"):
        card(layout="NCTHW")
