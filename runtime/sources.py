"""Frame sources: a camera, a video file or a URL through OpenCV, read on their own thread.

Capture never waits for inference: a thread
reads frames into a bounded queue and the streaming loop takes them out.

- A *live* source (a camera, a URL, a file played with ``realtime=True``, the
  synthetic source of the tests) cannot be paused: when the queue is full the
  oldest waiting frame is dropped and counted, so the loop always works on the
  newest frames and latency stays bounded.
- A file read without ``realtime`` is read completely: when the queue is full
  the reader waits, and no frame is ever dropped.

Every frame read is counted, so ``frames_read == frames delivered + frames_dropped``.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vmf.model import VmfError

LIVE_QUEUE_FRAMES = 4  # newest frames kept for a live source: a little jitter, no backlog
FILE_QUEUE_FRAMES = 8  # read-ahead of a file: enough to overlap decoding with the loop
_LIVE_URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "udp", "tcp", "http", "https", "srt")


@dataclass(frozen=True)
class Frame:
    """One captured frame and where it came from."""

    index: int  # position in the source, 0-based; dropped frames keep their numbers
    timestamp_s: float  # source time: index / fps for files, seconds since start when live
    captured_at: float  # time.perf_counter() right after the read (start of end-to-end latency)
    image: np.ndarray  # H x W x 3 BGR uint8, as OpenCV delivers it


class FrameSource:
    """A capture thread feeding a bounded queue; iterate to receive ``Frame``s.

    Subclasses implement ``_read() -> (image, timestamp_s) | None`` (None at the
    end) and ``_close()``; they are called on the capture thread only.
    """

    description = "source"

    def __init__(self, *, live: bool, fps: float | None = None, pace: bool = False,
                 max_frames: int | None = None, queue_frames: int | None = None):
        if max_frames is not None and max_frames < 1:
            raise VmfError(f"--max-frames must be >= 1, got {max_frames}")
        if pace and not (fps and fps > 0):
            raise VmfError(f"{self.description} does not report its frame rate, so it "
                           "cannot be played in real time")
        self.live = live
        self.fps = fps
        self.pace = pace
        self.max_frames = max_frames
        size = queue_frames or (LIVE_QUEUE_FRAMES if live else FILE_QUEUE_FRAMES)
        self._queue: collections.deque[Frame] = collections.deque()
        self._queue_frames = size
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._done = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.frames_read = 0
        self.frames_dropped = 0
        self.started_at: float | None = None

    # -- consumer side -------------------------------------------------------
    def start(self) -> "FrameSource":
        if self._thread is None:
            self.started_at = time.perf_counter()
            self._thread = threading.Thread(target=self._capture, name="vmf-capture", daemon=True)
            self._thread.start()
        return self

    def __iter__(self):
        self.start()
        while True:
            with self._cond:
                while not self._queue and not self._done:
                    self._cond.wait()
                if self._queue:
                    frame = self._queue.popleft()
                    self._cond.notify_all()
                elif self._error is not None:
                    raise VmfError(f"reading {self.description} failed: {self._error}")
                else:
                    return
            yield frame

    def stop(self) -> None:
        """Ask the capture thread to end and wait for it (safe to call twice)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> "FrameSource":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- capture thread ------------------------------------------------------
    def _capture(self) -> None:
        try:
            while not self._stop.is_set():
                if self.max_frames is not None and self.frames_read >= self.max_frames:
                    break
                if self.pace:
                    self._wait_until(self.started_at + self.frames_read / self.fps)
                got = self._read()
                if got is None:
                    break
                image, timestamp = got
                frame = Frame(self.frames_read, float(timestamp), time.perf_counter(), image)
                self._enqueue(frame)
        except Exception as exc:  # surfaced to the consumer as one VmfError line
            self._error = exc
        finally:
            try:
                self._close()
            finally:
                with self._cond:
                    self._done = True
                    self._cond.notify_all()

    def _enqueue(self, frame: Frame) -> None:
        with self._cond:
            self.frames_read += 1
            if self.live:
                if len(self._queue) >= self._queue_frames:
                    self._queue.popleft()  # keep the newest: the loop must not fall behind
                    self.frames_dropped += 1
            else:
                while len(self._queue) >= self._queue_frames and not self._stop.is_set():
                    self._cond.wait()
            self._queue.append(frame)
            self._cond.notify_all()

    def _wait_until(self, deadline: float) -> None:
        delay = deadline - time.perf_counter()
        if delay > 0:
            self._stop.wait(delay)

    def _read(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _close(self) -> None:
        pass


class VideoSource(FrameSource):
    """Camera index, video file or URL, opened with ``cv2.VideoCapture``."""

    def __init__(self, spec: "str | int", *, realtime: bool = False, max_frames: int | None = None,
                 queue_frames: int | None = None):
        import cv2

        kind, target = classify_source(spec)
        self.kind = kind
        self.description = {"camera": f"camera {target}", "file": f"video {target}",
                            "url": f"stream {target}"}[kind]
        if realtime and kind != "file":
            raise VmfError("--realtime paces a video file at its frame rate; "
                           f"{self.description} is live already")
        capture = cv2.VideoCapture(target)
        if not capture.isOpened():
            capture.release()
            raise VmfError(f"cannot open {self.description}")
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else None
        self._capture_device = capture
        self.frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "file" else None
        try:
            super().__init__(live=kind != "file" or realtime, fps=fps, pace=realtime,
                             max_frames=max_frames, queue_frames=queue_frames)
        except VmfError:
            capture.release()
            raise
        self._clock_start: float | None = None

    def _read(self):
        ok, image = self._capture_device.read()
        if not ok or image is None:
            return None
        if self.kind == "file" and self.fps:
            timestamp = self.frames_read / self.fps
        else:
            now = time.perf_counter()
            if self._clock_start is None:
                self._clock_start = now
            timestamp = now - self._clock_start
        if image.ndim == 2:  # some cameras deliver grey frames
            image = np.repeat(image[:, :, None], 3, axis=2)
        return image, timestamp

    def _close(self) -> None:
        self._capture_device.release()


class SyntheticLiveSource(FrameSource):
    """A camera stand-in: ``count`` generated frames at ``fps``, live (drops when the loop lags).

    Frame k is uniform grey of level ``level(k)`` unless ``pattern(k) -> image``
    is given, so a test can recover which frame landed where.
    """

    description = "synthetic live source"

    def __init__(self, fps: float, count: int, size: tuple[int, int] = (48, 64), *,
                 pattern=None, queue_frames: int | None = None):
        if not fps > 0:
            raise VmfError(f"synthetic source fps must be > 0, got {fps}")
        super().__init__(live=True, fps=float(fps), pace=True, max_frames=int(count),
                         queue_frames=queue_frames)
        self.size = tuple(size)
        self._pattern = pattern or self._grey

    @staticmethod
    def level(index: int) -> int:
        """The grey level of frame ``index`` (a cycle of 32 levels, 8 apart)."""
        return 4 + 8 * (index % 32)

    def _grey(self, index: int) -> np.ndarray:
        return np.full((*self.size, 3), self.level(index), dtype=np.uint8)

    def _read(self):
        index = self.frames_read
        return self._pattern(index), index / self.fps


def classify_source(spec: "str | int") -> tuple[str, "str | int"]:
    """``0`` -> camera 0; an existing path -> file; ``rtsp://...`` -> URL; else a ``VmfError``."""
    if isinstance(spec, int):
        return "camera", spec
    text = str(spec).strip()
    if text.isdigit():
        return "camera", int(text)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in _LIVE_URL_SCHEMES:
        return "url", text
    if scheme == "file":
        text = text[len("file://"):]
    path = Path(text).expanduser()
    if path.is_file():
        return "file", str(path)
    if path.exists():
        raise VmfError(f"source {text} is not a video file")
    raise VmfError(f"source {text} does not exist (expected a camera index, a video file or a URL)")


def open_source(spec: "str | int", *, realtime: bool = False,
                max_frames: int | None = None) -> VideoSource:
    """Open a camera, file or URL (errors now, as one ``VmfError``); call ``start()`` to read."""
    return VideoSource(spec, realtime=realtime, max_frames=max_frames)
