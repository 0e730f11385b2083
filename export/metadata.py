"""The model card of an artifact: one dict, in the sidecar and inside the file.

``ModelFacts`` is what every card of one export says about the model (one
frozen record, measured once); ``build_metadata`` assembles from it the card
``vmf.contract.card.CARD_KEYS`` defines (docs/model-card.md); ``embed`` writes the
same dict into the artifact where its target's record says (``Target.card_in``
in ``vmf.contract.targets``):
- ONNX: ``metadata_props["vmf"]`` (JSON);
- TFLite: a ``vmf.json`` associated file, i.e. a zip archive appended to the
  flatbuffer (the TFLite Metadata convention; the interpreter ignores bytes
  past the flatbuffer, and ``zipfile`` reads the archive from the end);
- Core ML: ``user_defined_metadata["vmf"]`` (JSON), edited in the package's spec;
- ONNX Runtime format (``.ort``): ``metadata_props["vmf"]`` of the ONNX it is
  converted from, which the converter copies (``embed`` checks it is there);
- ExecuTorch: a ``vmf.json`` zip archive appended to the ``.pte``, as for TFLite
  (the runtime reads the program through the offsets in its header and ignores
  what follows);
- PyTorch (``.pt2``): a ``vmf.json`` extra file of the ``torch.export`` archive
  (``torch.export.save``'s ``extra_files``), which ``torch.export.load`` hands back;
- a web export (a folder): ``model/card.json``, which the page reads, and the
  ``metadata_props`` of its ``model/model.onnx`` (``vmf.contract.web_layout``).
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import zipfile
from dataclasses import dataclass
from importlib import metadata as _importlib_metadata
from pathlib import Path

from vmf.contract import web_layout
from vmf.contract.card import CARD_FILE, make_card
from vmf.contract.targets import artifact_name, by_suffix
from vmf.model import VARIANTS, VariantConfig

METADATA_KEY = "vmf"
TFLITE_MEMBER = CARD_FILE
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


@dataclass(frozen=True)
class ModelFacts:
    """What every card of one export says about the model, measured once (``ModelFacts.of``)."""

    cfg: VariantConfig  # the variant, its temporal stride (and a checkpoint's own stem)
    baseline: bool
    frames: int
    resolution: int
    labels: tuple[str, ...]
    num_classes: int
    weights_sha256: str
    untrained: bool
    macs: int
    params: int
    sample_fps: float | None = None  # how the model was trained to see video (its
    clip_sampling: str | None = None  # checkpoint records them; None for older ones)

    @classmethod
    def of(cls, model, *, untrained: bool, frames: int, resolution: int, labels) -> "ModelFacts":
        """The facts of a loaded reference ``model`` exported at ``frames`` x ``resolution``."""
        from vmf.model import count_macs, count_params, state_dict_sha256

        return cls(
            cfg=model.cfg,
            baseline=bool(model.baseline),
            frames=frames,
            resolution=resolution,
            labels=tuple(labels),
            num_classes=model.num_classes,
            weights_sha256=state_dict_sha256(model.state_dict()),
            untrained=bool(untrained),
            macs=count_macs(model, frames, resolution),
            params=count_params(model),
            sample_fps=getattr(model, "sample_fps", None),
            clip_sampling=getattr(model, "clip_sampling", None),
        )

    @property
    def variant(self) -> str:
        return self.cfg.name

    @property
    def input_shape(self) -> list[int]:
        """The TCHW clip shape [T, 3, R, R]."""
        return [self.frames, 3, self.resolution, self.resolution]

    def artifact_name(self, target: str, precision: str, converter: str | None, form: str) -> str:
        """``vmf-560m_t16_fp32.onnx`` (``vmf.contract.targets.artifact_name``)."""
        # A trained checkpoint's clip differs from the table's: names say where an export
        # differs from the variant table.
        table = VARIANTS.get(self.cfg.name, self.cfg)
        return artifact_name(
            self.cfg.name,
            baseline=self.baseline,
            frames=self.frames,
            resolution=self.resolution,
            default_clip=(table.frames, table.resolution),
            target=target,
            precision=precision,
            converter=converter,
            form=form,
        )


def build_metadata(
    facts: ModelFacts,
    *,
    target: str,
    form: str,
    precision: str,
    converter: str | None,
    input_name: str,
    layout: str,
    parity: dict,
    lint: dict | None = None,
    partitions: dict | None = None,
) -> dict:
    """The sidecar dict of one artifact of the model ``facts`` describe (``make_card``), validated."""
    return make_card(
        variant=facts.variant,
        baseline=facts.baseline,
        frames=facts.frames,
        resolution=facts.resolution,
        temporal_stride=facts.cfg.temporal_stride,
        input_name=input_name,
        layout=layout,
        labels=facts.labels,
        precision=precision,
        converter=converter,
        weights_sha256=facts.weights_sha256,
        untrained=facts.untrained,
        parity=parity,
        macs=facts.macs,
        params=facts.params,
        versions=versions(),
        source=f"metadata of {facts.variant} {target} {precision}",
        num_classes=int(facts.num_classes),
        target=target,
        form=form,
        lint=lint,
        sample_fps=facts.sample_fps,
        clip_sampling=facts.clip_sampling,
        **({"partitions": partitions} if partitions is not None else {}),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _place(path: Path, doing: str) -> str:
    """Where the card goes in ``path``: its target's ``card_in`` (``vmf.contract.targets``)."""
    target = by_suffix(path.suffix)
    if target is None:
        raise ValueError(f"{doing} a {path.suffix} file")
    return target.card_in


