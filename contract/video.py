"""Reading video files: the one decoder every producer of clips uses, as (N, H, W, 3) BGR uint8.

Training, evaluation and the exporter's int8 calibration read a few frames of
each file (``read_frames``): the frames are counted first without decoding
them, the caller picks indices from that count, and only those frames are
kept while decoding (optionally transformed as they arrive, e.g. preprocessed
into a clip's slots), so a long video costs the memory of its clip, not of the
whole file (``read_video`` keeps every frame, for small files and tests;
``iter_frames`` hands them over one at a time, for a stream over a long
file). Decoding must be frame-accurate: PyAV (FFmpeg's libraries, bundled
in its wheel) decodes each frame exactly once in order. OpenCV's ``VideoCapture`` is
the fallback for an environment without PyAV or a file PyAV rejects; its
sequential reads are also exact, only seeking in it is not, and nothing here
seeks. ``VIDEO_SUFFIXES`` are the files a folder of videos is scanned for.

BGR is the layout OpenCV, the runtime's sources and the preprocessing
(``vmf.contract.preprocess``) share, so a decoded frame goes into a clip as is.
Writing videos (the motion generator's job) is ``vmf.train.video_io``'s.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from .errors import VmfError

# The files a dataset or calibration folder is scanned for (case-insensitive), in one list.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
DEFAULT_FPS = 25.0  # for files whose container does not state a frame rate
MAX_PLAUSIBLE_FPS = 1000.0  # some containers report absurd rates (e.g. a 90 kHz time base)


class VideoReadError(VmfError):
    """A video that neither PyAV nor OpenCV can decode, or that has no frames."""


def videos_in(folder: "str | os.PathLike") -> list[Path]:
    """The video files directly in ``folder``, sorted: ``VIDEO_SUFFIXES``, any case, not hidden.

    Hidden files are skipped: a video being written (``vmf.train.video_io``) or
    a system's own (``._clip.mp4``).
    """
    return sorted(
        p
        for p in Path(folder).iterdir()
        if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


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


Transform = Callable[[np.ndarray], np.ndarray]  # a BGR frame -> what the result holds for it


class _ChooserFailed(Exception):
    """Carries an exception of the caller's chooser or transform past the decoder fallback (``__cause__``)."""


def read_frames(
    path: "str | os.PathLike", choose: Chooser, transform: Transform | None = None
) -> tuple[np.ndarray, float, int]:
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

    With ``transform``, ``frames[k]`` is ``transform(frame)`` instead (one call
    per distinct chosen frame, plus one for the first frame, which sets the
    result's shape and dtype), so a clip can be preprocessed as it is decoded
    and the raw frames are never held; its exceptions reach the caller too.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"cannot read video {path}: no such file")
    reasons = []
    for name, reader in (("PyAV", _frames_pyav), ("OpenCV", _frames_opencv)):
        try:
            with quiet_ffmpeg():  # the reasons go into vmf's one line; FFmpeg's own lines are noise
                result = reader(path, choose, transform)
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
    """Writes each decoded frame (transformed, if asked) into the result slots that want it."""

    def __init__(self, indices: np.ndarray, transform: Transform | None = None):
        self.indices = indices
        self.transform = transform
        self.slots: dict[int, list[int]] = {}
        for slot, index in enumerate(indices.tolist()):
            self.slots.setdefault(index, []).append(slot)
        self.last = int(indices.max()) if len(indices) else 0  # frame 0 is decoded for the size
        self.out: np.ndarray | None = None
        self.size: tuple[int, int] | None = None  # (h, w) of the first frame

    def wants(self, index: int) -> bool:
        return index in self.slots

    def put(self, image: np.ndarray, *indices: int) -> None:
        """Store the frame (BGR) that is each of ``indices`` in their slots, resized to the first frame's size."""
        first = self.out is None
        if first:
            self.size = image.shape[:2]
        elif image.shape[:2] != self.size:
            image = cv2.resize(image, self.size[::-1], interpolation=cv2.INTER_AREA)
        slots = [slot for index in indices for slot in self.slots.get(index, ())]
        if not (first or slots):
            return
        if self.transform is not None:
            try:
                image = np.asarray(self.transform(image))
            except Exception as exc:
                raise _ChooserFailed() from exc
        if first:
            self.out = np.empty((len(self.indices), *image.shape), image.dtype)
        for slot in slots:
            self.out[slot] = image

    def past_end(self, decoded: int) -> list[int]:
        """Indices at or beyond ``decoded`` (the frames the decoder did not yield)."""
        return [index for index in self.slots if index >= decoded]


def _frames_pyav(
    path: Path, choose: Chooser, transform: Transform | None
) -> tuple[np.ndarray, float, int] | None:
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
    picker = _Picker(_choose(choose, counted, fps), transform)
    decoded, last_frame = 0, None
    with av.open(str(path)) as container:  # a fresh open: rewinding by seeking is not exact
        for frame in container.decode(container.streams.video[0]):
            if decoded == 0 or picker.wants(decoded):
                picker.put(frame.to_ndarray(format="bgr24"), decoded)
            last_frame = frame
            decoded += 1
            if decoded > picker.last:
                break
    if decoded == 0:
        return None
    missing = picker.past_end(decoded)
    if missing:  # fewer frames than packets: the rest are the last frame
        picker.put(last_frame.to_ndarray(format="bgr24"), *missing)
        return picker.out, fps, decoded
    return picker.out, fps, counted


