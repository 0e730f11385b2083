"""Frame sources: a camera, a video file or a URL through OpenCV, read on their own thread.

Capture never waits for inference: a thread
reads frames into a bounded queue and the streaming loop takes them out.

- A *live* source (a camera, a URL, a file played with ``realtime=True``, the
  synthetic source of the tests) cannot be paused: when the queue is full the
  oldest waiting frame is dropped and counted, so the loop always works on the
  newest frames and latency stays bounded.
- A file read without ``realtime`` is read completely: when the queue is full
  the reader waits, and no frame is ever dropped. A file that ends is the end
  of the stream, not an error.

Every frame read is counted, so ``frames_read == frames delivered + frames_dropped``.

Long runs (docs/streaming.md, "Lost sources"): a camera or URL whose read
fails is *lost*; with ``reconnect=True`` it is reopened with exponential
backoff and the first frame after it carries ``gap=True`` (the streaming loop
restarts its clip there). A source that delivers nothing for
``source_timeout`` seconds while its read hangs is reported as *stalled*.
Every such event is kept (the newest ``EVENTS_KEPT``) and passed to
``on_event``.

Stopping never waits on a read: ``stop()`` (or a set ``stop`` event given to
``frames``) ends the iteration within ``POLL_S``; the capture thread is
joined for at most ``STOP_JOIN_S``. A read that still blocks then (an OpenCV
read cannot be interrupted) ends by itself within the read timeout set on
URLs, and the capture is released on that thread; ``released`` says whether
that has happened.
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
POLL_S = 0.1  # how often a waiting consumer looks at the stop flag and the stall clock
STOP_JOIN_S = 0.5  # the longest stop() waits for the capture thread
SOURCE_TIMEOUT_S = 5.0  # default: a live source silent this long is reported as stalled
BACKOFF_FIRST_S = 0.5  # reconnect backoff: 0.5, 1, 2, 4, 8, 10, 10, ... seconds
BACKOFF_MAX_S = 10.0
EVENTS_KEPT = 100


@dataclass(frozen=True)
class Frame:
    """One captured frame and where it came from."""

    index: int  # position in the source, 0-based; dropped frames keep their numbers
    timestamp_s: float  # source time: index / fps for files, seconds since start when live
    captured_at: float  # time.perf_counter() right after the read (start of end-to-end latency)
    image: np.ndarray  # H x W x 3 BGR uint8, as OpenCV delivers it
    gap: bool = False  # the first frame after a reconnect: frames before it are not its past


class FrameSource:
    """A capture thread feeding a bounded queue; iterate to receive ``Frame``s.

    Subclasses implement ``_read() -> (image, timestamp_s) | None`` (None at the
    end, or when a live device fails) and ``_close()``; a source that can be
    reopened sets ``reconnectable`` and implements ``_reopen()``; all are called
    on the capture thread only. ``_unblock()`` is called from ``stop()`` on the
    stopping thread, to end a read that waits (where the source can).
    """

    description = "source"
    reconnectable = False  # a camera or URL: a failed read means "lost", not "ended"

    def __init__(
        self,
        *,
        live: bool,
        fps: float | None = None,
        pace: bool = False,
        max_frames: int | None = None,
        queue_frames: int | None = None,
        reconnect: bool = False,
        source_timeout: float | None = None,
        on_event=None,
    ):
        if max_frames is not None and max_frames < 1:
            raise VmfError(f"--max-frames must be >= 1, got {max_frames}")
        if pace and not (fps and fps > 0):
            raise VmfError(
                f"{self.description} does not report its frame rate, so it cannot be played in real time"
            )
        if source_timeout is not None and not source_timeout > 0:
            raise VmfError(f"--source-timeout must be > 0 seconds, got {source_timeout}")
        self.live = live
        self.fps = fps
        self.pace = pace
        self.max_frames = max_frames
        self.reconnect = bool(reconnect)
        self.source_timeout = source_timeout
        self.on_event = on_event
        size = queue_frames or (LIVE_QUEUE_FRAMES if live else FILE_QUEUE_FRAMES)
        self._queue: collections.deque[Frame] = collections.deque()
        self._queue_frames = size
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._reopen_requested = False
        self._gap_next = False
        self._done = False
        self._closed = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.frames_read = 0
        self.frames_dropped = 0
        self.started_at: float | None = None
        self.events: collections.deque[dict] = collections.deque(maxlen=EVENTS_KEPT)
        self.stalls = 0
        self.reconnects = 0
        self.lost = False  # the source was lost and not (or not yet) reconnected at the end

    # -- consumer side -------------------------------------------------------
    def start(self) -> "FrameSource":
        if self._thread is None:
            self.started_at = time.perf_counter()
            self._thread = threading.Thread(target=self._capture, name="vmf-capture", daemon=True)
            self._thread.start()
        return self

    def __iter__(self):
        return self.frames()

    def frames(self, stop: threading.Event | None = None):
        """Frames until the source ends, ``stop()`` is called or ``stop`` is set.

        Waiting never blocks longer than ``POLL_S`` without looking at the stop
        flags, and a live source silent for ``source_timeout`` is reported.
        """
        self.start()
        last_frame = time.perf_counter()
        stalled = False
        while True:
            with self._cond:
                while not self._queue and not self._done:
                    if self._stop.is_set() or (stop is not None and stop.is_set()):
                        return
                    self._cond.wait(POLL_S)
                    silent = time.perf_counter() - last_frame
                    if (
                        self.live
                        and self.source_timeout
                        and not stalled
                        and silent >= self.source_timeout
                        and not self._queue
                    ):
                        stalled = True
                        self.stalls += 1
                        if self.reconnect and self.reconnectable:
                            self._reopen_requested = True  # taken up when the read returns
                        self._event_locked("stalled", silent_s=round(silent, 3))
                if self._stop.is_set() or (stop is not None and stop.is_set()):
                    return  # anything still queued is counted as unprocessed
                if self._queue:
                    frame = self._queue.popleft()
                    self._cond.notify_all()
                elif self._error is not None:
                    raise VmfError(f"reading {self.description} failed: {self._error}")
                else:
                    return
            last_frame, stalled = time.perf_counter(), False
            yield frame

    def stop(self, timeout: float = STOP_JOIN_S) -> bool:
        """Ask the capture thread to end, wait at most ``timeout``; True when it has ended."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        try:
            self._unblock()
        except Exception:  # best effort: the read ends by its own timeout otherwise
            pass
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def released(self) -> bool:
        """The capture thread has ended and the device/file is closed."""
        return self._thread is None or (not self._thread.is_alive() and self._closed)

    def __enter__(self) -> "FrameSource":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- events --------------------------------------------------------------
    def _event_locked(self, kind: str, **details) -> None:
        started = self.started_at if self.started_at is not None else time.perf_counter()
        event = {
            "event": kind,
            "at_s": round(time.perf_counter() - started, 3),
            "source": self.description,
            **details,
        }
        self.events.append(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a logging callback must not end the capture
                pass

    def _event(self, kind: str, **details) -> None:
        with self._cond:
            self._event_locked(kind, **details)

    # -- capture thread ------------------------------------------------------
    def _capture(self) -> None:
        try:
            while not self._stop.is_set():
                if self.max_frames is not None and self.frames_read >= self.max_frames:
                    break
                if self._reopen_requested:
                    self._reopen_requested = False
                    self._event("lost", reason=f"no frame for {self.source_timeout:g} s")
                    if not self._reconnect():
                        break
                    continue
                if self.pace:
                    self._wait_until(self.started_at + self.frames_read / self.fps)
                got = self._read()
                if got is None:
                    if not self.reconnectable or self._stop.is_set():
                        break  # a file (or a generated source) that ends: the end, not an error
                    self.lost = True
                    self._event("lost", reason="the read failed")
                    if not self.reconnect or not self._reconnect():
                        break
                    continue
                image, timestamp = got
                gap, self._gap_next = self._gap_next, False
                frame = Frame(self.frames_read, float(timestamp), time.perf_counter(), image, gap)
                self._enqueue(frame)
        except Exception as exc:  # surfaced to the consumer as one VmfError line
            self._error = exc
        finally:
            try:
                self._close()
            finally:
                with self._cond:
                    self._closed = True
                    self._done = True
                    self._cond.notify_all()

    def _reconnect(self) -> bool:
        """Reopen with exponential backoff until it works (True) or the source is stopped."""
        backoff, attempts = BACKOFF_FIRST_S, 0
        while not self._stop.wait(backoff):
            attempts += 1
            try:
                opened = self._reopen()
            except Exception as exc:  # a failed attempt is reported, then retried
                opened, reason = False, str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            else:
                reason = "could not open"
            if opened:
                self.reconnects += 1
                self.lost = False
                self._gap_next = True
                self._event("reconnected", attempts=attempts)
                return True
            self._event(
                "reconnect_failed",
                attempt=attempts,
                reason=reason,
                retry_in_s=min(backoff * 2, BACKOFF_MAX_S),
            )
            backoff = min(backoff * 2, BACKOFF_MAX_S)
        return False

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

    def _reopen(self) -> bool:  # pragma: no cover - only reconnectable sources
        raise NotImplementedError

    def _unblock(self) -> None:
        pass

    def _close(self) -> None:
        pass


class VideoSource(FrameSource):
    """Camera index, video file or URL, opened with ``cv2.VideoCapture``."""

    def __init__(
        self,
        spec: "str | int",
        *,
        realtime: bool = False,
        max_frames: int | None = None,
        queue_frames: int | None = None,
        reconnect: bool = False,
        source_timeout: float | None = SOURCE_TIMEOUT_S,
        on_event=None,
    ):
        import cv2

        kind, target = classify_source(spec)
        self.kind = kind
        self.target = target
        self.description = {
            "camera": f"camera {target}",
            "file": f"video {target}",
            "url": f"stream {target}",
        }[kind]
        self.reconnectable = kind != "file"
        if realtime and kind != "file":
            raise VmfError(
                f"--realtime paces a video file at its frame rate; {self.description} is live already"
            )
        if reconnect and kind == "file":
            raise VmfError("--reconnect reopens a camera or a URL; a video file is read once")
        if source_timeout is not None and not source_timeout > 0:
            raise VmfError(f"--source-timeout must be > 0 seconds, got {source_timeout}")
        self._timeout_s = source_timeout
        capture = self._open_interruptibly() if kind == "url" else self._open()
        if not capture.isOpened():
            capture.release()
            raise VmfError(f"cannot open {self.description}")
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else None
        self._capture_device = capture
        self.frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "file" else None
        try:
            super().__init__(
                live=kind != "file" or realtime,
                fps=fps,
                pace=realtime,
                max_frames=max_frames,
                queue_frames=queue_frames,
                reconnect=reconnect,
                source_timeout=source_timeout if kind != "file" or realtime else None,
                on_event=on_event,
            )
        except VmfError:
            capture.release()
            raise
        self._clock_start: float | None = None

    def _open(self):
        import cv2

        if self.kind == "url" and self._timeout_s:
            # FFmpeg waits 30 s by default on a silent stream; a read that fails
            # after the source timeout lets a lost URL be reported and reopened.
            ms = int(self._timeout_s * 1000)
            return cv2.VideoCapture(
                self.target,
                cv2.CAP_ANY,
                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms],
            )
        return cv2.VideoCapture(self.target)

    def _open_interruptibly(self):
        """Open on a helper thread, so Ctrl-C is not held up by a server that never answers.

        The caller's thread waits in short steps and so receives KeyboardInterrupt at
        once; the helper ends within the open timeout and releases what it opened.
        """
        result: list = []
        abandoned = threading.Event()

        def opener():
            capture = self._open()
            if abandoned.is_set():
                capture.release()
            else:
                result.append(capture)

        thread = threading.Thread(target=opener, name="vmf-open", daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                thread.join(POLL_S)
        except BaseException:
            abandoned.set()
            raise
        return result[0]

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

    def _reopen(self) -> bool:
        self._capture_device.release()
        capture = self._open()
        self._capture_device = capture
        return bool(capture.isOpened())

    def _close(self) -> None:
        self._capture_device.release()


class SyntheticLiveSource(FrameSource):
    """A camera stand-in: ``count`` generated frames at ``fps`` (None: until stopped), live.

    Like a camera it drops frames when the loop lags.

    Frame k is uniform grey of level ``level(k)`` unless ``pattern(k) -> image``
    is given, so a test can recover which frame landed where.
    """

    description = "synthetic live source"

    def __init__(
        self,
        fps: float,
        count: int | None,
        size: tuple[int, int] = (48, 64),
        *,
        pattern=None,
        queue_frames: int | None = None,
        **options,
    ):
        if not fps > 0:
            raise VmfError(f"synthetic source fps must be > 0, got {fps}")
        super().__init__(
            live=True,
            fps=float(fps),
            pace=True,
            max_frames=None if count is None else int(count),
            queue_frames=queue_frames,
            **options,
        )
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
        text = text[len("file://") :]
    path = Path(text).expanduser()
    if path.is_file():
        return "file", str(path)
    if path.exists():
        raise VmfError(f"source {text} is not a video file")
    raise VmfError(f"source {text} does not exist (expected a camera index, a video file or a URL)")


def open_source(
    spec: "str | int",
    *,
    realtime: bool = False,
    max_frames: int | None = None,
    reconnect: bool = False,
    source_timeout: float | None = SOURCE_TIMEOUT_S,
    on_event=None,
) -> VideoSource:
    """Open a camera, file or URL (errors now, as one ``VmfError``); call ``start()`` to read."""
    return VideoSource(
        spec,
        realtime=realtime,
        max_frames=max_frames,
        reconnect=reconnect,
        source_timeout=source_timeout,
        on_event=on_event,
    )
