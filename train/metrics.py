"""Classification metrics from a confusion matrix: top-1, top-5, mean class accuracy.

Everything is accumulated as counts (a confusion matrix, a top-5 hit count,
a loss sum), so metrics from several processes are summed exactly and then
turned into rates once (MMAction2 reports the same three numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Tally:
    num_classes: int
    confusion: np.ndarray = field(init=False)  # [true, predicted] counts
    top5_hits: int = 0
    loss_sum: float = 0.0

    def __post_init__(self):
        self.confusion = np.zeros((self.num_classes, self.num_classes), np.int64)

    def add(self, logits: np.ndarray, labels: np.ndarray, loss_sum: float = 0.0) -> None:
        logits = np.asarray(logits, np.float64).reshape(len(labels), -1)
        labels = np.asarray(labels, np.int64)
        np.add.at(self.confusion, (labels, logits.argmax(1)), 1)
        k = min(5, logits.shape[1])
        top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
        self.top5_hits += int((top == labels[:, None]).any(1).sum())
        self.loss_sum += float(loss_sum)

    @property
    def n(self) -> int:
        return int(self.confusion.sum())

    def as_vector(self) -> np.ndarray:
        """Flat float64 counts, for an all-reduce across processes."""
        return np.concatenate([self.confusion.ravel().astype(np.float64), [self.top5_hits, self.loss_sum]])

    def load_vector(self, vector: np.ndarray) -> None:
        c = self.num_classes
        self.confusion = np.rint(vector[: c * c]).astype(np.int64).reshape(c, c)
        self.top5_hits = int(round(vector[c * c]))
        self.loss_sum = float(vector[c * c + 1])

    def summary(self, classes: list[str] | None = None) -> dict:
        n = self.n
        per_class_n = self.confusion.sum(1)
        correct = np.diag(self.confusion)
        seen = per_class_n > 0
        per_class = np.where(seen, correct / np.maximum(per_class_n, 1), np.nan)
        names = classes or [str(i) for i in range(self.num_classes)]
        return {
            "n": n,
            "loss": self.loss_sum / n if n else float("nan"),
            "top1": float(correct.sum() / n) if n else float("nan"),
            "top5": float(self.top5_hits / n) if n else float("nan"),
            # over the classes that have samples (an empty class has no accuracy)
            "mean_class_accuracy": float(per_class[seen].mean()) if seen.any() else float("nan"),
            "per_class": {name: (None if np.isnan(a) else float(a)) for name, a in zip(names, per_class)},
            "confusion": self.confusion.tolist(),
        }
