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

Memory is flat for runs of hours and for long files alike (docs/streaming.md,
"Bounded memory"): the report keeps the newest ``keep_predictions`` predictions
(100 by default, from a camera or a file) and latency statistics of fixed size,
while its counts stay exact. Every prediction goes out as it happens through
``on_prediction`` (``--jsonl``); a report that must list them all (``--json``
on a file) asks for ``all_predictions``, which spools each one as a JSON line
to an unnamed temporary file instead of holding it in memory. After a
gap in a live source longer than one hop (a reconnect, a stall) the clip
buffer restarts, so no clip mixes frames from both sides of the gap. When the
model card has a split artifact (stem + body), each hop runs the stem only on
the frames it has not seen (``stem_reuse``).
"""

from __future__ import annotations

import collections
import json
import tempfile
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from vmf.contract.sampling import TemporalSampler
from vmf.model import VmfError

from .backends import Backend
from .clip_assembler import HOP, ClipAssembler
from .latency import LatencyRecorder
from .scoring import TOP_K, Prediction, Scorer, check_hold
from .sources import Frame, FrameSource

LATENCY_SERIES = ("preprocess", "inference", "end_to_end")
KEEP_PREDICTIONS = 100  # newest predictions a report keeps by default (camera or file)
STOP_WAIT_S = 0.5  # the longest a stop waits for a clip still being classified


@dataclass(frozen=True)
class StreamOptions:
    """How frames become clips and clips become predictions."""

    hop: int = HOP  # kept frames between two clips, once the buffer is full
    sample_every: int | None = None  # keep every n-th frame ...
    sample_fps: float | None = None  # ... or frames at this rate (default: the sidecar's sample_fps)
    smooth: float | None = None  # EMA weight of the newest clip's probabilities
    # Keep showing the last label until a clip's top-1 scores at least this (Scorer; None: off)
    hold: float | None = None
    top_k: int = TOP_K
    spare: int | None = None  # extra ring slots for frames arriving during an inference (default T)
    # Predictions the report keeps in memory (the newest): None = KEEP_PREDICTIONS, from any
    # source; 0 = none (stream them with on_prediction).
    keep_predictions: int | None = None
    # Also spool every prediction to an unnamed temporary file, so the report can list them
    # all (StreamReport.all_predictions, write_json) while memory stays flat: --json on a file.
    all_predictions: bool = False
    stem_reuse: bool = True  # use the model card's split artifact (stem + body) when it has one

    def __post_init__(self):
        # Checked here so a CLI mistake is reported before a model or a camera is opened.
        if self.hop < 1:
            raise VmfError(f"--hop must be >= 1, got {self.hop}")
        if self.smooth is not None and not 0 < self.smooth <= 1:
            raise VmfError(f"--smooth must be in (0, 1], got {self.smooth}")
        check_hold(self.hold)
        if self.top_k < 1:
            raise VmfError(f"top_k must be >= 1, got {self.top_k}")
        if self.spare is not None and self.spare < 0:
            raise VmfError(f"spare must be >= 0, got {self.spare}")
        if self.keep_predictions is not None and self.keep_predictions < 0:
            raise VmfError(f"keep_predictions must be >= 0, got {self.keep_predictions}")
        TemporalSampler(every=self.sample_every, target_fps=self.sample_fps)  # raises if invalid


class PredictionSpool:
    """Every prediction's ``to_dict()`` as one JSON line in an unnamed temporary file.

    The full list of a long file lives on disk, not in memory (about 300 bytes a
    prediction there); the file has no name, so it is gone when the process ends,
    however it ends. Written by the inference worker, read once the stream is over.
    """

    def __init__(self):
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._lock = threading.Lock()

    def add(self, prediction: Prediction) -> None:
        line = json.dumps(prediction.to_dict()) + "\n"
        with self._lock:
            self._file.write(line)

    def lines(self):
        """The spooled predictions as JSON text, one per item, in the order they were made."""
        with self._lock:
            self._file.flush()
            self._file.seek(0)
        try:
            for line in self._file:
                yield line.rstrip("\n")
        finally:
            self._file.seek(0, 2)  # back to the end, should anything be added

    def __iter__(self):
        return (json.loads(line) for line in self.lines())

    def close(self) -> None:
        """Drop the spool now (it is dropped anyway when the report is garbage)."""
        self._file.close()


@dataclass
class StreamReport:
    """What happened: exact counts, bounded latency statistics, the newest predictions."""

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
    predictions: list[Prediction] = field(default_factory=list)  # the newest keep_predictions
    spool: PredictionSpool | None = field(default=None, repr=False, compare=False)  # all_predictions
    inferences: int = 0  # clips classified (exact, whatever was kept)
    buffer_restarts: int = 0  # clip buffer restarted after a gap in the source
    stopped: bool = False  # ended by stop (Ctrl-C, SIGTERM, stop event), not by the source
    source_lost: bool = False  # a camera/URL was lost and not reconnected at the end
    source_stalls: int = 0
    source_reconnects: int = 0
    source_events: list = field(default_factory=list)  # the newest events (stalled, lost, ...)
    capture_released: bool = True  # the capture thread had ended when the report was made
    thread_plan: dict | None = None
    stem_reuse: dict | None = None  # what the split artifact saved, when one was used
    clip_sampling: str | None = None  # the card's: "stream" or "video" training clips (None: unknown)

    @property
    def frames_unprocessed(self) -> int:
        """Frames read but still queued when the stream was stopped (Ctrl-C, ``stop``)."""
        return max(0, self.frames_read - self.frames_dropped - self.frames_taken)

    @property
    def throughput(self) -> dict:
        """Clips classified and frames taken by the loop per second of wall time."""
        if self.wall_s <= 0:
            return {"clips_per_s": None, "frames_per_s": None}
        return {
            "clips_per_s": round(self.inferences / self.wall_s, 3),
            "frames_per_s": round(self.frames_taken / self.wall_s, 3),
        }

    def all_predictions(self):
        """Every prediction's ``to_dict()`` when they were spooled (``all_predictions``),
        else those of the newest kept; an iterator, read from the spool as it goes."""
        if self.spool is not None:
            return iter(self.spool)
        return (p.to_dict() for p in self.predictions)

    def write_json(self, out) -> None:
        """Write ``json.dumps(self.to_dict())`` and a newline to ``out``, the predictions
        streamed one at a time from the spool: a long file's list is never all in memory."""
        # The list is the object's last key: its dump ends with "[]}", the items go in between.
        out.write(json.dumps({**self.to_dict(predictions=False), "predictions": []})[:-2])
        if self.spool is not None:
            lines = self.spool.lines()
        else:
            lines = (json.dumps(p.to_dict()) for p in self.predictions)
        for i, line in enumerate(lines):
            out.write(", " + line if i else line)
        out.write("]}\n")
        out.flush()

    def to_dict(self, predictions: bool = True) -> dict:
        """The summary; ``predictions=False`` leaves the list out (``write_json`` streams it)."""
        summary = {
            "frames_read": self.frames_read,
            "frames_dropped": self.frames_dropped,
            "frames_taken": self.frames_taken,
            "frames_unprocessed": self.frames_unprocessed,
            "frames_kept": self.frames_kept,
            "inferences": self.inferences,
            "hops_due": self.hops_due,
            "hops_skipped": self.hops_skipped,
            "buffer_restarts": self.buffer_restarts,
            "latency_ms": self.latency_ms,
            "throughput": self.throughput,
            "wall_s": round(self.wall_s, 3),
            "backend": self.backend,
            "device": self.device,
            "stopped": self.stopped,
            "capture_released": self.capture_released,
            "source": {
                "lost": self.source_lost,
                "stalls": self.source_stalls,
                "reconnects": self.source_reconnects,
                "events": list(self.source_events),
            },
            "thread_plan": self.thread_plan,
            "stem_reuse": self.stem_reuse,
            "clip_sampling": self.clip_sampling,
        }
        if predictions:
            summary["predictions"] = list(self.all_predictions())
        return summary


