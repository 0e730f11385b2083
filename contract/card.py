"""The model card: the ``<stem>.json`` beside every exported artifact, defined once.

One dict describes the input contract (frames, resolution, layout, mean/std,
colour order), the labels, how the model was trained to see video
(``sample_fps``, ``clip_sampling``) and where the weights came from.
``vmf-export`` writes it beside the artifact and embeds the same dict where the
format allows (``vmf.export.sidecar``, ``vmf.export.metadata``); the runtime,
evaluation and the Android app read it here, to feed the model exactly what the
reference model takes. This module is torch-free and imports nothing of the
packages above it.

``CARD_KEYS`` below is the one definition of the card: every key, its JSON type,
whether it is required, and what it means. The JSON Schema
(``docs/model-card.schema.json``, ``json_schema()``), the key list the readers
check and the documentation (``docs/model-card.md``) all come from it; adding a
key is one line here. Version policy: ``sidecar_version`` is the card's major
version. New optional keys do not change it; a reader refuses a card whose
major version is newer than the one it knows (``docs/model-card.md``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import VmfError
from .preprocess import MEAN, STD
from .sampling import CLIP_SAMPLINGS

SIDECAR_VERSION = 1  # the card's major version (see the module docstring)
LAYOUTS = ("TCHW", "THWC")  # frames folded into the batch axis: rank 4, never 1x3xTxHxW
PRECISIONS = ("fp32", "fp16", "int8")
SCHEMA_ID = "urn:vmf:model-card:v1"
# The tensor names an exported model carries (ONNX names them; the card's input_name says so).
INPUT_NAME = "clip"
OUTPUT_NAME = "logits"
# The card's file name where an artifact carries it as a file of its own: the member of the
# zip appended to a .tflite or .pte, the extra file of a .pt2 (vmf.export.metadata).
CARD_FILE = "vmf.json"


@dataclass(frozen=True)
class CardKey:
    """One key of the model card: its JSON Schema and its meaning."""

    name: str
    schema: dict
    required: bool
    doc: str
    extra: dict = field(default_factory=dict)


def _t(*types: str) -> dict:
    return {"type": types[0] if len(types) == 1 else list(types)}


_POSITIVE = {"type": "integer", "minimum": 1}
_OPEN_OBJECT = {"type": "object", "additionalProperties": True}

# The model card, key by key. required=True: every card carries it, readers may rely on it.
CARD_KEYS: tuple[CardKey, ...] = (
    CardKey(
        "sidecar_version", _POSITIVE, True, "Major version of this card format; a reader refuses a newer one."
    ),
    CardKey("variant", _t("string"), True, "Model variant: 560M, 1G, 2G, 5G (paper Table 1), or X3D-S."),
    CardKey("baseline", _t("boolean"), True, "True for the Mobile3D baseline (paper Table 2)."),
    CardKey("frames", _POSITIVE, True, "Frames per clip, T."),
    CardKey("resolution", _POSITIVE, True, "Input side R in pixels (square frames)."),
    CardKey("temporal_stride", _POSITIVE, True, "The stem's temporal stride; frames is a multiple of it."),
    CardKey("input_name", _t("string"), True, "Name of the model's input tensor in the artifact."),
    CardKey(
        "input_layout", {"enum": list(LAYOUTS)}, True, "TCHW or THWC: frames are the batch axis (rank 4)."
    ),
    CardKey(
        "input_shape",
        {"type": "array", "items": _POSITIVE, "minItems": 4, "maxItems": 4},
        True,
        "[T, 3, R, R] for TCHW, [T, R, R, 3] for THWC.",
    ),
    CardKey(
        "mean",
        {"type": "array", "items": _t("number"), "minItems": 3, "maxItems": 3},
        True,
        "Per-channel mean (R, G, B) subtracted from pixels scaled to [0, 1].",
    ),
    CardKey(
        "std",
        {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 3, "maxItems": 3},
        True,
        "Per-channel standard deviation the centred pixels are divided by.",
    ),
    CardKey("color", {"enum": ["RGB"]}, True, "Channel order of the input."),
    CardKey(
        "labels",
        {"type": "array", "items": _t("string"), "minItems": 1},
        True,
        "Class names, one per output value, in output order.",
    ),
    CardKey("num_classes", _POSITIVE, False, "Size of the output; equals the number of labels."),
    CardKey(
        "output",
        {"enum": ["logits"]},
        True,
        "What the single output holds: unnormalised class scores of shape [1, num_classes].",
    ),
    CardKey(
        "target",
        _t("string"),
        False,
        "Export target: onnx, tflite, coreml, ort, executorch, web (torch for a checkpoint).",
    ),
    CardKey("form", _t("string"), False, "deployable (rank-4 rewrite) or naive (the 5-D model as written)."),
    CardKey("precision", {"enum": list(PRECISIONS)}, True, "Numeric precision of the weights and compute."),
    CardKey("converter", _t("string", "null"), True, "Tool chain that produced the artifact."),
    CardKey("weights_sha256", _t("string", "null"), True, "SHA-256 of the PyTorch state dict exported."),
    CardKey("untrained", _t("boolean", "null"), True, "True when exported from seeded random weights."),
    CardKey(
        "parity",
        {"type": ["object", "null"]},
        True,
        "Agreement with PyTorch measured at export (metric, threshold, passed, checked).",
    ),
    CardKey("lint", {"type": ["object", "null"]}, False, "Op counts and maximum tensor rank of the graph."),
    CardKey("macs", {"type": ["integer", "null"], "minimum": 0}, True, "Multiply-accumulates per clip."),
    CardKey("params", {"type": ["integer", "null"], "minimum": 0}, True, "Parameters of the model."),
    CardKey(
        "sample_fps",
        {"type": ["number", "null"], "exclusiveMinimum": 0},
        False,
        "Frame rate the model was trained to see (frames sampled per second of video).",
    ),
    CardKey(
        "clip_sampling",
        {"enum": [*CLIP_SAMPLINGS, None]},
        False,
        "Which clips the model was trained on: video (one clip spread over each whole video, "
        "the paper's protocol) or stream (consecutive kept frames, the windows a live stream "
        "classifies); null or absent: not recorded.",
    ),
    CardKey(
        "versions",
        {"type": "object", "additionalProperties": _t("string", "null")},
        True,
        "Package versions used by the export (null: not installed).",
    ),
    CardKey("created", _t("string"), False, "UTC time of the export, ISO 8601."),
    CardKey(
        "partitions",
        _OPEN_OBJECT,
        False,
        "Per-accelerator partition counts of the converted graph (target-specific).",
    ),
    CardKey(
        "ort_config",
        _t("string"),
        False,
        "File name of the required_operators.config beside a .ort (target ort).",
    ),
    CardKey(
        "providers",
        {"type": "array", "items": _t("string"), "minItems": 1},
        False,
        "ONNX Runtime Web execution providers a web export ships runtime files for, "
        'e.g. ["wasm"] (target web; docs/web.md).',
    ),
    CardKey(
        "split",
        _OPEN_OBJECT,
        False,
        "Stem and body halves written by vmf-export --split (file names, sha256, export id), "
        "which a stream uses to compute the stem only for new frames (docs/streaming.md).",
    ),
)

# Keys every sidecar carries; readers may rely on them.
REQUIRED_KEYS = tuple(k.name for k in CARD_KEYS if k.required)


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of the card; ``docs/model-card.schema.json`` holds it."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "vmf model card",
        "description": "The JSON file vmf-export writes beside every artifact (docs/model-card.md).",
        "type": "object",
        "required": [k.name for k in CARD_KEYS if k.required],
        "properties": {k.name: {**k.schema, "description": k.doc} for k in CARD_KEYS},
        "additionalProperties": True,  # a newer minor card may add keys; readers ignore them
    }


def schema_errors(value, schema: dict, where: str = "") -> list[str]:
    """Check ``value`` against the subset of JSON Schema ``json_schema`` uses; the problems found."""
    errors: list[str] = []
    here = where or "the card"
    types = schema.get("type")
    if types is not None:
        wanted = [types] if isinstance(types, str) else types
        if not any(_is_type(value, t) for t in wanted):
            return [f"{here} must be {' or '.join(wanted)}, not {_json_type(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join("null" if v is None else str(v) for v in schema["enum"])
        return [f"{here} is {value!r}, not one of {allowed}"]
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{here} is {value}, below {schema['minimum']}")
        if "exclusiveMinimum" in schema and not value > schema["exclusiveMinimum"]:
            errors.append(f"{here} is {value}, must be > {schema['exclusiveMinimum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{here} has {len(value)} items, fewer than {schema['minItems']}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{here} has {len(value)} items, more than {schema['maxItems']}")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += schema_errors(item, schema["items"], f"{here}[{i}]")
    if isinstance(value, dict):
        missing = [k for k in schema.get("required", ()) if k not in value]
        if missing:
            errors.append(f"{here} lacks keys: {', '.join(missing)}")
        props = schema.get("properties", {})
        for key, item in value.items():
            sub = props.get(key, schema.get("additionalProperties", True))
            if sub is False:
                errors.append(f"{here} has an unknown key {key!r}")
            elif isinstance(sub, dict):
                errors += schema_errors(item, sub, key if not where else f"{where}.{key}")
    return errors


def _is_type(value, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise ValueError(f"schema type {name!r} is not supported")


def _json_type(value) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, name):
            return name
    return type(value).__name__


def sidecar_path(artifact: "str | os.PathLike") -> Path:
    """``vmf-560m_fp32.tflite`` -> ``vmf-560m_fp32.json`` (``.mlpackage`` dirs too)."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name.rsplit(".", 1)[0] + ".json")


