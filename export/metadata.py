"""The model card of an artifact: one dict, in the sidecar and inside the file.

``build_metadata`` assembles the card ``vmf.contract.card.CARD_KEYS`` defines
(docs/model-card.md); ``embed`` writes the
same dict into the artifact where the format has a place for it:
- ONNX: ``metadata_props["vmf"]`` (JSON);
- TFLite: a ``vmf.json`` associated file, i.e. a zip archive appended to the
  flatbuffer (the TFLite Metadata convention; the interpreter ignores bytes
  past the flatbuffer, and ``zipfile`` reads the archive from the end);
- Core ML: ``user_defined_metadata["vmf"]`` (JSON), edited in the package's spec;
- ONNX Runtime format (``.ort``): ``metadata_props["vmf"]`` of the ONNX it is
  converted from, which the converter copies (``embed`` checks it is there);
- ExecuTorch: a ``vmf.json`` zip archive appended to the ``.pte``, as for TFLite
  (the runtime reads the program through the offsets in its header and ignores
  what follows).
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import zipfile
from importlib import metadata as _importlib_metadata
from pathlib import Path

from vmf.contract.card import make_card
from vmf.model import VariantConfig

METADATA_KEY = "vmf"
TFLITE_MEMBER = "vmf.json"
_PACKAGES = (
    "vmf",
    "torch",
    "numpy",
    "onnx",
    "onnxruntime",
    "onnxsim",
    "onnx2tf",
    "tensorflow",
    "litert-torch",
    "ai-edge-litert",
    "ai-edge-quantizer",
    "coremltools",
    "executorch",
)


def versions() -> dict[str, str | None]:
    """Installed versions of the packages an export may go through (None: not installed)."""
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = _importlib_metadata.version(name)
        except _importlib_metadata.PackageNotFoundError:
            found[name] = None
    return found


def build_metadata(
    *,
    cfg: VariantConfig,
    baseline: bool,
    frames: int,
    resolution: int,
    num_classes: int,
    target: str,
    form: str,
    precision: str,
    converter: str | None,
    input_name: str,
    layout: str,
    labels: list[str],
    weights_sha256: str,
    untrained: bool,
    parity: dict,
    macs: int,
    params: int,
    lint: dict | None = None,
    sample_fps: float | None = None,
    clip_sampling: str | None = None,
    partitions: dict | None = None,
) -> dict:
    """The sidecar dict of one artifact (``vmf.contract.card.make_card``), validated.

    ``sample_fps`` and ``clip_sampling`` say how the model was trained to see
    video (its checkpoint records them; None for older ones).
    """
    return make_card(
        variant=cfg.name,
        baseline=baseline,
        frames=frames,
        resolution=resolution,
        temporal_stride=cfg.temporal_stride,
        input_name=input_name,
        layout=layout,
        labels=labels,
        precision=precision,
        converter=converter,
        weights_sha256=weights_sha256,
        untrained=bool(untrained),
        parity=parity,
        macs=macs,
        params=params,
        versions=versions(),
        source=f"metadata of {cfg.name} {target} {precision}",
        num_classes=int(num_classes),
        target=target,
        form=form,
        lint=lint,
        sample_fps=sample_fps,
        clip_sampling=clip_sampling,
        **({"partitions": partitions} if partitions is not None else {}),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def embed(path: "str | os.PathLike", meta: dict) -> Path:
    """Write ``meta`` into the artifact at ``path`` (.onnx, .tflite, .mlpackage or .pte)."""
    path = Path(path)
    text = json.dumps(meta, separators=(",", ":"))
    suffix = path.suffix
    if suffix == ".onnx":
        _embed_onnx(path, text)
    elif suffix in (".tflite", ".pte"):
        _embed_tflite(path, text)
    elif suffix == ".mlpackage":
        _embed_coreml(path, text)
    elif suffix == ".ort":
        _check_ort_card(path, text)
    else:
        raise ValueError(f"no place for metadata in a {suffix} file")
    return path


def read_embedded(path: "str | os.PathLike") -> dict:
    """The dict ``embed`` wrote into ``path``."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        return json.loads(props[METADATA_KEY])
    if path.suffix in (".tflite", ".pte"):
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(TFLITE_MEMBER))
    if path.suffix == ".mlpackage":
        return json.loads(_coreml_spec(path)[1].description.metadata.userDefined[METADATA_KEY])
    if path.suffix == ".ort":
        return json.loads(_ort_metadata(path)[METADATA_KEY])
    raise ValueError(f"no metadata in a {path.suffix} file")


def _embed_onnx(path: Path, text: str) -> None:
    import onnx

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=METADATA_KEY, value=text)
    onnx.save(model, str(path))


def _ort_metadata(path: Path) -> dict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return dict(session.get_modelmeta().custom_metadata_map)


def _check_ort_card(path: Path, text: str) -> None:
    """A ``.ort`` cannot be edited: its card comes from the ONNX it was converted from; check it."""
    if _ort_metadata(path).get(METADATA_KEY) != text:
        raise ValueError(f"{path.name} does not carry the model card it is published with")


def _embed_tflite(path: Path, text: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(TFLITE_MEMBER, text)
    with open(path, "ab") as f:
        f.write(buffer.getvalue())


def _coreml_spec(path: Path):
    from coremltools.proto import Model_pb2

    manifest = json.loads((path / "Manifest.json").read_text())
    root = manifest["rootModelIdentifier"]
    spec_file = path / "Data" / manifest["itemInfoEntries"][root]["path"]
    spec = Model_pb2.Model()
    spec.ParseFromString(spec_file.read_bytes())
    return spec_file, spec


def _embed_coreml(path: Path, text: str) -> None:
    spec_file, spec = _coreml_spec(path)
    spec.description.metadata.userDefined[METADATA_KEY] = text
    spec_file.write_bytes(spec.SerializeToString())
