"""The streaming loop: source thread -> per-frame preprocessing -> clip every hop -> inference worker.

Three threads, so no stage waits on another it need not wait on:

- the source's capture thread reads frames into its bounded queue;
- this loop (the caller's thread) samples, preprocesses each kept frame once
  into the ring buffer and, when a clip is due, hands a view of it to
- the inference worker, which runs the backend, scores and timestamps.

When a clip is due and the worker is still busy, a *live* source skips that
hop rather than queueing it: a queue would grow without bound on a model slower
than the hop and every prediction would come later than the one before. A file
read without ``--realtime`` waits instead, so every due clip is classified.
The ring buffer keeps ``spare`` extra slots so frames can keep arriving while
the worker reads its clip; only if an inference outlasts them does the loop wait.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from vmf.model import VmfError

from .backends import Backend
from .clip_assembler import HOP, ClipAssembler
from .latency import LatencyRecorder
from .sampling import TemporalSampler
from .scoring import TOP_K, Prediction, Scorer
from .sources import Frame, FrameSource

LATENCY_SERIES = ("preprocess", "inference", "end_to_end")


@dataclass(frozen=True)
class StreamOptions:
    """How frames become clips and clips become predictions."""

    hop: int = HOP  # kept frames between two clips, once the buffer is full
    sample_every: int | None = None  # keep every n-th frame ...
    sample_fps: float | None = None  # ... or frames at this rate (default: the sidecar's sample_fps)
    smooth: float | None = None  # EMA weight of the newest clip's probabilities
    top_k: int = TOP_K
    spare: int | None = None  # extra ring slots for frames arriving during an inference (default T)

    def __post_init__(self):
        # Checked here so a CLI mistake is reported before a model or a camera is opened.
        if self.hop < 1:
            raise VmfError(f"--hop must be >= 1, got {self.hop}")
        if self.smooth is not None and not 0 < self.smooth <= 1:
            raise VmfError(f"--smooth must be in (0, 1], got {self.smooth}")
        if self.top_k < 1:
            raise VmfError(f"top_k must be >= 1, got {self.top_k}")
        if self.spare is not None and self.spare < 0:
            raise VmfError(f"spare must be >= 0, got {self.spare}")
        TemporalSampler(every=self.sample_every, target_fps=self.sample_fps)  # raises if invalid


@dataclass
class StreamReport:
    """What happened: counts, latency, throughput and every prediction."""

    backend: str
    device: str
    frames_read: int = 0
    frames_dropped: int = 0
    frames_taken: int = 0  # taken from the source by the loop (the rest were dropped, or left)
    frames_kept: int = 0  # entered the clip buffer after temporal sampling
    hops_due: int = 0
    hops_skipped: int = 0  # live only: due while the worker was busy
    wall_s: float = 0.0
    latency_ms: dict = field(default_factory=dict)
    predictions: list[Prediction] = field(default_factory=list)

    @property
    def inferences(self) -> int:
        return len(self.predictions)

    @property
    def frames_unprocessed(self) -> int:
        """Frames read but still queued when the stream was stopped (Ctrl-C, ``stop``)."""
        return max(0, self.frames_read - self.frames_dropped - self.frames_taken)

    @property
    def throughput(self) -> dict:
        """Clips classified and frames taken by the loop per second of wall time."""
        if self.wall_s <= 0:
            return {"clips_per_s": None, "frames_per_s": None}
        return {"clips_per_s": round(self.inferences / self.wall_s, 3),
                "frames_per_s": round(self.frames_taken / self.wall_s, 3)}

    def to_dict(self) -> dict:
        return {
            "frames_read": self.frames_read, "frames_dropped": self.frames_dropped,
            "frames_taken": self.frames_taken, "frames_unprocessed": self.frames_unprocessed,
            "frames_kept": self.frames_kept, "inferences": self.inferences,
            "hops_due": self.hops_due, "hops_skipped": self.hops_skipped,
            "latency_ms": self.latency_ms, "throughput": self.throughput,
            "wall_s": round(self.wall_s, 3), "backend": self.backend, "device": self.device,
            "predictions": [p.to_dict() for p in self.predictions],
        }


@dataclass(frozen=True)
class _Job:
    clip: np.ndarray
    frame: Frame


class _InferenceWorker:
    """One thread, at most one clip in flight; ``busy`` says whether a new one would wait."""

    def __init__(self, backend: Backend, scorer: Scorer, latency: LatencyRecorder, ring,
                 on_prediction=None):
        self._backend, self._scorer, self._latency, self._ring = backend, scorer, latency, ring
        self._on_prediction = on_prediction
        self._cond = threading.Condition()
        self._job: _Job | None = None
        self._closing = False
        self.error: BaseException | None = None
        self.predictions: list[Prediction] = []
        self._thread = threading.Thread(target=self._loop, name="vmf-inference", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def latest(self) -> Prediction | None:
        return self.predictions[-1] if self.predictions else None

    def submit(self, clip: np.ndarray, frame: Frame) -> None:
        with self._cond:
            if self._job is not None:  # the loop checks busy first; this is a bug guard
                raise RuntimeError("inference worker got a clip while busy")
            self._ring.pin()  # the worker reads this view; pushes must not overwrite it
            self._job = _Job(clip, frame)
            self._cond.notify_all()

    def wait_idle(self) -> None:
        with self._cond:
            while self._job is not None and self.error is None:
                self._cond.wait()
        self.raise_if_failed()

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._job is None and not self._closing:
                    self._cond.wait()
                if self._job is None:
                    return
                job = self._job
            try:
                prediction = self._classify(job)
                with self._cond:
                    self.predictions.append(prediction)
                if self._on_prediction is not None:
                    self._on_prediction(prediction)
            except BaseException as exc:  # re-raised on the loop's thread by raise_if_failed()
                self.error = exc
            finally:
                with self._cond:
                    self._ring.unpin()
                    self._job = None
                    self._cond.notify_all()
            if self.error is not None:
                return

    def _classify(self, job: _Job) -> Prediction:
        started = time.perf_counter()
        logits = self._backend.run(job.clip)
        finished = time.perf_counter()
        probabilities, top = self._scorer(logits)
        done = time.perf_counter()
        inference_ms = (finished - started) * 1e3
        end_to_end_ms = (done - job.frame.captured_at) * 1e3
        self._latency.add("inference", inference_ms)
        self._latency.add("end_to_end", end_to_end_ms)
        return Prediction(job.frame.index, job.frame.timestamp_s, top, probabilities,
                          inference_ms=inference_ms, end_to_end_ms=end_to_end_ms)


def run_stream(source: FrameSource, backend: Backend, options: StreamOptions = StreamOptions(), *,
               on_frame=None, on_prediction=None, stop: threading.Event | None = None) -> StreamReport:
    """Classify ``source`` with ``backend`` until the source ends (or ``stop`` is set).

    ``on_frame(frame, latest_prediction)`` is called on this thread for every
    frame taken from the source (overlay, display, status line);
    ``on_prediction(prediction)`` on the worker thread as each result is ready.
    """
    frames = int(backend.meta["frames"])
    assembler = ClipAssembler(backend.meta, hop=options.hop, sample_every=options.sample_every,
                              sample_fps=options.sample_fps,
                              spare=frames if options.spare is None else options.spare)
    scorer = Scorer(backend.labels, smooth=options.smooth, top_k=options.top_k)
    latency = LatencyRecorder(*LATENCY_SERIES)
    report = StreamReport(backend=backend.name, device=backend.device)
    worker = _InferenceWorker(backend, scorer, latency, assembler.ring, on_prediction)
    started = time.perf_counter()
    try:
        source.start()
        for frame in source:
            if stop is not None and stop.is_set():
                break  # this frame and any still queued are counted as unprocessed
            report.frames_taken += 1
            worker.raise_if_failed()
            if assembler.keep(frame.timestamp_s):
                _add_frame(assembler, worker, latency, report, frame, source.live)
            if on_frame is not None:
                on_frame(frame, worker.latest)
        worker.wait_idle()
    finally:
        source.stop()
        worker.close()
    report.wall_s = time.perf_counter() - started
    report.frames_read = source.frames_read
    report.frames_dropped = source.frames_dropped
    report.predictions = list(worker.predictions)
    report.latency_ms = latency.summary()
    return report


def _add_frame(assembler: ClipAssembler, worker: _InferenceWorker, latency: LatencyRecorder,
               report: StreamReport, frame: Frame, live: bool) -> None:
    if not assembler.ring.can_push():
        worker.wait_idle()  # an inference outlasted the spare slots: its clip must stay intact
    started = time.perf_counter()
    due = assembler.add(frame.image)
    latency.add("preprocess", (time.perf_counter() - started) * 1e3)
    report.frames_kept += 1
    if not due:
        return
    report.hops_due += 1
    if worker.busy:
        if live:
            report.hops_skipped += 1  # bounded latency: never queue clips behind a busy model
            return
        worker.wait_idle()
    worker.submit(assembler.clip(), frame)
