"""Exact stem reuse across hops: a hop computes the stem only for its new output frames.

The model card of an export with a split artifact (an export with ``--split``)
names a stem half (k_t frames -> one stem output frame) and a body half (the
T' stem output frames -> logits). Stem output frame t' of the clip starting
at frame ``start`` reads frames ``start + s_t t' - p ...`` (k_t of them), so
it is a function of those frames only; it is kept here, keyed by that
absolute position ``start + s_t t'``, and reused by every later clip that
reads the same window. With a hop that is a multiple of s_t (VMF-560M: 8,
VMF-1G/2G/5G: 4), a hop computes ``hop / s_t`` new output frames, plus, when
p > 0, the first output frame again (in a clip it reads zero padding, which
the frames before the clip are not). The result is the full recomputation's,
to float rounding (docs/streaming.md, "Stem reuse").

Features live in a ring of T' slots stored like ``ClipRingBuffer``'s (every
T' consecutive slots are one contiguous view), so the body reads them without
a copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.contract.split_layout import file_sha256, read_stamp, stem_windows, window
from vmf.model import VmfError

# Backends that can run the halves (the same runtime as the full model: .onnx or .tflite).
SPLIT_BACKENDS = ("onnxruntime", "openvino", "tflite")


class StemReuse:
    """``run(clip, start) -> logits``: the stem for unseen windows only, then the body."""

    def __init__(
        self,
        stem,
        body,
        *,
        frames: int,
        kernel: int,
        stride: int,
        padding: int,
        features_shape,
        description: str = "split",
    ):
        self._stem, self._body = stem, body
        self.frames, self.kernel, self.stride, self.padding = frames, kernel, stride, padding
        self.windows = stem_windows(frames, kernel, stride, padding)
        self.out_frames = len(self.windows)
        if list(features_shape)[0] != self.out_frames:
            raise VmfError(
                f"the body takes {features_shape[0]} stem frames, the stem gives "
                f"{self.out_frames}: the halves do not belong together"
            )
        slot = tuple(int(d) for d in features_shape[1:])
        self._storage = np.zeros((2 * self.out_frames - 1, *slot), np.float32)
        self._anchor = np.full(self.out_frames, -1, np.int64)  # position held by each slot, -1: none
        self._scratch: np.ndarray | None = None
        self.description = description
        self.computed = 0
        self.reused = 0

    def reset(self) -> None:
        """Forget every kept output frame (the clip buffer restarted)."""
        self._anchor[:] = -1

    def run(self, clip: np.ndarray, start: int) -> np.ndarray:
        """Logits of ``clip`` whose first frame is frame ``start`` since the last ``reset``."""
        total, cap = self.frames, self.out_frames
        base = start // self.stride
        for t, (first, end) in enumerate(self.windows):
            anchor = start + self.stride * t
            slot = (base + t) % cap
            inside = first >= 0 and end <= total
            if inside and self._anchor[slot] == anchor:
                self.reused += 1
                continue
            if not inside and self._scratch is None:
                self._scratch = np.zeros((self.kernel, *clip.shape[1:]), np.float32)
            frames = window(clip, first, end, self._scratch)
            self._storage[slot] = self._stem(np.ascontiguousarray(frames, dtype=np.float32))[0]
            if slot < cap - 1:  # the mirror keeps every T' consecutive slots contiguous
                self._storage[cap + slot] = self._storage[slot]
            # A padded window belongs to this clip only; an inner one to every clip that reads it.
            self._anchor[slot] = anchor if inside else -1
            self.computed += 1
        first_slot = base % cap
        return self._body(self._storage[first_slot : first_slot + cap])

    def summary(self) -> dict:
        done = self.computed + self.reused
        return {
            "split": self.description,
            "stem_frames_computed": self.computed,
            "stem_frames_reused": self.reused,
            "reused_fraction": round(self.reused / done, 4) if done else None,
        }


def _onnxruntime_runner(path: Path, threads: int, spin: bool):
    from vmf.model.ort_session import ort_session

    session = ort_session(path, threads=threads, spin=spin)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0], [session.get_inputs()[0].shape]


def _openvino_runner(path: Path, threads: int, spin: bool):
    import openvino as ov

    from .backend_openvino import compile_onnx

    compiled = compile_onnx(ov.Core(), path, threads)
    request = compiled.create_infer_request()
    shape = [d.get_length() for d in compiled.inputs[0].get_partial_shape()]
    return lambda x: request.infer({0: x}, share_outputs=True)[0].copy(), [shape]


def _litert_runner(path: Path, threads: int, spin: bool):
    from .backend_litert import _interpreter_class

    interpreter_class, _ = _interpreter_class()
    interpreter = interpreter_class(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    sink = interpreter.get_output_details()[0]["index"]

    def run(x):
        interpreter.set_tensor(source["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(sink).copy()

    return run, [[int(d) for d in source["shape"]]]


def open_stem_reuse(backend, *, threads: int | None = None, spin: bool | None = None) -> StemReuse | None:
    """The split halves named by ``backend``'s model card, loaded for its runtime; None without.

    Raises one ``VmfError`` when the card names halves that are missing, or
    that come from another export than the card (or than each other).
    """
    split = backend.meta.get("split")
    if (
        not split
        or backend.name not in SPLIT_BACKENDS
        or getattr(backend, "device", "").startswith("onnxruntime CUDA")
    ):
        return None
    folder = Path(backend.path).parent
    halves = {}
    for half in ("stem", "body"):
        entry = split.get(half) or {}
        path = folder / str(entry.get("file", ""))
        if not entry.get("file") or not path.is_file():
            raise VmfError(
                f"the model card of {Path(backend.path).name} names a split {half} half "
                f"{entry.get('file')!r} that is missing; re-export with --split, or "
                'remove "split" from the card'
            )
        if path.suffix == ".onnx":
            split_id, which = read_stamp(path)
            mismatch = which != half or split_id != split.get("id")
            found = f"its split id {split_id} is not the card's {split.get('id')}"
        else:  # a .tflite carries no metadata of ours: the card names the exact file by hash
            mismatch = file_sha256(path) != entry.get("sha256")
            found = "its sha256 is not the one the card records"
        if mismatch:
            raise VmfError(
                f"{path.name} is not the {half} half of this export ({found}): the "
                "halves come from different exports"
            )
        halves[half] = path
    threads = threads or getattr(backend, "threads", None) or 1
    spin = getattr(backend, "spin", True) if spin is None else spin
    make = {"onnxruntime": _onnxruntime_runner, "openvino": _openvino_runner, "tflite": _litert_runner}[
        backend.name
    ]
    # The stem half is one small conv (well under a millisecond a window): on one thread it
    # has no pool of its own, whose threads would otherwise spin against the body's pool
    # right after each stem call (measured: the body 40 % slower).
    stem, (stem_shape,) = make(halves["stem"], 1, spin)
    body, (body_shape,) = make(halves["body"], threads, spin)
    if list(stem_shape) != list(split["stem"]["input_shape"]) or list(body_shape) != list(
        split["body"]["input_shape"]
    ):
        raise VmfError(
            f"the split halves of {Path(backend.path).name} take {stem_shape} and "
            f"{body_shape}, the card says {split['stem']['input_shape']} and "
            f"{split['body']['input_shape']}"
        )
    if int(split["stem"]["input_shape"][0]) != int(split["temporal_kernel"]):
        raise VmfError("the split stem's window does not match the card's temporal kernel")
    return StemReuse(
        stem,
        body,
        frames=int(backend.meta["frames"]),
        kernel=int(split["temporal_kernel"]),
        stride=int(split["temporal_stride"]),
        padding=int(split["temporal_padding"]),
        features_shape=split["body"]["input_shape"],
        description=f"{split['stem']['file']} + {split['body']['file']}",
    )