def validate_sidecar(meta: dict, source: str = "sidecar") -> dict:
    """Check the card against its schema and its own consistency; raise one clear ``VmfError``."""
    if not isinstance(meta, dict):
        raise VmfError(f"{source} is not a JSON object")
    version = meta.get("sidecar_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SIDECAR_VERSION:
        raise VmfError(
            f"{source} is model card version {version}, newer than this vmf reads "
            f"({SIDECAR_VERSION}): upgrade vmf (pip install -U vmf)"
        )
    missing = [k.name for k in CARD_KEYS if k.required and k.name not in meta]
    if missing:
        raise VmfError(f"{source} lacks keys: {', '.join(missing)}")
    layout = meta["input_layout"]
    if layout not in LAYOUTS:
        raise VmfError(f"{source}: input_layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    if meta["color"] != "RGB":
        raise VmfError(f"{source}: color {meta['color']!r} is not supported (RGB only)")
    labels = meta["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise VmfError(f"{source}: labels must be a non-empty list of strings")
    mean, std = meta["mean"], meta["std"]
    if (
        not isinstance(mean, list)
        or not isinstance(std, list)
        or len(mean) != 3
        or len(std) != 3
        or not all(_is_type(s, "number") and s > 0 for s in std)
    ):
        raise VmfError(f"{source}: mean/std must be 3 numbers each, std > 0")
    problems = schema_errors(meta, json_schema())
    if problems:
        raise VmfError(f"{source}: {problems[0]}")
    t, r = meta["frames"], meta["resolution"]
    expected = [t, 3, r, r] if layout == "TCHW" else [t, r, r, 3]
    if meta["input_shape"] != expected:
        raise VmfError(
            f"{source}: input_shape {meta['input_shape']} does not match {layout} with "
            f"frames={t}, resolution={r} (expected {expected})"
        )
    if t % meta["temporal_stride"]:
        raise VmfError(f"{source}: frames={t} is not a multiple of temporal_stride={meta['temporal_stride']}")
    if "num_classes" in meta and meta["num_classes"] != len(labels):
        raise VmfError(
            f"{source}: {len(labels)} labels for num_classes={meta['num_classes']} "
            "(one label per output value)"
        )
    return meta


def input_shape(layout: str, frames: int, resolution: int) -> list[int]:
    """The rank-4 input shape of ``layout``: [T, 3, R, R] or [T, R, R, 3]."""
    return [frames, 3, resolution, resolution] if layout == "TCHW" else [frames, resolution, resolution, 3]


def make_card(
    *,
    variant: str,
    baseline: bool,
    frames: int,
    resolution: int,
    temporal_stride: int,
    input_name: str,
    layout: str,
    labels,
    precision: str,
    converter: "str | None",
    weights_sha256: "str | None",
    untrained: "bool | None",
    parity: "dict | None",
    macs: "int | None",
    params: "int | None",
    versions: dict,
    source: str = "model card",
    **optional,
) -> dict:
    """A validated card: the required keys from the arguments, the input contract filled in.

    Everything that writes a card (the exporter, the X3D benchmark export, the
    PyTorch runtime backend, the test fakes) goes through here; ``optional``
    takes any optional key of ``CARD_KEYS`` (an unknown one is a ``TypeError``:
    add it to ``CARD_KEYS`` first).
    """
    known = {k.name for k in CARD_KEYS}
    unknown = sorted(set(optional) - known)
    if unknown:
        raise TypeError(f"not model-card keys: {', '.join(unknown)} (add them to CARD_KEYS)")
    labels = list(labels)
    card = {
        "sidecar_version": SIDECAR_VERSION,
        "variant": variant,
        "baseline": bool(baseline),
        "frames": int(frames),
        "resolution": int(resolution),
        "temporal_stride": int(temporal_stride),
        "input_name": input_name,
        "input_layout": layout,
        "input_shape": input_shape(layout, int(frames), int(resolution)),
        "mean": list(MEAN),
        "std": list(STD),
        "color": "RGB",
        "labels": labels,
        "num_classes": len(labels),
        "output": "logits",
        "precision": precision,
        "converter": converter,
        "weights_sha256": weights_sha256,
        "untrained": untrained,
        "parity": parity,
        "macs": None if macs is None else int(macs),
        "params": None if params is None else int(params),
        "versions": dict(versions),
    }
    card.update(optional)
    return validate_sidecar(card, source)


def read_sidecar(artifact: "str | os.PathLike") -> dict:
    """Read and validate the sidecar of ``artifact`` (or a ``.json`` path itself)."""
    artifact = Path(artifact)
    path = artifact if artifact.suffix == ".json" else sidecar_path(artifact)
    if not path.is_file():
        raise VmfError(
            f"no sidecar {path.name} next to {artifact.name}: export with vmf-export, which writes it"
        )
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VmfError(f"sidecar {path} is not valid JSON ({exc})") from None
    return validate_sidecar(meta, f"sidecar {path.name}")
