"""Frames in, clips out: sampling, per-frame preprocessing into the ring buffer, the hop.

Shared by the embedding API (``Classifier``) and the streaming loop, so both
feed a model the same way: a kept frame is preprocessed once, on arrival,
straight into its ring-buffer slot (``FramePreprocessor(..., out=slot)``, the
input contract of ``vmf.contract.preprocess``), and a clip is due once the
buffer holds T frames and then every ``hop`` kept frames.
"""

from __future__ import annotations

import numpy as np

from vmf.contract.preprocess import FramePreprocessor
from vmf.contract.sampling import TemporalSampler, stream_window_ends
from vmf.model import VmfError

from .ring_buffer import ClipRingBuffer

# Default hop, in kept frames: 8 frames at 30 fps is ~3.75 predictions a second,
# and for VMF-560M (stem stride s_t = 8, paper Table 1) each new clip then moves
# its stem output by exactly one step.
HOP = 8


class ClipAssembler:
    """Sampler + preprocessor + ring buffer for one model card (a sidecar dict)."""

    def __init__(
        self,
        meta: dict,
        *,
        hop: int = HOP,
        sample_every: int | None = None,
        sample_fps: float | None = None,
        spare: int = 0,
    ):
        if int(hop) < 1:
            raise VmfError(f"--hop must be >= 1, got {hop}")
        if sample_every is None and sample_fps is None:
            sample_fps = meta.get("sample_fps")  # the model's own rate, when the sidecar says
        self.hop = int(hop)
        self.frames = int(meta["frames"])
        self.clip_sampling = meta.get("clip_sampling")  # what the model was trained on (None: unknown)
        self.sampler = TemporalSampler(every=sample_every, target_fps=sample_fps)
        self.preprocess = FramePreprocessor(
            meta["resolution"], meta["mean"], meta["std"], meta["input_layout"]
        )
        self.ring = ClipRingBuffer(self.frames, self.preprocess.slot_shape, spare=spare)

    def keep(self, timestamp_s: float) -> bool:
        """Whether the frame arriving now enters the clip (temporal sampling)."""
        return self.sampler.keep(timestamp_s)

    def add(self, frame_bgr: np.ndarray) -> bool:
        """Preprocess one kept frame into the next slot; True when a clip is due now."""
        self.preprocess(frame_bgr, out=self.ring.slot())
        self.ring.commit()
        return self.due

    @property
    def due(self) -> bool:
        pushed = self.ring.pushed
        return pushed >= self.frames and (pushed - self.frames) % self.hop == 0

    def clip(self) -> np.ndarray:
        return self.ring.clip()

    def reset(self) -> None:
        """Scene change: start a new clip (the next prediction needs T new frames)."""
        self.ring.reset()
        self.sampler.reset()


def training_note(meta: dict) -> str | None:
    """One line on the clips the model was trained on (its card's ``clip_sampling``); None: unknown.

    A stream classifies T consecutive kept frames. A ``stream`` model was trained on
    exactly such windows; a ``video`` model on one clip spread over each whole video,
    so here its clips cover less time and less of each action than in training, and
    it may be unsure: that line is a warning.
    """
    sampling, frames, fps = meta.get("clip_sampling"), int(meta["frames"]), meta.get("sample_fps")
    at = f" at {fps:g} fps" if fps else ""
    if sampling == "stream":
        return f"model: trained on stream windows of {frames} frames{at}"
    if sampling == "video":
        return (
            f"warning: the model was trained on whole videos (one {frames}-frame clip spread over each), "
            f"not on stream windows: a stream gives it {frames} consecutive frames{at}, a shorter "
            "window, so it may be unsure"
        )
    return None


def expected_inferences(kept_frames: int, frames: int, hop: int) -> int:
    """Clips due for ``kept_frames`` frames: one when the buffer fills, then one per hop."""
    return len(stream_window_ends(kept_frames, frames, hop))