def embed(path: "str | os.PathLike", meta: dict) -> Path:
    """Write ``meta`` into the artifact at ``path`` (where its target's ``card_in`` says)."""
    path = Path(path)
    text = json.dumps(meta, separators=(",", ":"))
    place = _place(path, "no place for metadata in")
    if place == "onnx-metadata":
        _embed_onnx(path, text)
    elif place == "appended-zip":
        _embed_tflite(path, text)
    elif place == "coreml-metadata":
        _embed_coreml(path, text)
    elif place == "pt2-extra-file":
        _embed_pt2(path, text)
    elif place == "web-site":
        _embed_web(path, text, meta)
    else:  # from-onnx: a .ort cannot be edited, it was converted from a carded ONNX
        _check_ort_card(path, text)
    return path


def read_embedded(path: "str | os.PathLike") -> dict:
    """The dict ``embed`` wrote into ``path``."""
    path = Path(path)
    place = _place(path, "no metadata in")
    if place == "onnx-metadata":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        return json.loads(props[METADATA_KEY])
    if place == "appended-zip":
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(TFLITE_MEMBER))
    if place == "coreml-metadata":
        return json.loads(_coreml_spec(path)[1].description.metadata.userDefined[METADATA_KEY])
    if place == "pt2-extra-file":
        return json.loads(_pt2_load(path)[1])
    if place == "web-site":
        return json.loads((path / web_layout.CARD_FILE).read_text())
    return json.loads(_ort_metadata(path)[METADATA_KEY])


def _embed_onnx(path: Path, text: str) -> None:
    import onnx

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=METADATA_KEY, value=text)
    onnx.save(model, str(path))


def _embed_web(path: Path, text: str, meta: dict) -> None:
    """The card the page reads, and the same card inside the folder's ONNX."""
    from . import sidecar  # by attribute: the test suite checks every card_text written

    _embed_onnx(path / web_layout.MODEL_FILE, text)
    (path / web_layout.CARD_FILE).write_text(sidecar.card_text(meta))


def _ort_metadata(path: Path) -> dict:
    from vmf.model.ort_session import ort_session

    session = ort_session(path)
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


def _pt2_load(path: Path):
    """(the ``torch.export`` program in ``path``, its ``vmf.json`` extra file or "").

    Read from memory: the program must not keep the file open (``_embed_pt2`` rewrites it).
    """
    import torch

    extra = {CARD_FILE: ""}
    program = torch.export.load(io.BytesIO(path.read_bytes()), extra_files=extra)
    return program, extra[CARD_FILE]


def _embed_pt2(path: Path, text: str) -> None:
    """Save the program again with the card as an extra file (an archive is not edited in place)."""
    import torch

    program, _ = _pt2_load(path)
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={CARD_FILE: text})
    path.write_bytes(buffer.getvalue())
