"""Temporal sampling: which source frames enter the clip.

A 64-frame clip should span the time the model was trained to see (the paper
evaluates one 64-frame clip covering a whole Kinetics video, §4), not 2 s of a
30 fps camera. So frames are kept every n-th, or at a target rate: a frame is
kept when its timestamp reaches the next due time, and due times advance by
1/fps from the kept frame's due time, so the kept rate matches the target over
any long run without drifting, whatever the source's rate.
"""

from __future__ import annotations

from vmf.model import VmfError

# Timestamps of file frames are index / fps: allow a rounding error when
# comparing them with due times that advance by 1 / target_fps.
_TIME_TOLERANCE_S = 1e-6


class TemporalSampler:
    """``keep(timestamp_s)`` says whether the next arriving frame goes into the clip."""

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