@dataclass(frozen=True)
class _Job:
    clip: np.ndarray
    frame: Frame
    start: int  # number of the clip's first frame since the buffer last restarted


class _InferenceWorker:
    """One thread, at most one clip in flight; ``busy`` says whether a new one would wait.

    ``run(clip, start) -> logits`` is the backend's ``run`` or the stem-reuse
    path; the newest ``keep`` predictions are kept, and every one goes to ``spool``
    when there is one.
    """

    def __init__(
        self,
        run,
        scorer: Scorer,
        latency: LatencyRecorder,
        ring,
        on_prediction=None,
        keep: int = KEEP_PREDICTIONS,
        spool: PredictionSpool | None = None,
    ):
        self._run, self._scorer, self._latency, self._ring = run, scorer, latency, ring
        self._on_prediction = on_prediction
        self._spool = spool
        self._cond = threading.Condition()
        self._job: _Job | None = None
        self._closing = False
        self.error: BaseException | None = None
        self.predictions: collections.deque[Prediction] = collections.deque(maxlen=keep)
        self.count = 0
        self._latest: Prediction | None = None
        self._thread = threading.Thread(target=self._loop, name="vmf-inference", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def latest(self) -> Prediction | None:
        return self._latest

    def submit(self, clip: np.ndarray, frame: Frame, start: int) -> None:
        with self._cond:
            if self._job is not None:  # the loop checks busy first; this is a bug guard
                raise RuntimeError("inference worker got a clip while busy")
            self._ring.pin()  # the worker reads this view; pushes must not overwrite it
            self._job = _Job(clip, frame, start)
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for the clip in flight (at most ``timeout``); True when the worker is idle."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        with self._cond:
            while self._job is not None and self.error is None:
                left = None if deadline is None else deadline - time.perf_counter()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
            idle = self._job is None
        self.raise_if_failed()
        return idle

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self, timeout: float | None = None) -> bool:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

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
                    self.count += 1
                    self._latest = prediction
                if self._spool is not None:
                    self._spool.add(prediction)
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
        logits = self._run(job.clip, job.start)
        finished = time.perf_counter()
        scored = self._scorer.score(logits)
        done = time.perf_counter()
        inference_ms = (finished - started) * 1e3
        end_to_end_ms = (done - job.frame.captured_at) * 1e3
        self._latency.add("inference", inference_ms)
        self._latency.add("end_to_end", end_to_end_ms)
        return Prediction(
            job.frame.index,
            job.frame.timestamp_s,
            scored.top,
            scored.probabilities,
            inference_ms=inference_ms,
            end_to_end_ms=end_to_end_ms,
            shown=scored.shown,
            held=scored.held,
        )


