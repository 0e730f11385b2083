"""Write the golden vectors the Android core's JUnit tests and the web core's node tests check.

The Android app and the browser page must feed their models exactly what the
Python side does, so the plain-Java core (``android_demo/core``) and the
plain-JavaScript core (``web_demo/app/core``) are tested against numbers
produced here by the Python contract itself:

* frames in OpenCV BGR -> ``vmf.contract.preprocess.FramePreprocessor`` tensors,
  both layouts (TCHW, THWC), including an odd size, an upscale and a size whose
  scaled side is an exact .5 (Python's ``round`` is half-to-even);
* the same kind of frames as Android's YUV_420_888 (planar I420, interleaved
  NV21/NV12 with pixelStride 2, rows padded past the width, buffers that end at
  the last pixel as Android's do), rotated by the camera's 0/90/180/270 degrees,
  through the YUV -> RGB reference below and then the same FramePreprocessor;
* logits -> softmax and top-5, through the runtime's scorer (``vmf.runtime.scoring``);
* the clip the runtime's ClipAssembler hands out for a run of frames, with the card;
* the model card (sidecar) of an export, and the tensor shapes LiteRT reports for the
  model beside it;
* for the web core (``web``): RGBA frames (the browser's ImageData) through the same
  FramePreprocessor, the frames ``TemporalSampler`` keeps for several camera and model
  rates, the message ``validate_sidecar`` gives for each of a list of broken cards,
  Python's ``round`` on awkward values and numpy's percentiles.

Blobs are raw little-endian arrays (``.u8``, ``.f32``) described by
``manifest.json``; regenerate everything with

    .venv/bin/python scripts/make_android_golden.py [--sidecar exports/x.json]

and check that the committed ones still match the Python code (jvm-test.sh does) with
``--check``.

Without ``--sidecar`` the fixture sidecar is written with
``vmf.export.sidecar.write_sidecar`` (every required key, the real variant
table); with it, a sidecar written by ``vmf-export`` is copied (validated).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from vmf.contract.card import make_card, read_sidecar
from vmf.contract.labels import load_labels
from vmf.contract.preprocess import FramePreprocessor
from vmf.model.files import write_text

from vmf.export.sidecar import write_sidecar
from vmf.model import CLIP_FRAMES, MEAN, NUM_CLASSES, STD, VARIANTS, VmfError
from vmf.model.files import normalise_mode
from vmf.runtime.clip_assembler import ClipAssembler
from vmf.runtime.scoring import Scorer

# Beside this script (its folder is on sys.path when it runs).
from golden_common import IMAGENET_MEAN, IMAGENET_STD, Writer, structured_frame
from golden_web import web_cases

OUT = Path(__file__).resolve().parents[1] / "android_demo/core/src/test/resources/golden"
RESOLUTION = 24  # small on purpose: the formulas, not the size, are under test
TOP_K = 5

# Full-range BT.601 (JFIF), the definition the Java core implements (Yuv420Image).
KR, KGU, KGV, KB = (np.float32(c) for c in (1.402, 0.344136, 0.714136, 1.772))


# --- frames ------------------------------------------------------------------


FRAMES = {  # name: (height, width, seed)
    "a": (48, 64, 1),
    "b": (48, 64, 2),
    "c": (64, 48, 3),  # portrait
    "d": (37, 53, 4),  # odd size
    "e": (48, 61, 5),  # 61 * 24/48 = 30.5: round() half-to-even gives 30, not 31
    "f": (12, 17, 6),  # smaller than the resolution: upscaling
}


# --- YUV_420_888 -------------------------------------------------------------


def bgr_to_yuv420(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-range BT.601 Y and 2x2-averaged U, V planes (how the fixtures are made)."""
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    h, w = y.shape
    ch, cw = (h + 1) // 2, (w + 1) // 2

    def half(p):
        padded = np.pad(p, ((0, 2 * ch - h), (0, 2 * cw - w)), mode="edge")
        return padded.reshape(ch, 2, cw, 2).mean(axis=(1, 3))

    def u8(p):
        return np.clip(np.rint(p), 0, 255).astype(np.uint8)

    return u8(y), u8(half(u)), u8(half(v))


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The reference: float32, no rounding, chroma at (x/2, y/2), clamped to [0, 255]."""
    h, w = y.shape
    yy = y.astype(np.float32)
    uu = u[np.arange(h)[:, None] // 2, np.arange(w)[None, :] // 2].astype(np.float32) - np.float32(128)
    vv = v[np.arange(h)[:, None] // 2, np.arange(w)[None, :] // 2].astype(np.float32) - np.float32(128)
    r = yy + KR * vv
    g = yy - KGU * uu - KGV * vv
    b = yy + KB * uu
    return np.clip(np.stack([r, g, b], axis=-1), np.float32(0), np.float32(255))


def plane_bytes(plane: np.ndarray, row_stride: int, pixel_stride: int) -> bytes:
    """Lay a plane out as Android does; the buffer ends at the last pixel, not the stride."""
    h, w = plane.shape
    buf = np.zeros(h * row_stride, dtype=np.uint8)
    for row in range(h):
        buf[row * row_stride : row * row_stride + w * pixel_stride : pixel_stride] = plane[row]
    return buf[: (h - 1) * row_stride + (w - 1) * pixel_stride + 1].tobytes()


def interleaved_chroma(u: np.ndarray, v: np.ndarray, row_stride: int, v_first: bool) -> bytes:
    """One VU (NV21) or UV (NV12) buffer: Android's U and V planes are views into it."""
    h, w = u.shape
    buf = np.zeros(h * row_stride, dtype=np.uint8)
    first, second = (v, u) if v_first else (u, v)
    for row in range(h):
        buf[row * row_stride : row * row_stride + 2 * w : 2] = first[row]
        buf[row * row_stride + 1 : row * row_stride + 2 * w : 2] = second[row]
    return buf[: (h - 1) * row_stride + 2 * w].tobytes()


