"""The embedding API: push camera frames, get predictions, no CLI involved.

    from vmf.runtime import Classifier
    clf = Classifier.load("vmf-560m_fp32.onnx", hop=8, threads=2)
    for frame in frames:                   # BGR uint8 images, e.g. from cv2.VideoCapture
        prediction = clf.push(frame)       # None until a clip is due
        if prediction:
            print(prediction.frame_index, prediction.top[0])

``Classifier.load(path, hold=0.4)`` keeps showing the last label until a clip's
top-1 scores at least 0.4: ``prediction.label`` / ``.score`` are then the shown
label (``.held`` says whether it is kept from before), ``.top`` stays the clip's
own ranking (docs/runtime.md, "Holding the shown label").

``push`` runs inference on the caller's thread when a clip is due, so a
server calls it from its own worker; the streaming loop (``vmf.runtime.stream``)
adds the capture thread, an inference worker and hop skipping for live sources.
It holds no history (the latency statistics are of fixed size), so it can run
for days; when the model card has a split artifact, each clip computes the
stem only for frames it has not seen (``stem_reuse``, docs/streaming.md).
"""

from __future__ import annotations

import os
import time

import numpy as np

from .backends import Backend, load_backend
from .clip_assembler import HOP, ClipAssembler, training_note
from .latency import LatencyRecorder
from .scoring import TOP_K, Prediction, Scorer


class Classifier:
    """A model, its clip buffer and its scorer: ``push(frame) -> Prediction | None``."""

    def __init__(
        self,
        backend: Backend,
        *,
        hop: int = HOP,
        sample_every: int | None = None,
        sample_fps: float | None = None,
        smooth: float | None = None,
        hold: float | None = None,
        top_k: int = TOP_K,
        stem_reuse: bool = True,
    ):
        # hold: keep showing the last label until a clip's top-1 scores at least this
        # (Scorer; docs/runtime.md, "Holding the shown label"); None shows every top-1.
        self.backend = backend
        self.assembler = ClipAssembler(
            backend.meta, hop=hop, sample_every=sample_every, sample_fps=sample_fps
        )
        self.stem_reuse = None
        if stem_reuse:
            from .stem_reuse import open_stem_reuse

            self.stem_reuse = open_stem_reuse(backend)
        self.scorer = Scorer(backend.labels, smooth=smooth, top_k=top_k, hold=hold)
        self.latency = LatencyRecorder("preprocess", "inference", "end_to_end")
        self.frames_pushed = 0
        self._clock_start: float | None = None

    @classmethod
    def load(
        cls,
        path: "str | os.PathLike",
        *,
        backend: str | None = None,
        threads: int | None = None,
        device: str = "cpu",
        spin: bool = True,
        **options,
    ) -> "Classifier":
        """Load a model (sidecar beside it) with ``load_backend``; options as for ``__init__``.

        ``spin=False`` when the caller's other threads share the cores (see
        ``vmf.runtime.thread_plan``).
        """
        return cls(load_backend(path, backend=backend, threads=threads, device=device, spin=spin), **options)

    @property
    def labels(self) -> list[str]:
        return self.backend.labels

    @property
    def clip_sampling(self) -> str | None:
        """The clips the model was trained on: ``"stream"`` windows, whole ``"video"`` s, or None
        (its card does not say). A ``"video"`` model may be unsure on a stream's windows."""
        return self.assembler.clip_sampling

    @property
    def training_note(self) -> str | None:
        """The line ``vmf-stream`` prints about ``clip_sampling`` (a warning for ``"video"``)."""
        return training_note(self.backend.meta)

    def push(self, frame_bgr: np.ndarray, timestamp: float | None = None) -> Prediction | None:
        """Add one frame (H x W x 3 BGR uint8); returns a prediction when a clip is due.

        ``timestamp`` (seconds) drives ``sample_fps``; by default the time since
        the first push.
        """
        arrived = time.perf_counter()
        if self._clock_start is None:
            self._clock_start = arrived
        index, self.frames_pushed = self.frames_pushed, self.frames_pushed + 1
        timestamp = arrived - self._clock_start if timestamp is None else float(timestamp)
        if not self.assembler.keep(timestamp):
            return None
        due = self.assembler.add(frame_bgr)
        self.latency.add("preprocess", (time.perf_counter() - arrived) * 1e3)
        if not due:
            return None
        started = time.perf_counter()
        clip = self.assembler.clip()
        if self.stem_reuse is not None:
            logits = self.stem_reuse.run(clip, self.assembler.ring.pushed - self.assembler.frames)
        else:
            logits = self.backend.run(clip)
        finished = time.perf_counter()
        scored = self.scorer.score(logits)
        done = time.perf_counter()
        self.latency.add("inference", (finished - started) * 1e3)
        self.latency.add("end_to_end", (done - arrived) * 1e3)
        return Prediction(
            index,
            timestamp,
            scored.top,
            scored.probabilities,
            inference_ms=(finished - started) * 1e3,
            end_to_end_ms=(done - arrived) * 1e3,
            shown=scored.shown,
            held=scored.held,
        )

    def reset(self) -> None:
        """Forget the buffered frames, the smoothing state and the shown label (scene change)."""
        self.assembler.reset()
        self.scorer.reset()
        if self.stem_reuse is not None:
            self.stem_reuse.reset()
