"""Video files in and out, as (N, H, W, 3) BGR uint8 arrays.

Training and evaluation use a few frames of each file (``read_frames``): the
frames are counted first without decoding them, the caller picks indices from
that count, and only those frames are kept while decoding, so a long video
costs the memory of its clip, not of the whole file (``read_video`` keeps every
frame, for small files and tests). Decoding must be frame-accurate: PyAV
(FFmpeg's libraries, bundled in its wheel) decodes each frame exactly once in
order. OpenCV's ``VideoCapture`` is the fallback for an environment without
PyAV or a file PyAV rejects; its sequential reads are also exact, only seeking
in it is not, and nothing here seeks.

BGR is the layout OpenCV, the runtime (``vmf.runtime``) and the preprocessing
(``vmf.export.preprocess``) share, so a decoded video goes into a clip as is.
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

from vmf.model import VmfError

DEFAULT_FPS = 25.0  # for files whose container does not state a frame rate
MAX_PLAUSIBLE_FPS = 1000.0  # some containers report absurd rates (e.g. a 90 kHz time base)

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
_ENCODER_OPTIONS = {
    "libx264": {"crf": "18"},
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


class VideoReadError(VmfError):
    """A video that neither PyAV nor OpenCV can decode, or that has no frames."""


class VideoWriteError(VmfError):
    """A video that could not be encoded or moved into place."""


# --------------------------------------------------------------------------- reading


def read_video(path: "str | os.PathLike") -> tuple[np.ndarray, float]:
    """All frames of ``path`` as contiguous (N, H, W, 3) BGR uint8, and its frame rate.

    The rate falls back to ``DEFAULT_FPS`` when the file does not state a
    plausible one. Frames whose size differs from the first frame's (a
    resolution switch mid-stream) are resized to it, so the result is one array.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"cannot read video {path}: no such file")
    reasons = []
    for name, decoder in (("PyAV", _read_pyav), ("OpenCV", _read_opencv)):
        try:
            frames, fps = decoder(path)
        except Exception as exc:  # noqa: BLE001 -- any failure of one decoder means: try the other
            reasons.append(f"{name}: {_first_line(exc)}")
            continue
        if frames:
            return _stack(frames), fps
        reasons.append(f"{name}: no frames")
    raise VideoReadError(f"cannot read video {path}: {'; '.join(reasons)}")