YUV_CASES = [  # name, frame, layout of the chroma, Y padding, chroma padding, rotation, layout
    ("i420", "a", "planar", 0, 0, 0, "THWC"),
    ("nv21_padded", "b", "nv21", 16, 8, 0, "THWC"),
    ("nv12_rot90", "a", "nv12", 8, 8, 90, "THWC"),
    ("nv21_rot180", "c", "nv21", 0, 4, 180, "TCHW"),
    ("i420_rot270_padded", "b", "planar", 12, 6, 270, "THWC"),
]


# --- writing -----------------------------------------------------------------


def preprocess_cases(w: Writer, frames: dict) -> list[dict]:
    cases = []
    norms = {"kinetics": (MEAN, STD), "imagenet": (IMAGENET_MEAN, IMAGENET_STD)}
    for name, frame in frames.items():
        for layout in ("TCHW", "THWC"):
            norm = "kinetics" if layout == "THWC" else "imagenet"
            mean, std = norms[norm]
            tensor = FramePreprocessor(RESOLUTION, mean, std, layout)(frame)
            cases.append(
                {
                    "frame": name,
                    "layout": layout,
                    "resolution": RESOLUTION,
                    "mean": list(mean),
                    "std": list(std),
                    "expected": w.blob(f"pre_{name}_{layout}_{norm}.f32", tensor.astype(np.float32)),
                }
            )
    return cases


