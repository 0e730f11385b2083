"""Split artifacts: the (2+1)D stem and the rest of the network ("body") as two models.

Why (docs/streaming.md, "Stem reuse"): the stem's output frame t' depends only
on the k_t input frames ``s_t t' - p .. s_t t' - p + k_t - 1`` it reads (paper
§3: a 1x3x3 conv, a depthwise k_t x 1 x 1 conv of stride s_t, BN, ReLU; nothing
mixes frames further apart). A stream classifies overlapping clips every hop,
so with a hop that is a multiple of s_t most of a clip's stem outputs were
already computed for an earlier clip, from the very same frames. Only the
body (the blocks, whose tokens attend over the whole clip) must run again.

- The **stem half** takes one window of k_t frames ``[k_t, 3, R, R]`` (TCHW)
  and gives one stem output frame ``[1, C, R', R']``: the fused conv of
  ``deployable.stem`` (conv_xy, conv_t and BN folded into one Conv2d over the
  3 k_t channels of the window) followed by ReLU. A window that would reach
  outside the clip (the first output frame when p > 0) is fed with those
  frames zeroed: the reference's zero padding in time (conv_xy has no bias).
- The **body half** takes the T' stem output frames ``[T', C, R', R']`` and
  gives the logits, exactly as the deployable form does after its stem.

``add_split(artifact)`` writes ``<name>.stem.onnx`` and ``<name>.body.onnx``
beside an exported ``<name>.onnx``, checks the *composed* result against the
reference model on the parity clips (the gate of the full artifact, 1e-4
relative), embeds one export id in both halves and records both in the
artifact's model card under ``"split"``. The runtime (``vmf.runtime.stem_reuse``)
uses them automatically and refuses halves whose ids disagree with the card.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vmf.contract.card import read_sidecar
from vmf.contract.split_layout import (
    HALF_KEY,
    ID_KEY,
    file_sha256,
    output_frames,
    read_stamp,  # noqa: F401
    stem_windows,
    window,
)
from vmf.contract.targets import REGISTRY, by_suffix
from vmf.model import VmfError, state_dict_sha256
from vmf.model.cli import Parser, run_main

from .deployable.folding import bn_affine
from .sidecar import write_sidecar

SPLIT_FORMAT = 1
STEM_INPUT = "window"
FEATURES = "stem_features"


def compose(stem, body, clip: np.ndarray, geometry: dict) -> np.ndarray:
    """Logits of one TCHW clip through the two halves (every stem output computed)."""
    features = np.concatenate(
        [
            stem(np.ascontiguousarray(window(clip, a, b)))
            for a, b in stem_windows(
                clip.shape[0],
                geometry["temporal_kernel"],
                geometry["temporal_stride"],
                geometry["temporal_padding"],
            )
        ]
    )
    return body(features)


class StemWindow(nn.Module):
    """``[k_t, 3, R, R]`` -> ``[1, C, R', R']``: one stem output frame from the frames it reads."""

    def __init__(self, conv: nn.Conv2d, kernel: int, resolution: int, layout: str = "TCHW"):
        super().__init__()
        self.conv = conv
        self.act = nn.ReLU()
        self.layout = layout
        self.shape = (1, 3 * kernel, resolution, resolution)
        self.hwc_shape = (1, resolution, resolution, 3 * kernel)

    @classmethod
    def from_reference(cls, stem, resolution: int, layout: str = "TCHW") -> "StemWindow":
        kernel = stem.conv_t.kernel_size[0]
        w_xy = stem.conv_xy.weight.detach().double()[:, :, 0]  # (C, 3, 3, 3)
        w_t = stem.conv_t.weight.detach().double()[:, 0, :, 0, 0]  # (C, k_t)
        scale, shift = bn_affine(stem.bn)
        # W[c, (j, ci)] = w_t[c, j] * w_xy[c, ci] * bn_scale[c]: frame j's channels are j*3 .. j*3+2,
        # which is what reshaping a TCHW window to [1, 3 k_t, R, R] gives.
        weight = (w_t[:, :, None, None, None] * w_xy[:, None]).flatten(1, 2)
        conv = nn.Conv2d(
            3 * kernel,
            weight.shape[0],
            tuple(stem.conv_xy.kernel_size[1:]),
            stride=tuple(stem.conv_xy.stride[1:]),
            padding=tuple(stem.conv_xy.padding[1:]),
            bias=True,
        )
        conv.weight.data.copy_((weight * scale[:, None, None, None]).float())
        conv.bias.data.copy_(shift.float())
        return cls(conv, kernel, resolution, layout).eval()

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        if self.layout == "THWC":  # [k, R, R, 3] -> NHWC [1, R, R, 3k] (channel j*3+ci), as NCHW
            x = window.permute(1, 2, 0, 3).reshape(self.hwc_shape).permute(0, 3, 1, 2)
        else:
            x = window.reshape(self.shape)
        return self.act(self.conv(x))


class StemBody(nn.Module):
    """``[T', C, R', R']`` stem outputs -> logits ``[1, classes]``: the deployable form after its stem."""

    def __init__(self, deployable: nn.Module):
        super().__init__()
        self.tokens = deployable.tokens
        self.blocks = deployable.blocks
        self.bridge_final = deployable.bridge_final
        self.head = deployable.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.tokens
        for block in self.blocks:
            x, z = block(x, z)
        return self.head(x, self.bridge_final(x, z))


def geometry_of(model) -> dict:
    conv_t = model.stem.conv_t
    return {
        "temporal_kernel": int(conv_t.kernel_size[0]),
        "temporal_stride": int(conv_t.stride[0]),
        "temporal_padding": int(conv_t.padding[0]),
    }


def build_halves(
    model, frames: int, resolution: int, layout: str = "TCHW"
) -> tuple[StemWindow, StemBody, dict]:
    """The two halves of ``model`` (a reference ``VideoMobileFormer``) and their geometry.

    ``layout`` is the clip layout of the artifact ("TCHW" for ONNX, "THWC" for
    TFLite): the stem half takes its window in it; the body always takes NCHW
    stem frames, as the deployable form's blocks do.
    """
    from .deployable import make_deployable

    deployable = make_deployable(model, frames=frames, layout=layout, resolution=resolution)
    geometry = geometry_of(model)
    stem = StemWindow.from_reference(model.stem, resolution, layout)
    k = geometry["temporal_kernel"]
    window_shape = [k, 3, resolution, resolution] if layout == "TCHW" else [k, resolution, resolution, 3]
    with torch.no_grad():
        one = stem(torch.zeros(window_shape))
    out = output_frames(
        frames, geometry["temporal_kernel"], geometry["temporal_stride"], geometry["temporal_padding"]
    )
    geometry.update(
        output_frames=out, window_shape=window_shape, features_shape=[out, *one.shape[1:]], layout=layout
    )
    return stem, StemBody(deployable).eval(), geometry


def _tflite_runner(path: Path, threads: int = 2):
    from .litert import load_interpreter

    interpreter = load_interpreter(path, threads)
    source = interpreter.get_input_details()[0]["index"]
    sink = interpreter.get_output_details()[0]["index"]

    def run(x):
        interpreter.set_tensor(source, np.ascontiguousarray(x, dtype=np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(sink).copy()

    return run


def _runner(path: Path, threads: int = 2):
    return _tflite_runner(path, threads) if _target_of(path) == "tflite" else _onnx_runner(path, threads)


def _target_of(path: "str | Path") -> str | None:
    """The splittable target whose files end like ``path`` (None: not one)."""
    target = by_suffix(Path(path).suffix)
    return target.name if target is not None and target.splittable else None


def _onnx_runner(path: Path, threads: int = 2):
    from vmf.model.ort_session import ort_session

    session = ort_session(path, threads=threads)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def _stamp(path: Path, split_id: str, half: str) -> None:
    import onnx

    model = onnx.load(str(path))
    for key, value in ((ID_KEY, split_id), (HALF_KEY, half)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def split_parity(
    stem_path: Path,
    body_path: Path,
    model,
    frames: int,
    resolution: int,
    geometry: dict,
    *,
    clips: int | None = None,
    against=None,
) -> dict:
    """Gate the composed halves on the structured parity clips.

    Against the reference ``model`` by default, or against ``against`` (a
    function TCHW clip -> logits, e.g. the full exported artifact).
    """
    from .parity import PARITY_CLIPS, compare, gate, structured_clips, to_layout

    data = structured_clips(clips or PARITY_CLIPS, frames, resolution, seed=0)
    if against is not None:
        references = np.concatenate([against(c) for c in data])
    else:
        with torch.no_grad():
            references = np.concatenate(
                [model(torch.from_numpy(c).permute(1, 0, 2, 3)[None]).numpy() for c in data]
            )
    stem, body = _runner(stem_path), _runner(body_path)
    layout = geometry.get("layout", "TCHW")
    try:
        outputs = np.concatenate(
            [compose(stem, body, np.ascontiguousarray(to_layout(c, layout)), geometry) for c in data]
        )
    except Exception as exc:  # halves of different shapes do not even compose
        return {
            "checked": True,
            "passed": False,
            "metric": "max_rel_err",
            "reason": f"the halves do not fit together ({str(exc).splitlines()[0][:160]})",
        }
    figures = gate(compare(outputs, references), _target_of(stem_path), "fp32")
    figures["checked"] = True
    figures["composed"] = True
    return figures


def add_split(artifact: "str | Path", model, *, verify: bool = True, log=print) -> dict:
    """Write the stem and body halves of ``artifact`` (.onnx or .tflite) and record them in its card.

    ``model`` is the reference model the artifact was exported from (its
    weights' hash must match the card). Nothing is left half-written: the
    halves go to a scratch folder, are gated, then renamed into place, and the
    card is rewritten last. Returns the card's ``"split"`` entry.
    """
    artifact = Path(artifact)
    suffix = artifact.suffix.lower()
    target = _target_of(artifact)
    if target is None:
        raise VmfError(f"split artifacts are written for {_kinds()} exports; {artifact.name} is neither")
    meta = read_sidecar(artifact)
    layout = meta.get("input_layout")
    if meta.get("precision") != "fp32":
        raise VmfError(
            f"{artifact.name} is {meta.get('precision')}; split halves are written for fp32 exports"
        )
    sha = state_dict_sha256(model.state_dict())
    if meta.get("weights_sha256") not in (None, sha):
        raise VmfError(
            f"the weights given are not the ones {artifact.name} was exported from "
            "(its model card records another weights_sha256)"
        )
    frames, resolution = int(meta["frames"]), int(meta["resolution"])
    stem, body, geometry = build_halves(model, frames, resolution, layout)
    name = artifact.name[: -len(suffix)]
    stem_name, body_name = f"{name}.stem{suffix}", f"{name}.body{suffix}"
    split_id = uuid.uuid4().hex
    scratch = Path(tempfile.mkdtemp(prefix=".vmf-split-", dir=artifact.parent))
    try:
        stem_tmp, body_tmp = scratch / stem_name, scratch / body_name
        if target == "onnx":
            from .onnx import torch2onnx

            torch2onnx(
                stem,
                torch.zeros(geometry["window_shape"]),
                stem_tmp,
                input_name=STEM_INPUT,
                output_name=FEATURES,
            )
            torch2onnx(
                body,
                torch.zeros(geometry["features_shape"]),
                body_tmp,
                input_name=FEATURES,
                output_name=meta.get("output", "logits"),
            )
            _stamp(stem_tmp, split_id, "stem")
            _stamp(body_tmp, split_id, "body")
        else:
            from .tflite import torch2tflite

            torch2tflite(stem, torch.zeros(geometry["window_shape"]), stem_tmp)
            torch2tflite(body, torch.zeros(geometry["features_shape"]), body_tmp)
        parity = split_parity(stem_tmp, body_tmp, model, frames, resolution, geometry)
        if not parity["passed"] and verify:
            raise VmfError(
                f"parity check failed for the split of {artifact.name}: composed max rel "
                f"err {parity.get('max_rel_err', float('nan')):.2e} > "
                f"{parity.get('threshold', 0):.0e}; nothing was written"
            )
        # The halves must also reproduce the artifact they sit beside (the same weights).
        if target == "onnx":
            against = _onnx_runner(artifact)
        else:
            from .litert import tflite_predictor

            against = tflite_predictor(artifact, layout)
        full = split_parity(stem_tmp, body_tmp, model, frames, resolution, geometry, against=against)
        if not full["passed"] and verify:
            raise VmfError(
                f"the split halves do not reproduce {artifact.name} (max rel err "
                f"{full.get('max_rel_err', float('nan')):.2e}): the weights given are "
                "not the ones it was exported from; nothing was written"
            )
        parity["artifact_max_rel_err"] = full.get("max_rel_err")
        entry = {
            "format": SPLIT_FORMAT,
            "id": split_id,
            "stem": {
                "file": stem_name,
                "input_name": STEM_INPUT,
                "input_shape": geometry["window_shape"],
                "output_name": FEATURES,
                "output_shape": [1, *geometry["features_shape"][1:]],
                "description": "one stem output frame from the k_t clip frames it reads "
                "(zero frames where the window leaves the clip)",
            },
            "body": {
                "file": body_name,
                "input_name": FEATURES,
                "input_shape": geometry["features_shape"],
                "output_name": meta.get("output", "logits"),
                "description": "the network after its stem: the T' stem output frames in order -> logits",
            },
            "layout": layout,
            "temporal_kernel": geometry["temporal_kernel"],
            "temporal_stride": geometry["temporal_stride"],
            "temporal_padding": geometry["temporal_padding"],
            "output_frames": geometry["output_frames"],
            "parity": parity,
        }
        entry["stem"]["sha256"] = file_sha256(stem_tmp)
        entry["body"]["sha256"] = file_sha256(body_tmp)
        for tmp, final in ((stem_tmp, artifact.parent / stem_name), (body_tmp, artifact.parent / body_name)):
            shutil.move(str(tmp), str(final))
        write_sidecar(artifact, {**meta, "split": entry})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log(
        f"split: {stem_name} + {body_name}; composed max rel err "
        f"{parity.get('max_rel_err', float('nan')):.1e} <= {parity.get('threshold', 0):.0e} "
        f"{'ok' if parity['passed'] else 'FAILED'}"
    )
    return entry


def _kinds() -> str:
    """``.onnx and .tflite``: the suffixes of the splittable targets."""
    return " and ".join(t.suffix for t in REGISTRY.values() if t.splittable)


def model_for(artifact: "str | Path", weights=None, warn=None):
    """The reference model an export came from: ``weights``, or the seeded random weights."""
    from .session import load_model

    meta = read_sidecar(artifact)
    model, _ = load_model(
        meta["variant"], weights, bool(meta["baseline"]), len(meta["labels"]), warn or (lambda message: None)
    )
    return model


def build_parser() -> Parser:
    p = Parser(
        prog="python -m vmf.export.split",
        description=f"Add stem + body halves (for stem reuse in streams) to an exported {_kinds()} model.",
    )
    p.add_argument("artifact", help=f"a {_kinds()} written by vmf-export (its .json card beside it)")
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="the checkpoint it was exported from (default: vmf-export's seeded random weights)",
    )
    return p


def main(argv=None) -> int:
    """The command line: the convention of ``vmf.model.cli`` (usage errors exit 2, others 1)."""

    def body() -> int:
        args = build_parser().parse_args(argv)
        add_split(args.artifact, model_for(args.artifact, args.weights))
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