def _read_pyav(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame of the first video stream, decoded by PyAV in presentation order."""
    av = _import_av()
    if av is None:
        raise ImportError("not installed")
    with av.open(str(path)) as container:
        if not container.streams.video:
            return [], DEFAULT_FPS
        stream = container.streams.video[0]
        fps = _plausible_fps(stream.average_rate or stream.guessed_rate or stream.base_rate)
        frames = [frame.to_ndarray(format="bgr24") for frame in container.decode(stream)]
    return frames, fps


def _read_opencv(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame, by OpenCV sequential reads (no seeking, so none is skipped or repeated)."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError("cannot open the file")
        fps = _plausible_fps(capture.get(cv2.CAP_PROP_FPS))
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    return frames, fps


Chooser = Callable[[int], np.ndarray]  # number of frames -> indices of the frames wanted


class _ChooserFailed(Exception):
    """Carries an exception of the caller's chooser past the decoder fallback (``__cause__``)."""


def read_frames(path: "str | os.PathLike", choose: Chooser) -> tuple[np.ndarray, float, int]:
    """``(frames, fps, num_frames)``: the frames ``choose(num_frames)`` names, in its order.

    ``choose`` gets the number of frames of the video and returns indices in
    ``[0, num_frames)``, sorted or not, repeats allowed; ``frames[k]`` is frame
    ``indices[k]`` as (H, W, 3) BGR uint8, exactly what ``read_video(path)[0][indices]``
    holds. Only the chosen frames are ever kept (each written straight into the
    result), and decoding stops after the last one. With PyAV the frames are
    counted by demuxing the video stream's packets (no decoding); should the
    decoder then yield fewer frames than packets, indices past its last frame
    get its last frame and ``num_frames`` is what it yielded. Without PyAV (or
    when it fails) OpenCV counts them in a first pass of ``grab`` and decodes the
    chosen ones in a second. ``choose`` is normally called once; its exceptions
    (also for an index out of range: ``ValueError``) reach the caller unchanged.
    Frames of a size other than the first frame's are resized to it, as in
    ``read_video``.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"cannot read video {path}: no such file")
    reasons = []
    for name, reader in (("PyAV", _frames_pyav), ("OpenCV", _frames_opencv)):
        try:
            result = reader(path, choose)
        except _ChooserFailed as exc:
            raise exc.__cause__ from None
        except Exception as exc:  # noqa: BLE001 -- any failure of one decoder means: try the other
            reasons.append(f"{name}: {_first_line(exc)}")
            continue
        if result is not None:
            return result
        reasons.append(f"{name}: no frames")
    raise VideoReadError(f"cannot read video {path}: {'; '.join(reasons)}")


def _choose(choose: Chooser, num_frames: int, fps: float) -> np.ndarray:
    """The chooser's indices as int64, checked; its failures wrapped in ``_ChooserFailed``.

    A chooser with a true ``needs_fps`` attribute is called as ``choose(num_frames, fps)``
    (a stream window kept at a frame rate depends on the video's own rate).
    """
    try:
        needs_fps = getattr(choose, "needs_fps", False)
        indices = np.asarray(choose(num_frames, fps) if needs_fps else choose(num_frames))
        if indices.size == 0:
            return np.zeros(0, np.int64)
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(
                f"the chooser must return a 1-D array of frame indices, not {indices.dtype} {indices.shape}"
            )
        if indices.min() < 0 or indices.max() >= num_frames:
            raise ValueError(
                f"the chooser returned frame indices {indices.min()}..{indices.max()} "
                f"for a video of {num_frames} frames"
            )
    except Exception as exc:
        raise _ChooserFailed() from exc
    return indices.astype(np.int64)


class _Picker:
    """Writes each decoded frame into the result slots that want it (no other copies kept)."""

    def __init__(self, indices: np.ndarray):
        self.indices = indices
        self.slots: dict[int, list[int]] = {}
        for slot, index in enumerate(indices.tolist()):
            self.slots.setdefault(index, []).append(slot)
        self.last = int(indices.max()) if len(indices) else 0  # frame 0 is decoded for the size
        self.out: np.ndarray | None = None
        self.size: tuple[int, int] | None = None  # (h, w) of the first frame

    def wants(self, index: int) -> bool:
        return index in self.slots

    def put(self, index: int, image: np.ndarray) -> None:
        """Store frame ``index`` (BGR) in its slots, resized to the first frame's size."""
        if self.out is None:
            self.size = image.shape[:2]
            self.out = np.empty((len(self.indices), *self.size, 3), np.uint8)
        if image.shape[:2] != self.size:
            image = cv2.resize(image, self.size[::-1], interpolation=cv2.INTER_AREA)
        for slot in self.slots.get(index, ()):
            self.out[slot] = image

    def past_end(self, decoded: int) -> list[int]:
        """Indices at or beyond ``decoded`` (the frames the decoder did not yield)."""
        return [index for index in self.slots if index >= decoded]


def _frames_pyav(path: Path, choose: Chooser) -> tuple[np.ndarray, float, int] | None:
    """Count the video packets by demuxing, then decode in order keeping the chosen frames."""
    av = _import_av()
    if av is None:
        raise ImportError("not installed")
    with av.open(str(path)) as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        fps = _plausible_fps(stream.average_rate or stream.guessed_rate or stream.base_rate)
        counted = sum(1 for packet in container.demux(stream) if packet.size and packet.pts is not None)
    if counted == 0:
        return None
    picker = _Picker(_choose(choose, counted, fps))
    decoded, last_frame = 0, None
    with av.open(str(path)) as container:  # a fresh open: rewinding by seeking is not exact
        for frame in container.decode(container.streams.video[0]):
            if decoded == 0 or picker.wants(decoded):
                picker.put(decoded, frame.to_ndarray(format="bgr24"))
            last_frame = frame
            decoded += 1
            if decoded > picker.last:
                break
    if decoded == 0:
        return None
    missing = picker.past_end(decoded)
    if missing:  # fewer frames than packets: the rest are the last frame
        image = last_frame.to_ndarray(format="bgr24")
        for index in missing:
            picker.put(index, image)
        return picker.out, fps, decoded
    return picker.out, fps, counted


def _frames_opencv(path: Path, choose: Chooser) -> tuple[np.ndarray, float, int] | None:
    """Count by ``grab`` (``CAP_PROP_FRAME_COUNT`` is an estimate), then retrieve the chosen."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError("cannot open the file")
        fps = _plausible_fps(capture.get(cv2.CAP_PROP_FPS))
        counted = 0
        while capture.grab():
            counted += 1
    finally:
        capture.release()
    if counted == 0:
        return None
    picker = _Picker(_choose(choose, counted, fps))
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError("cannot open the file again")
        for index in range(picker.last + 1):
            if not capture.grab():
                raise ValueError(f"frame {index} of {counted} vanished on the second pass")
            if index == 0 or picker.wants(index):
                ok, image = capture.retrieve()
                if not ok:
                    raise ValueError(f"cannot decode frame {index}")
                picker.put(index, image)
    finally:
        capture.release()
    return picker.out, fps, counted


def _stack(frames: list[np.ndarray]) -> np.ndarray:
    h, w = frames[0].shape[:2]
    same = [
        f if f.shape[:2] == (h, w) else cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames
    ]
    return np.ascontiguousarray(np.stack(same))


def _plausible_fps(rate) -> float:
    try:
        fps = float(rate) if rate is not None else 0.0
    except (TypeError, ValueError, ZeroDivisionError):
        return DEFAULT_FPS
    return fps if math.isfinite(fps) and 0 < fps <= MAX_PLAUSIBLE_FPS else DEFAULT_FPS


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _import_av():
    """The PyAV module, or None: imported late so a missing PyAV only matters when used."""
    try:
        import av
    except ImportError:
        return None
    return av


# --------------------------------------------------------------------------- writing


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
    frames = _check_frames(frames_bgr)
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
    frames = frames[:, :height, :width]
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    try:
        if not writer.isOpened():
            raise ValueError(f"cannot write {fourcc} video")
        for image in frames:
            writer.write(np.ascontiguousarray(image))
    finally:
        writer.release()
    if not tmp.is_file() or tmp.stat().st_size == 0:
        raise ValueError(f"wrote no {fourcc} video")


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