def _frames_opencv(
    path: Path, choose: Chooser, transform: Transform | None
) -> tuple[np.ndarray, float, int] | None:
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
    picker = _Picker(_choose(choose, counted, fps), transform)
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
                picker.put(image, index)
    finally:
        capture.release()
    return picker.out, fps, counted


# --------------------------------------------------------------------------- one frame at a time


def iter_frames(path: "str | os.PathLike") -> tuple[float, Iterator[np.ndarray]]:
    """``(fps, frames)``: the frames of ``path`` one at a time (BGR uint8), decoded in order.

    The streaming counterpart of ``read_video``: PyAV first, OpenCV's
    sequential reads as the fallback, the same frame rate rule; only the
    frame being used (e.g. classified, ``vmf.train.window_eval``) is in memory,
    so an hour of video costs what a second does. A decoder that fails before its first frame gives way to the
    other; one that fails later raises ``VideoReadError`` (the frames already
    classified cannot be taken back).
    """
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"cannot read video {path}: no such file")
    reasons = []
    for name, opener in (("PyAV", _stream_pyav), ("OpenCV", _stream_opencv)):
        frames = None
        try:
            fps, frames = opener(path)
            first = next(frames, None)
        except Exception as exc:  # noqa: BLE001 -- any failure of one decoder means: try the other
            if frames is not None:
                frames.close()
            reasons.append(f"{name}: {_first_line(exc)}")
            continue
        if first is None:
            reasons.append(f"{name}: no frames")
            continue
        return fps, _checked_stream(path, name, first, frames)
    raise VideoReadError(f"cannot read video {path}: {'; '.join(reasons)}")


def _checked_stream(
    path: Path, name: str, first: np.ndarray, frames: Iterator[np.ndarray]
) -> Iterator[np.ndarray]:
    count = 0
    try:
        yield first
        count = 1
        for frame in frames:
            yield frame
            count += 1
    except Exception as exc:  # noqa: BLE001 -- a decoder failing mid-file
        raise VideoReadError(
            f"cannot read video {path}: {name} failed after {count} frames: {_first_line(exc)}"
        ) from None
    finally:
        frames.close()


def _stream_pyav(path: Path) -> tuple[float, Iterator[np.ndarray]]:
    av = _import_av()
    if av is None:
        raise ImportError("not installed")
    container = av.open(str(path))
    if not container.streams.video:
        container.close()
        raise ValueError("no video stream")
    stream = container.streams.video[0]
    fps = _plausible_fps(stream.average_rate or stream.guessed_rate or stream.base_rate)

    def frames():
        with container:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="bgr24")

    return fps, frames()


def _stream_opencv(path: Path) -> tuple[float, Iterator[np.ndarray]]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise ValueError("cannot open the file")
    fps = _plausible_fps(capture.get(cv2.CAP_PROP_FPS))

    def frames():
        try:
            while True:
                ok, image = capture.read()
                if not ok:
                    return
                yield image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
        finally:
            capture.release()

    return fps, frames()


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


# --------------------------------------------------------------------------- FFmpeg's own log lines

_QUIET_LOCK = threading.Lock()
_quiet_depth = 0
_quiet_undo = None  # what the outermost quiet_ffmpeg() puts back


@contextlib.contextmanager
def quiet_ffmpeg():
    """FFmpeg's own log lines (``moov atom not found`` ...) off while a video is decoded.

    A video that cannot be decoded is vmf's to report, in one line naming it and the
    decoders' reasons; what FFmpeg prints on the way is noise. Two copies of FFmpeg
    may speak: PyAV's (through ``av.logging``: its level is set to None, PyAV's own
    default, and put back) and OpenCV's, which writes to file descriptor 2 itself.
    So for the duration descriptor 2 points to the null device, while Python's
    ``sys.stderr`` (vmf's warnings, logging, progress bars) is pointed at the real
    stderr through a duplicate. Re-entrant and thread-safe: the outermost scope
    silences and restores; other threads' Python output is unaffected, their C-level
    stderr output is silenced while it lasts.
    """
    global _quiet_depth, _quiet_undo
    with _QUIET_LOCK:
        _quiet_depth += 1
        if _quiet_depth == 1:
            _quiet_undo = _silence_ffmpeg()
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_undo is not None:
                undo, _quiet_undo = _quiet_undo, None
                undo()


def _silence_ffmpeg():
    """Silence both FFmpeg copies; return the function that undoes it."""
    undo = []
    logging = getattr(_import_av(), "logging", None)  # None: no PyAV (or a stand-in without a log)
    if logging is not None:
        level = logging.get_level()
        if level is not None:
            logging.set_level(None)
            undo.append(lambda: logging.set_level(level))
    try:
        for stream in (sys.stderr, sys.__stderr__):
            if stream is not None:
                stream.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (a service, a closed stream): nothing to mute
        saved = None
    if saved is not None:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        python_stderr = sys.stderr
        replacement = None
        if _fileno(python_stderr) == 2:  # Python's writes keep reaching the real stderr
            replacement = open(  # noqa: SIM115 -- closed by restore()
                os.dup(saved),
                "w",
                buffering=1,
                encoding=getattr(python_stderr, "encoding", None) or "utf-8",
                errors=getattr(python_stderr, "errors", None) or "backslashreplace",
            )
            sys.stderr = replacement

        def restore():
            if replacement is not None:
                replacement.flush()
                if sys.stderr is replacement:
                    sys.stderr = python_stderr
                replacement.close()
            os.dup2(saved, 2)
            os.close(saved)

        undo.append(restore)

    def undo_all():
        for step in reversed(undo):
            step()

    return undo_all


def _fileno(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # StringIO, pytest's capture, a closed stream
        return None
