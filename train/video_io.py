"""Video files in and out, as (N, H, W, 3) BGR uint8 arrays.

Reading is the clip contract's (``vmf.contract.video``: ``read_frames``,
``read_video``, the one decoder training, evaluation and the exporter's
calibration share), re-exported here under the names training has always used.
Writing is this module's: the motion generator's videos, PyAV first and
OpenCV's ``VideoWriter`` as the fallback.

BGR is the layout OpenCV, the runtime (``vmf.runtime``) and the preprocessing
(``vmf.contract.preprocess``) share, so a decoded video goes into a clip as is.
"""

from __future__ import annotations

import math
import os
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from vmf.contract.video import (  # noqa: F401  (reading: re-exported, defined once in the contract)
    quiet_ffmpeg,
    DEFAULT_FPS,
    MAX_PLAUSIBLE_FPS,
    VIDEO_SUFFIXES,
    Chooser,
    VideoReadError,
    _first_line,
    _import_av,
    read_frames,
    read_video,
)
from vmf.model import VmfError

# What to encode with when no codec is named, by suffix. H.264 plays everywhere except in
# AVI, where MPEG-4 Part 2 is the customary codec; WebM allows only VP8/VP9/AV1.
_DEFAULT_CODECS = {
    ".mp4": ("libx264", "mpeg4"),
    ".mov": ("libx264", "mpeg4"),
    ".mkv": ("libx264", "mpeg4"),
    ".avi": ("mpeg4",),
    ".webm": ("libvpx-vp9", "libvpx"),
}
# Encoders that code an odd width or height in 4:2:0 exactly. Others (H.264, HEVC, MJPEG)
# refuse it or silently drop the odd row and column, so the default for an odd-sized video
# is MPEG-4 Part 2 (plays everywhere), and a named encoder gets 4:4:4 where it has it.
_ODD_420_OK = ("mpeg4", "libvpx", "libvpx-vp9")
# Per-encoder settings: quality-targeted rather than FFmpeg's low default bit rates,
# since training data should not carry coding artefacts the camera never makes.
# x264 without MB-tree: its lookahead's propagation reads memory x264 never wrote, so the
# same frames coded after other videos in one process came out differently (measured: the
# fifth of six videos got four different files in four runs); without it, always the same.
_ENCODER_OPTIONS = {
    "libx264": {"crf": "18", "x264-params": "mbtree=0"},
    "libx265": {"crf": "20"},
    "libvpx-vp9": {"crf": "30", "b": "0", "row-mt": "1", "cpu-used": "4"},
    "libvpx": {"crf": "10", "b": "2M"},
}
_MPEG4_QSCALE = 3  # fixed quantiser (2 best .. 31 worst) for MPEG-4 Part 2 and MJPEG
_FF_QP2LAMBDA = 118  # FFmpeg's scale between a quantiser and global_quality
# OpenCV fallback: a FourCC per FFmpeg encoder name, else per suffix.
_FOURCC_BY_CODEC = {
    "mpeg4": "mp4v",
    "mjpeg": "MJPG",
    "libx264": "avc1",
    "h264": "avc1",
    "libvpx": "VP80",
    "libvpx-vp9": "VP90",
}
_FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "mp4v", ".webm": "VP80"}


class VideoWriteError(VmfError):
    """A video that could not be encoded or moved into place."""


# --------------------------------------------------------------------------- writing


