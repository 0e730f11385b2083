"""The model card: one definition, its published JSON Schema, and what readers refuse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vmf.contract.card import (
    CARD_KEYS,
    SIDECAR_VERSION,
    json_schema,
    make_card,
    read_sidecar,
    schema_errors,
    validate_sidecar,
)
from vmf.export import sidecar
from vmf.export.sidecar import write_sidecar
from vmf.model import VmfError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "model-card.schema.json"
DOC = ROOT / "docs" / "model-card.md"


def card(**keys) -> dict:
    """A valid card; ``keys`` override or add keys."""
    args = dict(
        variant="560M",
        baseline=False,
        frames=16,
        resolution=32,
        temporal_stride=8,
        input_name="clip",
        layout="THWC",
        labels=["a", "b", "c"],
        precision="int8",
        converter="litert-torch",
        weights_sha256="0" * 64,
        untrained=True,
        parity={
            "checked": True,
            "passed": True,
            "metric": "max_rel_err",
            "max_rel_err": 1e-7,
            "threshold": 1e-3,
        },
        macs=10,
        params=5,
        versions={"torch": "2.13.0", "coremltools": None},
    )
    return make_card(**{**args, **keys})


def test_the_published_schema_file_is_the_one_the_code_defines():
    # Regenerate with: python scripts/model_card_schema.py
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()


def test_every_key_is_documented_with_its_type():
    text = DOC.read_text()
    for key in CARD_KEYS:
        assert re.search(rf"^\| `{key.name}` \|", text, re.MULTILINE), f"{key.name} not in {DOC.name}"


def test_a_card_made_by_make_card_has_the_input_contract_filled_in():
    c = card()
    assert c["sidecar_version"] == SIDECAR_VERSION and c["output"] == "logits"
    assert c["input_shape"] == [16, 32, 32, 3] and c["num_classes"] == 3 and c["color"] == "RGB"
    assert schema_errors(c, json.loads(SCHEMA_FILE.read_text())) == []


@pytest.mark.parametrize(
    "change, message",
    [
        ({"frames": "16"}, "frames must be integer, not string"),
        ({"baseline": 1}, "baseline must be boolean, not integer"),
        ({"precision": "int4"}, "precision is 'int4', not one of fp32, fp16, int8"),
        ({"input_shape": [16, 32, 32]}, "input_shape has 3 items, fewer than 4"),
        ({"versions": {"torch": 2}}, "versions.torch must be string or null, not integer"),
        ({"sample_fps": 0}, "sample_fps is 0, must be > 0"),
        ({"clip_sampling": "clips"}, "clip_sampling is 'clips', not one of video, stream, null"),
        ({"clip_sampling": 1}, "clip_sampling is 1, not one of video, stream, null"),
        ({"partitions": [1, 2]}, "partitions must be object, not array"),
        ({"output": {"name": "logits", "shape": [1, 3]}}, "output is {"),
    ],
)
def test_the_schema_names_what_is_wrong(change, message):
    problems = schema_errors({**card(), **change}, json_schema())
    assert problems and problems[0].startswith(message), problems


@pytest.mark.parametrize("value", ["video", "stream", None])
def test_clip_sampling_is_optional_and_may_be_null(value):
    without = card()
    assert "clip_sampling" not in without  # older cards: not recorded
    validate_sidecar(without)
    assert card(clip_sampling=value)["clip_sampling"] == value
    assert json_schema()["properties"]["clip_sampling"]["enum"] == ["video", "stream", None]


def test_target_specific_objects_and_unknown_keys_are_accepted():
    extra = {
        "partitions": {"xnnpack": 3, "gpu": {"ops": 40, "fallback": ["BROADCAST_TO"]}},
        "split": {"stem": "m.stem.onnx", "body": "m.body.onnx", "export_id": "abc"},
        "a_key_from_a_newer_minor_version": [1, 2, 3],
    }
    validate_sidecar({**card(), **extra})


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"sidecar_version": SIDECAR_VERSION + 1},
            f"model card version {SIDECAR_VERSION + 1}, newer than this vmf reads ({SIDECAR_VERSION})",
        ),
        ({"num_classes": 4}, "3 labels for num_classes=4"),
        ({"input_shape": [16, 3, 32, 32]}, "input_shape [16, 3, 32, 32] does not match THWC"),
        ({"frames": 12, "input_shape": [12, 32, 32, 3]}, "frames=12 is not a multiple of temporal_stride=8"),
        ({"color": "BGR"}, "color 'BGR' is not supported (RGB only)"),
    ],
)
def test_readers_refuse_an_inconsistent_or_newer_card(tmp_path, change, message):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**card(), **change}))
    with pytest.raises(VmfError, match=re.escape(message)):
        read_sidecar(tmp_path / "m.tflite")


def test_a_missing_required_key_is_named():
    c = card()
    del c["labels"], c["sidecar_version"]
    with pytest.raises(VmfError, match="lacks keys: sidecar_version, labels"):
        validate_sidecar(c, "m.json")


def test_make_card_refuses_a_key_the_definition_does_not_have():
    with pytest.raises(TypeError, match="not model-card keys: colour"):
        card(colour="RGB")


def test_the_suite_checks_the_cards_it_writes(tmp_path, monkeypatch):
    # tests/conftest.py wraps card_text; every writer must go through it to be checked.
    assert sidecar.card_text.__name__ == "checked"
    seen = []
    hook = sidecar.card_text
    monkeypatch.setattr(sidecar, "card_text", lambda meta: seen.append(meta) or hook(meta))
    write_sidecar(tmp_path / "m.tflite", card())
    artifact = tmp_path / ".m.partial.onnx"
    artifact.write_bytes(b"x")
    sidecar.publish_with_card(artifact, tmp_path / "m.onnx", card())
    assert len(seen) == 2 and read_sidecar(tmp_path / "m.onnx") == card() | {}
