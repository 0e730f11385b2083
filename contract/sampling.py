"""Which frames of a video make a clip: one implementation for training, evaluation and streams.

Two ways to sample, named by ``clip_sampling`` in a checkpoint and a model card:

- ``video`` (the paper's protocol, §4): one clip of T frames spread uniformly
  over the whole video (``uniform_indices``; frames repeat when it is short).
- ``stream``: T *consecutive kept frames*, exactly what a live stream's ring
  buffer holds at some moment. Frames are kept by ``TemporalSampler`` (every
  frame, every n-th, or at ``sample_fps``), the same object the runtime feeds
  with each arriving frame's timestamp, so a training or evaluation window and
  the runtime's clip at the same position are the same frame indices.

A video with fewer kept frames than T yields one window: its kept frames with
the first one repeated in front until there are T, as if the camera had
been looking at the opening frame before the video started. The runtime never
classifies such a video (it waits for T frames); training and evaluation use
this one rule so that short clips are not lost.
"""

from __future__ import annotations

import numpy as np

from .errors import VmfError

CLIP_SAMPLINGS = ("video", "stream")

# Timestamps of file frames are index / fps: allow a rounding error when
# comparing them with due times that advance by 1 / target_fps.
_TIME_TOLERANCE_S = 1e-6


class TemporalSampler:
    """``keep(timestamp_s)`` says whether the next arriving frame goes into the clip.

    A 64-frame clip should span the time the model was trained to see, not
    whatever 64 frames a fast camera delivers: frames are kept every n-th, or
    at a target rate. At a rate, a frame is kept when its timestamp reaches the
    next due time, and due times advance by 1/fps from the kept frame's due
    time, so the kept rate matches the target over any long run without
    drifting, whatever the source's rate.
    """

    def __init__(self, every: int | None = None, target_fps: float | None = None):
        if every is not None and target_fps is not None:
            raise VmfError("choose one of --sample-every and --sample-fps, not both")
        if every is not None and int(every) < 1:
            raise VmfError(f"--sample-every must be >= 1, got {every}")
        if target_fps is not None and not target_fps > 0:
            raise VmfError(f"--sample-fps must be > 0, got {target_fps}")
        self.every = int(every) if every is not None else None
        self.target_fps = float(target_fps) if target_fps is not None else None
        self.reset()

    def describe(self) -> str:
        if self.every is not None:
            return f"every {self.every}. frame"
        if self.target_fps is not None:
            return f"{self.target_fps:g} fps"
        return "every frame"

    def reset(self) -> None:
        self._seen = 0
        self._due_s: float | None = None

    def keep(self, timestamp_s: float) -> bool:
        seen, self._seen = self._seen, self._seen + 1
        if self.every is not None:
            return seen % self.every == 0
        if self.target_fps is None:
            return True
        period = 1.0 / self.target_fps
        if self._due_s is None:
            self._due_s = timestamp_s
        if timestamp_s + _TIME_TOLERANCE_S < self._due_s:
            return False
        # Advance from the due time, not the frame time, so the rate does not
        # drift; after a gap (dropped frames) restart from this frame.
        self._due_s += period
        if self._due_s <= timestamp_s:
            self._due_s = timestamp_s + period
        return True


def uniform_indices(num_frames: int, frames: int) -> np.ndarray:
    """``frames`` indices spread uniformly over ``num_frames`` (segment centres, repeats if short).

    The one ``video`` clip of a video: the centre of each of T equal segments,
    rounded down, ``min(floor((t + 0.5) * N / T), N - 1)``; int64, ascending.
    """
    if num_frames < 1:
        raise ValueError("a video with no frames")
    centres = (np.arange(frames) + 0.5) * num_frames / frames
    return np.minimum(centres.astype(np.int64), num_frames - 1)


def kept_indices(
    num_frames: int,
    fps: float | None = None,
    sample_fps: float | None = None,
    sample_every: int | None = None,
) -> np.ndarray:
    """Indices of the frames a stream keeps from a video of ``num_frames`` frames at ``fps``.

    Frame ``i`` arrives at ``i / fps`` seconds, as a file source timestamps it;
    ``fps`` is needed only with ``sample_fps``.
    """
    if num_frames < 1:
        raise ValueError("a video with no frames")
    if sample_fps is None and sample_every is None:
        return np.arange(num_frames, dtype=np.int64)
    if sample_fps is not None and not (fps and fps > 0):
        raise VmfError("sampling at --sample-fps needs the video's frame rate")
    sampler = TemporalSampler(every=sample_every, target_fps=sample_fps)
    rate = float(fps) if fps else 1.0
    return np.array([i for i in range(num_frames) if sampler.keep(i / rate)], dtype=np.int64)


def stream_window_ends(kept: int, frames: int, hop: int = 1) -> np.ndarray:
    """Positions (in kept frames, exclusive end) at which a stream classifies: T, T + hop, ..."""
    if kept < frames:
        return np.zeros(0, dtype=np.int64)
    return np.arange(frames, kept + 1, int(hop), dtype=np.int64)


def stream_window(kept: np.ndarray, frames: int, end: int | None = None) -> np.ndarray:
    """The ``frames`` kept-frame indices a stream holds once ``end`` kept frames have arrived.

    ``kept`` is ``kept_indices(...)``; ``end`` counts kept frames (the window is
    ``kept[end - T:end]``, the runtime's ring after its ``end``-th kept frame);
    ``None`` means the last full window. Fewer kept frames than T: the short-video
    rule of the module docstring.
    """
    kept = np.asarray(kept, dtype=np.int64)
    if len(kept) < 1:
        raise ValueError("a video with no frames")
    if len(kept) < frames:
        return np.concatenate([np.full(frames - len(kept), kept[0]), kept])
    end = len(kept) if end is None else int(end)
    if not frames <= end <= len(kept):
        raise ValueError(f"a window ending at kept frame {end} needs {frames} <= end <= {len(kept)}")
    return kept[end - frames : end]