class LazyFrames:
    """Frames made one at a time as an encoder asks for them: long videos never sit in memory.

    ``render(i)`` returns frame ``i`` as (H, W, 3) BGR uint8; iterating twice renders
    twice (``write_video`` may retry with its second encoder), so ``render`` must
    be a pure function of ``i``.
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, count: int, height: int, width: int, render: Callable[[int], np.ndarray]):
        if count < 1:
            raise VideoWriteError("a video needs at least one frame")
        self.shape = (int(count), int(height), int(width), 3)
        self._render = render

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self):
        for i in range(self.shape[0]):
            image = self._render(i)
            if image.shape != self.shape[1:] or image.dtype != np.uint8:
                raise VideoWriteError(f"frame {i} is {image.dtype} {image.shape}, not uint8 {self.shape[1:]}")
            yield image


def write_video(path: "str | os.PathLike", frames_bgr, fps: float, codec: str | None = None) -> Path:
    """Encode (N, H, W, 3) BGR uint8 frames to ``path``; the container follows the suffix.

    ``codec`` is an FFmpeg encoder name (``libx264``, ``mpeg4``, ``libvpx-vp9``,
    ``mjpeg``, ...); by default H.264 in yuv420p for .mp4/.mov/.mkv, MPEG-4
    Part 2 for .avi and VP9 for .webm. 4:2:0 H.264 cannot code an odd width
    or height, so such a video gets MPEG-4 Part 2 (by default) or, when an
    encoder such as H.264 is named, its 4:4:4 format: the size is never
    changed by padding or cropping. When PyAV is missing or fails, OpenCV's
    ``VideoWriter`` writes the file instead (``mp4v``, or ``VP80`` for .webm);
    it codes 4:2:0 only, so there an odd last row or column is cropped off.

    The file is written under a hidden temporary name in the same folder and
    renamed at the end, so ``path`` is either the whole video or untouched,
    and a dataset scan (which skips hidden files) never sees a partial one.
    """
    path = Path(path)
    frames = frames_bgr if isinstance(frames_bgr, LazyFrames) else _check_frames(frames_bgr)
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0):
        raise VideoWriteError(f"cannot write video {path}: frame rate {fps} is not positive")
    suffix = path.suffix.lower()
    if suffix not in _DEFAULT_CODECS:
        raise VideoWriteError(
            f"cannot write video {path}: unknown suffix {path.suffix!r} (known: {', '.join(_DEFAULT_CODECS)})"
        )
    if not path.parent.is_dir():
        raise VideoWriteError(f"cannot write video {path}: folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.partial{suffix}")
    reasons = []
    try:
        for name, writer in (("PyAV", _write_pyav), ("OpenCV", _write_opencv)):
            try:
                writer(tmp, frames, fps, codec)
            except Exception as exc:  # noqa: BLE001 -- any failure of one encoder means: try the other
                reasons.append(f"{name}: {_first_line(exc)}")
                _remove(tmp)
                continue
            os.replace(tmp, path)
            return path
    finally:
        _remove(tmp)
    raise VideoWriteError(f"cannot write video {path}: {'; '.join(reasons)}")


def encoder_available(codec: str) -> bool:
    """Whether ``write_video(..., codec=codec)`` can work here: PyAV's encoders, else OpenCV's.

    Without PyAV, a name OpenCV has a FourCC for, or a FourCC itself, counts.
    """
    av = _import_av()
    if av is None:
        return codec in _FOURCC_BY_CODEC or len(codec) == 4
    try:
        av.codec.Codec(codec, "w")
    except Exception:  # noqa: BLE001 -- UnknownCodecError, and ValueError for odd names
        return False
    return True


def _check_frames(frames_bgr) -> np.ndarray:
    frames = np.asarray(frames_bgr)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise VideoWriteError(f"frames must be (N, H, W, 3) with N >= 1, not {frames.shape}")
    if frames.dtype != np.uint8:
        raise VideoWriteError(f"frames must be uint8, not {frames.dtype}")
    return frames


def _write_pyav(tmp: Path, frames: np.ndarray, fps: float, codec: str | None) -> None:
    """Encode with PyAV, with the named encoder or the suffix's default."""
    av = _import_av()
    if av is None:
        raise ImportError("not installed")
    height, width = frames.shape[1:3]
    name = codec or _default_codec(av, tmp.suffix.lower(), width, height)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream(name, rate=rate, options=_ENCODER_OPTIONS.get(name, {}))
        # One encoder thread: with FFmpeg's default (as many as the process may use), x264
        # cuts each frame into one slice per thread, so the file depends on the machine's
        # core count, and its threads now and then code the same frames differently (a
        # data set re-made from its command would not decode to the same pixels).
        stream.codec_context.thread_count = 1
        stream.width, stream.height = width, height
        stream.pix_fmt = _pixel_format(stream.codec_context.codec, width, height)
        if name in ("mpeg4", "mjpeg"):
            stream.codec_context.qscale = True
            stream.codec_context.global_quality = _MPEG4_QSCALE * _FF_QP2LAMBDA
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            frame.pts, frame.time_base = i, 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _default_codec(av, suffix: str, width: int, height: int) -> str:
    odd = width % 2 or height % 2
    for name in _DEFAULT_CODECS[suffix]:
        if odd and name not in _ODD_420_OK:
            continue
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 -- not in this FFmpeg build
            continue
        return name
    return "mpeg4"


def _pixel_format(codec, width: int, height: int) -> str:
    """4:2:0 where it codes the size exactly (every player decodes it), else 4:4:4."""
    formats = [f.name for f in (codec.video_formats or ())]
    odd = width % 2 or height % 2
    wanted = ("yuv444p", "yuvj444p") if odd and codec.name not in _ODD_420_OK else ("yuv420p", "yuvj420p")
    # In the encoder's own order: MJPEG lists its full-range (j) formats first, and takes only those.
    for name in formats:
        if name in wanted:
            return name
    return formats[0] if formats else "yuv420p"


def _write_opencv(tmp: Path, frames: np.ndarray, fps: float, codec: str | None) -> None:
    """Encode with OpenCV's ``VideoWriter``, with a FourCC for the codec or the suffix."""
    if codec is None:
        fourcc = _FOURCC_BY_SUFFIX[tmp.suffix.lower()]
    elif codec in _FOURCC_BY_CODEC or len(codec) == 4:
        fourcc = _FOURCC_BY_CODEC.get(codec, codec)
    else:
        raise ValueError(f"no FourCC for codec {codec!r}")
    # OpenCV's writers code 4:2:0 only and drop an odd last row or column themselves;
    # cropping it here makes that explicit and the same for every OpenCV build.
    height, width = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    try:
        if not writer.isOpened():
            raise ValueError(f"cannot write {fourcc} video")
        for image in frames:
            writer.write(np.ascontiguousarray(image[:height, :width]))
    finally:
        writer.release()
    if not tmp.is_file() or tmp.stat().st_size == 0:
        raise ValueError(f"wrote no {fourcc} video")


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
