"""The clip ring buffer: the last T preprocessed frames, in order, without copying the clip.

Video Mobile-Former is not causal: its global tokens attend over the whole clip
(paper §3), so a stream is classified by re-running the full T-frame clip every
hop frames. What must not be repeated is the per-frame work, so each frame is
preprocessed once, straight into its slot here, and ``clip()`` hands out a view.

Layout: ``capacity = frames + spare`` logical slots, stored in
``capacity + frames - 1`` physical slots. Frame n goes to slot ``n % capacity``
and, when that slot is one of the first ``frames - 1``, also to its mirror
``capacity + n % capacity``. Any ``frames`` consecutive logical slots are then
contiguous in memory, so the clip of the newest T frames is one slice:
``storage[(n - T) % capacity : ... + T]``. Pushing costs one frame write (two
for the first T-1 slots), never a clip copy.

The ``spare`` slots are why an inference can run on a worker thread while new
frames keep arriving: the view handed out stays intact for ``spare`` further
pushes (``can_push`` tells the caller when one more push would overwrite a
frame of a clip still in use).
"""

from __future__ import annotations

import numpy as np


class ClipRingBuffer:
    """Preallocated buffer of preprocessed frames; ``clip()`` is the newest T in order."""

    def __init__(self, frames: int, slot_shape: tuple[int, ...], spare: int = 0, dtype=np.float32):
        if frames < 1:
            raise ValueError(f"a clip needs at least one frame, got {frames}")
        if spare < 0:
            raise ValueError(f"spare must be >= 0, got {spare}")
        self.frames = int(frames)
        self.capacity = self.frames + int(spare)
        self.slot_shape = tuple(slot_shape)
        self._storage = np.zeros((self.capacity + self.frames - 1, *self.slot_shape), dtype=dtype)
        self._pushed = 0  # frames pushed since the last reset
        self._pinned_from: int | None = None  # first frame number of a clip still in use

    @property
    def pushed(self) -> int:
        """Frames pushed since the last ``reset()``."""
        return self._pushed

    @property
    def full(self) -> bool:
        """True once T frames are in: ``clip()`` is a real clip."""
        return self._pushed >= self.frames

    def slot(self) -> np.ndarray:
        """The slot the next frame goes to: write the frame into it, then ``commit()``."""
        return self._storage[self._pushed % self.capacity]

    def commit(self) -> None:
        """Make the frame written into ``slot()`` the newest of the clip (O(1): one mirror write)."""
        logical = self._pushed % self.capacity
        if logical < self.frames - 1:
            self._storage[self.capacity + logical] = self._storage[logical]
        self._pushed += 1

    def push(self, frame: np.ndarray) -> None:
        """Copy one already-preprocessed frame in (``slot()`` + ``commit()`` avoid this copy)."""
        self.slot()[...] = frame
        self.commit()

    def clip(self) -> np.ndarray:
        """A view (no copy) of the newest T frames, oldest first; zeros before the buffer is full.

        Treat it as read-only: it aliases the buffer's storage.
        """
        start = (self._pushed - self.frames) % self.capacity
        return self._storage[start : start + self.frames]

    def pin(self) -> None:
        """Mark the current clip as in use (by an inference) until ``unpin()``."""
        self._pinned_from = self._pushed - self.frames

    def unpin(self) -> None:
        self._pinned_from = None

    def can_push(self) -> bool:
        """False when the next push would overwrite a frame of the pinned clip."""
        if self._pinned_from is None:
            return True
        return self._pushed - self._pinned_from < self.capacity

    def reset(self) -> None:
        """Forget every frame (scene change, new source); no reallocation."""
        self._pushed = 0
        self._pinned_from = None
        self._storage[...] = 0
