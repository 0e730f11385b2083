"""From logits to a prediction: softmax, optional temporal smoothing, top-k labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vmf.model import VmfError

TOP_K = 5  # labels each prediction carries (top-5, as the paper reports accuracy)


@dataclass(frozen=True, slots=True)  # slots: no per-instance dict (docs/streaming.md, "Bounded memory")
class Prediction:
    """One classification of the clip that ends at ``frame_index``."""

    frame_index: int  # source index of the newest frame in the clip
    timestamp_s: float  # that frame's source time
    top: tuple[tuple[str, float], ...]  # (label, softmax score), best first
    probabilities: np.ndarray = field(repr=False, compare=False)  # (num_classes,), smoothed if asked
    inference_ms: float | None = None
    end_to_end_ms: float | None = None  # newest frame captured -> this prediction ready

    @property
    def label(self) -> str:
        return self.top[0][0]

    @property
    def score(self) -> float:
        return self.top[0][1]

    def to_dict(self) -> dict:
        return {
            "frame_index": self.frame_index,
            "timestamp_s": round(self.timestamp_s, 6),
            "top5": [{"label": label, "score": round(score, 6)} for label, score in self.top],
        }


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    z = np.exp(z - z.max())
    return (z / z.sum()).astype(np.float32)


class Scorer:
    """Logits -> probabilities (EMA-smoothed over clips when ``smooth`` is set) -> top-k.

    ``smooth`` is the EMA weight of the newest clip: p = a * p_new + (1 - a) * p_old.
    Clips overlap heavily on a short hop, so smoothing mostly removes flicker
    between near-tied labels; ``None`` (or 1) uses each clip alone.
    """

    def __init__(self, labels, smooth: float | None = None, top_k: int = TOP_K):
        if smooth is not None and not 0 < smooth <= 1:
            raise VmfError(f"--smooth must be in (0, 1], got {smooth}")
        self.labels = list(labels)
        self.smooth = smooth
        self.top_k = min(int(top_k), len(self.labels))
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        self._state = None

    def __call__(self, logits: np.ndarray) -> tuple[np.ndarray, tuple[tuple[str, float], ...]]:
        probs = softmax(logits)
        if self.smooth is not None and self._state is not None:
            probs = self.smooth * probs + (1.0 - self.smooth) * self._state
        self._state = probs
        order = np.argsort(-probs, kind="stable")[: self.top_k]
        return probs, tuple((self.labels[i], float(probs[i])) for i in order)
