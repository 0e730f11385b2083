"""The model card written next to every exported artifact (``<stem>.json``).

One dict describes the input contract (frames, resolution, layout, mean/std,
colour order), the labels and where the weights came from; ``vmf-export``
writes it beside the artifact and embeds the same dict where the format allows
(ONNX ``metadata_props``, Core ML ``user_defined_metadata``, a TFLite
associated file). The runtime and the Android app read it to feed the model
exactly what the reference model takes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from vmf.model import VmfError

SIDECAR_VERSION = 1
LAYOUTS = ("TCHW", "THWC")  # frames folded into the batch axis: rank 4, never 1x3xTxHxW

# Keys every sidecar carries; readers may rely on them.
REQUIRED_KEYS = (
    "variant", "baseline", "frames", "resolution", "temporal_stride",
    "input_name", "input_layout", "input_shape", "mean", "std", "color",
    "labels", "output", "precision", "converter", "weights_sha256", "untrained",
    "parity", "macs", "params", "versions",
)


def sidecar_path(artifact: "str | os.PathLike") -> Path:
    """``vmf-560m_fp32.tflite`` -> ``vmf-560m_fp32.json`` (``.mlpackage`` dirs too)."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name.rsplit(".", 1)[0] + ".json")


def validate_sidecar(meta: dict, source: str = "sidecar") -> dict:
    """Check the keys and the input contract; raise one clear ``VmfError`` if broken."""
    if not isinstance(meta, dict):
        raise VmfError(f"{source} is not a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise VmfError(f"{source} lacks keys: {', '.join(missing)}")
    layout = meta["input_layout"]
    if layout not in LAYOUTS:
        raise VmfError(f"{source}: input_layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    shape = list(meta["input_shape"])
    t, r = int(meta["frames"]), int(meta["resolution"])
    expected = [t, 3, r, r] if layout == "TCHW" else [t, r, r, 3]
    if shape != expected:
        raise VmfError(f"{source}: input_shape {shape} does not match {layout} with "
                       f"frames={t}, resolution={r} (expected {expected})")
    if len(meta["mean"]) != 3 or len(meta["std"]) != 3 or any(s <= 0 for s in meta["std"]):
        raise VmfError(f"{source}: mean/std must be 3 numbers each, std > 0")
    if meta["color"] != "RGB":
        raise VmfError(f"{source}: color {meta['color']!r} is not supported (RGB only)")
    if not meta["labels"] or not all(isinstance(x, str) for x in meta["labels"]):
        raise VmfError(f"{source}: labels must be a non-empty list of strings")
    return meta


def write_sidecar(artifact: "str | os.PathLike", meta: dict) -> Path:
    """Validate and write ``<stem>.json`` atomically (temporary name, then rename)."""
    path = sidecar_path(artifact)
    validate_sidecar(meta, str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a model card is meant to be read
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_sidecar(artifact: "str | os.PathLike") -> dict:
    """Read and validate the sidecar of ``artifact`` (or a ``.json`` path itself)."""
    artifact = Path(artifact)
    path = artifact if artifact.suffix == ".json" else sidecar_path(artifact)
    if not path.is_file():
        raise VmfError(f"no sidecar {path.name} next to {artifact.name}: export with vmf-export, "
                       "which writes it")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VmfError(f"sidecar {path} is not valid JSON ({exc})") from None
    return validate_sidecar(meta, f"sidecar {path.name}")