def yuv_cases(w: Writer, frames: dict) -> list[dict]:
    cases = []
    for name, frame_name, chroma, y_pad, c_pad, rotation, layout in YUV_CASES:
        bgr = frames[frame_name]
        y, u, v = bgr_to_yuv420(bgr)
        h, wd = y.shape
        planes = {
            "y": {
                "file": w.blob(f"yuv_{name}.y.u8", plane_bytes(y, wd + y_pad, 1)),
                "offset": 0,
                "row_stride": wd + y_pad,
                "pixel_stride": 1,
            }
        }
        if chroma == "planar":
            stride = u.shape[1] + c_pad
            for key, plane in (("u", u), ("v", v)):
                planes[key] = {
                    "file": w.blob(f"yuv_{name}.{key}.u8", plane_bytes(plane, stride, 1)),
                    "offset": 0,
                    "row_stride": stride,
                    "pixel_stride": 1,
                }
        else:
            stride = 2 * u.shape[1] + c_pad
            v_first = chroma == "nv21"
            shared = w.blob(f"yuv_{name}.{chroma}.u8", interleaved_chroma(u, v, stride, v_first))
            for key, offset in (("u", int(v_first)), ("v", int(not v_first))):
                planes[key] = {"file": shared, "offset": offset, "row_stride": stride, "pixel_stride": 2}
        rgb = np.rot90(yuv420_to_rgb(y, u, v), k=-(rotation // 90))  # clockwise, as rotationDegrees says
        tensor = FramePreprocessor(RESOLUTION, MEAN, STD, layout)(rgb[..., ::-1])  # it takes BGR
        cases.append(
            {
                "name": name,
                "width": wd,
                "height": h,
                "rotation": rotation,
                "planes": planes,
                "layout": layout,
                "resolution": RESOLUTION,
                "mean": list(MEAN),
                "std": list(STD),
                "rgb_at_origin": [float(c) for c in rgb[0, 0]],
                "expected": w.blob(f"yuv_{name}_{layout}.f32", tensor.astype(np.float32)),
            }
        )
    return cases


STREAM_HOP = 2
STREAM_SAMPLE_EVERY = 4099  # a prime stride: a few thousand values spread over the whole clip


def stream_case(w: Writer, frames: dict, sidecar: Path) -> dict:
    """The clip ``vmf.runtime``'s ClipAssembler builds from the card after T + hop frames (the
    second clip it hands out), as a strided sample plus per-frame sums: the Java ClipStream,
    fed the same frames with the same card, must give its runner the same clip."""
    meta = read_sidecar(sidecar)
    assembler = ClipAssembler(meta, hop=STREAM_HOP)
    names = sorted(frames)
    order = [names[i % len(names)] for i in range(meta["frames"] + STREAM_HOP)]
    due = [i for i, name in enumerate(order) if assembler.add(frames[name])]
    clip = assembler.clip().astype(np.float32)
    flat = clip.reshape(-1)
    return {
        "frames_in": order,
        "hop": STREAM_HOP,
        "due_after": [i + 1 for i in due],
        "sample_every": STREAM_SAMPLE_EVERY,
        "sample": w.blob("stream_clip_sample.f32", flat[::STREAM_SAMPLE_EVERY].copy()),
        "frame_sums": [float(f.sum(dtype=np.float64)) for f in clip],
        "values": int(flat.size),
    }


def classify_cases(w: Writer) -> list[dict]:
    """Logits through the runtime's own scorer (vmf.runtime.scoring): softmax in float64 cast
    to float32, then a stable sort of those probabilities (ties: lower class index first)."""
    rng = np.random.default_rng(7)
    cases = []
    for i, scale in enumerate((1.0, 8.0, 0.01, None)):
        if scale is None:
            # distinct logits whose float32 probabilities are equal: the runtime ranks the
            # probabilities, so class 3 (lower index) comes before class 7 (larger logit)
            logits = np.full(NUM_CLASSES, -10.0, dtype=np.float32)
            logits[7], logits[3] = np.float32(1e-8), np.float32(0.0)
        else:
            logits = (rng.standard_normal(NUM_CLASSES) * scale).astype(np.float32)
        if i == 0:  # an exact tie inside the top 5: the lower index must come first
            order = np.argsort(-logits)
            logits[order[3]] = logits[order[1]]
        probs, top = Scorer([str(c) for c in range(NUM_CLASSES)], top_k=TOP_K)(logits)
        cases.append(
            {
                "logits": w.blob(f"logits_{i}.f32", logits),
                "classes": NUM_CLASSES,
                "k": TOP_K,
                "top_indices": [int(label) for label, _ in top],
                "top_probs": [score for _, score in top],
                "softmax": w.blob(f"softmax_{i}.f32", np.asarray(probs, dtype=np.float32)),
            }
        )
    return cases


# --- the web core -------------------------------------------------------------


def fixture_sidecar(root: Path, source: "Path | None") -> dict:
    """The sidecar fixture: ``source`` (an export's) when given, else the one already there
    (so regenerating the blobs keeps a real export's card), else a fresh ``write_sidecar``."""
    target = root / "sidecar.json"
    previous = root / "manifest.json"
    if source is not None:
        meta = read_sidecar(source)  # validates
        shutil.copyfile(source, target)
        normalise_mode(target)
        origin = f"vmf-export ({source.name})"
    elif target.is_file():
        meta = read_sidecar(target)
        origin = _previous_entry(previous).get("origin", "kept")
    else:
        cfg = VARIANTS["560M"]
        meta = make_card(
            variant=cfg.name,
            baseline=False,
            frames=cfg.frames,
            resolution=cfg.resolution,
            temporal_stride=cfg.temporal_stride,
            input_name="clip",
            layout="THWC",
            labels=load_labels(cfg.num_classes),
            precision="fp32",
            converter="fixture",
            weights_sha256=None,
            untrained=True,
            parity={"max_abs": None},
            macs=None,
            params=None,
            versions={"numpy": np.__version__},
            sample_fps=None,
            clip_sampling=None,
        )
        write_sidecar(root / "sidecar.tflite", meta)
        origin = "write_sidecar (no vmf-export run)"
    shape = meta["input_shape"]
    entry = {
        "file": target.name,
        "origin": origin,
        "variant": meta["variant"],
        "frames": meta["frames"],
        "resolution": meta["resolution"],
        "layout": meta["input_layout"],
        "input_shape": shape,
        "labels": len(meta["labels"]),
        "first_label": meta["labels"][0],
        "last_label": meta["labels"][-1],
        "mean": meta["mean"],
        "std": meta["std"],
        "precision": meta["precision"],
        "sample_fps": meta.get("sample_fps"),
        "clip_sampling": meta.get("clip_sampling"),
    }
    if source is not None:
        entry.update(model_tensors(source.with_suffix(".tflite")))
    elif "model_input_shape" in (old_entry := _previous_entry(previous)):
        entry.update({k: v for k, v in old_entry.items() if k.startswith("model_")})
    return entry


def _previous_entry(manifest: Path) -> dict:
    return json.loads(manifest.read_text()).get("sidecar", {}) if manifest.is_file() else {}


def model_tensors(tflite: Path) -> dict:
    """The real input/output tensors of the export beside the sidecar, as LiteRT reports them
    (the app checks these against the card at load); empty without the model or LiteRT."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return {}
    if not tflite.is_file():
        return {}
    interpreter = Interpreter(model_path=str(tflite))
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    return {
        "model_input_shape": [int(d) for d in inp["shape"]],
        "model_input_dtype": np.dtype(inp["dtype"]).name,
        "model_output_shape": [int(d) for d in out["shape"]],
        "model_file": tflite.name,
    }


def write_all(out: Path, sidecar: "Path | None") -> int:
    """Write every fixture into ``out``; returns the bytes of blobs written."""
    out.mkdir(parents=True, exist_ok=True)
    sidecar_entry = fixture_sidecar(out, sidecar)
    w = Writer(out)
    frames = {name: structured_frame(h, wd, seed) for name, (h, wd, seed) in FRAMES.items()}
    manifest = {
        "generator": "scripts/make_android_golden.py",
        "frames": {
            name: {"file": w.blob(f"frame_{name}.u8", f), "height": f.shape[0], "width": f.shape[1]}
            for name, f in frames.items()
        },
        "preprocess": preprocess_cases(w, frames),
        "yuv": yuv_cases(w, frames),
        "classify": classify_cases(w),
        "stream": stream_case(w, frames, out / "sidecar.json"),
        "sidecar": sidecar_entry,
        "clip_frames": CLIP_FRAMES,
        "web": web_cases(w, out / "sidecar.json"),
    }
    # The manifest is replaced in one rename, and only once every blob it names is written:
    # a crash midway leaves the previous manifest (and its sidecar origin) in place.
    write_text(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    for old in out.iterdir():  # blobs no case names any more
        if old.suffix in (".u8", ".f32") and old.name not in w.names:
            old.unlink()
    return w.total


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        numbers = isinstance(a, (int, float)) and isinstance(b, (int, float))
        return numbers and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def stale_fixtures(committed: Path) -> list[str]:
    """Regenerate in a temporary folder and list what differs from ``committed``.

    The sidecar is left out (it may come from a real export); float blobs are compared to
    1e-6, not bitwise, because libm exp/sin may differ in the last bit across CPUs.
    """
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        for keep in ("sidecar.json", "manifest.json"):  # the same card as the committed fixtures
            if (committed / keep).is_file():
                shutil.copyfile(committed / keep, fresh / keep)
        write_all(fresh, None)
        stale = []
        for new in sorted(fresh.iterdir()):
            old = committed / new.name
            if new.name == "sidecar.json":
                continue
            if not old.is_file():
                stale.append(f"{new.name} (missing)")
            elif new.suffix == ".u8" and old.read_bytes() != new.read_bytes():
                stale.append(new.name)
            elif new.suffix == ".f32":
                a, b = np.fromfile(old, dtype="<f4"), np.fromfile(new, dtype="<f4")
                if a.shape != b.shape or not np.allclose(a, b, rtol=0, atol=1e-6):
                    stale.append(new.name)
            elif new.name == "manifest.json":
                a, b = json.loads(old.read_text()), json.loads(new.read_text())
                a.pop("sidecar", None)
                b.pop("sidecar", None)
                if not _same(a, b):
                    stale.append(new.name)
        return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="fixture folder")
    parser.add_argument("--sidecar", type=Path, help="a sidecar .json written by vmf-export to copy")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if the committed fixtures no longer match the Python code",
    )
    args = parser.parse_args(argv)
    if sys.byteorder != "little":  # the blobs are little-endian, as the Java reader expects
        parser.error("run this on a little-endian machine")
    if args.check:
        try:
            stale = stale_fixtures(args.out)
        except VmfError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if stale:
            print(
                f"error: golden fixtures in {args.out} are stale ({', '.join(stale)}); "
                "regenerate with scripts/make_android_golden.py",
                file=sys.stderr,
            )
            return 1
        print(f"golden fixtures in {args.out} match the Python preprocessing")
        return 0
    try:
        total = write_all(args.out, args.sidecar)
    except VmfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(list(args.out.iterdir()))} files, {total / 1024:.0f} KiB of blobs, to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