class _GapWatch:
    """Says when a kept frame comes after a gap longer than one hop (the clip must restart).

    The expected spacing of kept frames is the sampling period when it is known
    (``sample_fps``, or the source's fps times ``sample_every``), else a running
    average of the spacing seen; a frame flagged ``gap`` (first after a
    reconnect) always restarts.
    """

    def __init__(self, hop: int, period_s: float | None):
        self.hop = hop
        self.period_s = period_s
        self._average: float | None = None
        self._previous: float | None = None

    def reset(self) -> None:
        self._previous = None

    def after_gap(self, frame: Frame) -> bool:
        previous, self._previous = self._previous, frame.timestamp_s
        if frame.gap:
            return previous is not None
        if previous is None:
            return False
        spacing = frame.timestamp_s - previous
        period = self.period_s or self._average
        if period and spacing > (self.hop + 1) * period:
            return True
        if self.period_s is None:
            self._average = spacing if self._average is None else 0.9 * self._average + 0.1 * spacing
        return False


def _kept_period(source: FrameSource, assembler: ClipAssembler) -> float | None:
    sampler = assembler.sampler
    if sampler.target_fps:
        return 1.0 / sampler.target_fps
    if source.fps:
        return (sampler.every or 1) / source.fps
    return None


def run_stream(
    source: FrameSource,
    backend: Backend,
    options: StreamOptions = StreamOptions(),
    *,
    on_frame=None,
    on_prediction=None,
    stop: threading.Event | None = None,
    thread_plan=None,
    stem_reuse=None,
    report: StreamReport | None = None,
) -> StreamReport:
    """Classify ``source`` with ``backend`` until the source ends (or ``stop`` is set).

    ``on_frame(frame, latest_prediction)`` is called on this thread for every
    frame taken from the source (overlay, display, status line);
    ``on_prediction(prediction)`` on the worker thread as each result is ready.
    ``stop`` may be set from any thread or a signal handler: the stream ends
    within about ``POLL_S`` + ``STOP_WAIT_S`` even when the source's read blocks.
    ``stem_reuse`` is a ``StemReuse`` to run instead of the backend (default:
    the backend's split artifact when its card has one and ``options.stem_reuse``).
    ``report``, when given, is filled in place, so another thread can read its
    counts while the stream runs (``scripts/soak_stream.py``).
    """
    frames = int(backend.meta["frames"])
    assembler = ClipAssembler(
        backend.meta,
        hop=options.hop,
        sample_every=options.sample_every,
        sample_fps=options.sample_fps,
        spare=frames if options.spare is None else options.spare,
    )
    if stem_reuse is None and options.stem_reuse:
        from .stem_reuse import open_stem_reuse

        stem_reuse = open_stem_reuse(backend)
    run = stem_reuse.run if stem_reuse is not None else (lambda clip, start: backend.run(clip))
    keep = KEEP_PREDICTIONS if options.keep_predictions is None else options.keep_predictions
    scorer = Scorer(backend.labels, smooth=options.smooth, top_k=options.top_k, hold=options.hold)
    latency = LatencyRecorder(*LATENCY_SERIES)
    report = report or StreamReport(backend=backend.name, device=backend.device)
    report.backend, report.device = backend.name, backend.device
    report.clip_sampling = assembler.clip_sampling
    report.thread_plan = None if thread_plan is None else thread_plan.to_dict()
    report.spool = PredictionSpool() if options.all_predictions else None
    worker = _InferenceWorker(run, scorer, latency, assembler.ring, on_prediction, keep, report.spool)
    gaps = _GapWatch(options.hop, _kept_period(source, assembler)) if source.live else None
    stop = stop or threading.Event()
    started = time.perf_counter()
    try:
        source.start()
        for frame in source.frames(stop):
            report.frames_taken += 1
            worker.raise_if_failed()
            if assembler.keep(frame.timestamp_s):
                if gaps is not None and gaps.after_gap(frame):
                    _restart(assembler, worker, stem_reuse, scorer)
                    report.buffer_restarts += 1
                _add_frame(assembler, worker, latency, report, frame, source.live, stop)
            if on_frame is not None:
                on_frame(frame, worker.latest)
            if stop.is_set():
                break
        worker.wait_idle(STOP_WAIT_S if stop.is_set() else None)
    finally:
        report.stopped = stop.is_set()
        report.capture_released = source.stop()
        worker.close(STOP_WAIT_S)
    report.wall_s = time.perf_counter() - started
    report.frames_read = source.frames_read
    report.frames_dropped = source.frames_dropped
    report.predictions = list(worker.predictions)
    report.inferences = worker.count
    report.latency_ms = latency.summary()
    report.source_lost = bool(source.lost)
    report.source_stalls = source.stalls
    report.source_reconnects = source.reconnects
    report.source_events = list(source.events)
    if stem_reuse is not None:
        report.stem_reuse = stem_reuse.summary()
    return report


def _restart(assembler: ClipAssembler, worker: _InferenceWorker, stem_reuse, scorer: Scorer) -> None:
    """A gap: wait for the clip in flight, then start a new clip (forgetting its stem features,
    the smoothing state and the shown label)."""
    worker.wait_idle()
    assembler.reset()
    scorer.reset()
    if stem_reuse is not None:
        stem_reuse.reset()


def _add_frame(
    assembler: ClipAssembler,
    worker: _InferenceWorker,
    latency: LatencyRecorder,
    report: StreamReport,
    frame: Frame,
    live: bool,
    stop: threading.Event,
) -> None:
    while not assembler.ring.can_push():
        # an inference outlasted the spare slots: its clip must stay intact
        if worker.wait_idle(STOP_WAIT_S):
            break
        if stop.is_set():
            return  # stopping: this frame is left with the rest
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
        while not worker.wait_idle(STOP_WAIT_S):
            if stop.is_set():
                return
    worker.submit(assembler.clip(), frame, assembler.ring.pushed - assembler.frames)
