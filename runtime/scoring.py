"""From logits to a prediction: softmax, optional temporal smoothing, top-k labels, the shown label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from vmf.model import VmfError

TOP_K = 5  # labels each prediction carries (top-5, as the paper reports accuracy)


@dataclass(frozen=True, slots=True)  # slots: no per-instance dict (docs/streaming.md, "Bounded memory")
class Prediction:
    """One classification of the clip that ends at ``frame_index``.

    ``top`` is this clip's own ranking. ``label`` and ``score`` are what a display
    shows: the top-1, or, under a hold policy (``Scorer(hold=...)``), the label
    held from before with its probability in this clip (``shown``, ``held``).
    """

    frame_index: int  # source index of the newest frame in the clip
    timestamp_s: float  # that frame's source time
    top: tuple[tuple[str, float], ...]  # (label, softmax score), best first
    probabilities: np.ndarray = field(repr=False, compare=False)  # (num_classes,), smoothed if asked
    inference_ms: float | None = None
    end_to_end_ms: float | None = None  # newest frame captured -> this prediction ready
    # Under a hold policy only (None without): the shown (label, probability in this clip), and
    # whether that label is held from an earlier clip rather than this clip's top-1.
    shown: tuple[str, float] | None = None
    held: bool | None = None

    @property
    def label(self) -> str:
        """The label to show: the top-1, or the held one under a hold policy."""
        return self.top[0][0] if self.shown is None else self.shown[0]

    @property
    def score(self) -> float:
        """``label``'s probability in this clip."""
        return self.top[0][1] if self.shown is None else self.shown[1]

    def to_dict(self) -> dict:
        record = {
            "frame_index": self.frame_index,
            "timestamp_s": round(self.timestamp_s, 6),
            "top5": [{"label": label, "score": round(score, 6)} for label, score in self.top],
        }
        if self.shown is not None:  # without a hold policy the record is what it always was
            record.update(label=self.shown[0], score=round(self.shown[1], 6), held=bool(self.held))
        return record


class Scored(NamedTuple):
    """What ``Scorer.score`` makes of one clip's logits (the fields of a ``Prediction``)."""

    probabilities: np.ndarray
    top: tuple[tuple[str, float], ...]
    shown: tuple[str, float] | None  # None without a hold policy
    held: bool | None


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    z = np.exp(z - z.max())
    return (z / z.sum()).astype(np.float32)


def check_hold(hold: float | None) -> float | None:
    """``hold`` as a float, or None (off); a score outside (0, 1) is a one-line error."""
    if hold is None:
        return None
    if not 0 < hold < 1:  # NaN fails this too
        raise VmfError(f"--hold must be a score in (0, 1), got {hold}")
    return float(hold)


class Scorer:
    """Logits -> probabilities (EMA-smoothed over clips when ``smooth`` is set) -> top-k.

    ``smooth`` is the EMA weight of the newest clip: p = a * p_new + (1 - a) * p_old.
    Clips overlap heavily on a short hop, so smoothing mostly removes flicker
    between near-tied labels; ``None`` (or 1) uses each clip alone.

    ``hold`` is a display policy (docs/runtime.md, "Holding the shown label"): the
    first clip after a start or ``reset`` shows its top-1; after that, a clip whose
    top-1 probability (smoothed, with ``smooth``) is at least ``hold`` shows its
    top-1, any other keeps the label shown before. A stream's wrong windows mostly
    score low, so this removes most in-segment flicker at a small cost in switch
    latency, where smoothing delays every switch. ``None`` shows every top-1.
    """

    def __init__(self, labels, smooth: float | None = None, top_k: int = TOP_K, hold: float | None = None):
        if smooth is not None and not 0 < smooth <= 1:
            raise VmfError(f"--smooth must be in (0, 1], got {smooth}")
        self.labels = list(labels)
        self.smooth = smooth
        self.hold = check_hold(hold)
        self.top_k = min(int(top_k), len(self.labels))
        self._state: np.ndarray | None = None
        self._shown: int | None = None  # index of the label shown last (hold only)

    def reset(self) -> None:
        """Forget the smoothing state and the shown label (a scene change, the next video)."""
        self._state = None
        self._shown = None

    def __call__(self, logits: np.ndarray) -> tuple[np.ndarray, tuple[tuple[str, float], ...]]:
        """(probabilities, top-k) of one clip; ``score`` also says what to show."""
        scored = self.score(logits)
        return scored.probabilities, scored.top

    def score(self, logits: np.ndarray) -> Scored:
        """One clip: probabilities, top-k and, under ``hold``, the label to show."""
        probs = softmax(logits)
        if self.smooth is not None and self._state is not None:
            probs = self.smooth * probs + (1.0 - self.smooth) * self._state
        self._state = probs
        order = np.argsort(-probs, kind="stable")[: self.top_k]
        top = tuple((self.labels[i], float(probs[i])) for i in order)
        if self.hold is None:
            return Scored(probs, top, None, None)
        best = int(order[0])
        if self._shown is None or probs[best] >= self.hold:
            self._shown = best
        shown = (self.labels[self._shown], float(probs[self._shown]))
        return Scored(probs, top, shown, self._shown != best)
