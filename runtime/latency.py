"""Latency statistics in bounded memory: exact count/mean/max, percentiles from a reservoir.

A stream runs for hours (30 fps is ~2.6 million frames a day), so a series
keeps its count, sum and maximum exactly and, for the percentiles, a uniform
random sample of at most ``RESERVOIR`` values (Vitter's algorithm R). Up to
``RESERVOIR`` samples the percentiles are exact; beyond, each is the
percentile of a uniform sample of the whole run (for p99 of 4096 samples the
rank error is about 0.16 percentage points). A short ``recent`` window is kept
beside it for per-minute figures (``scripts/soak_stream.py``).
"""

from __future__ import annotations

import collections
import random
import threading

import numpy as np

PERCENTILES = (50, 90, 99)
RESERVOIR = 4096  # samples kept per series for percentiles (32 KiB of floats)
RECENT = 512  # newest samples kept per series


def summarize(samples_ms) -> dict:
    """{"p50", "p90", "p99", "mean"} in ms (linear interpolation); None each when empty."""
    values = np.asarray(list(samples_ms), dtype=np.float64)
    if values.size == 0:
        return {**{f"p{p}": None for p in PERCENTILES}, "mean": None}
    stats = {f"p{p}": round(float(np.percentile(values, p)), 3) for p in PERCENTILES}
    stats["mean"] = round(float(values.mean()), 3)
    return stats


class LatencySeries:
    """One series: exact count, sum and max; a reservoir for percentiles; the newest values."""

    def __init__(self, reservoir: int = RESERVOIR, recent: int = RECENT, seed: int = 0):
        if reservoir < 1:
            raise ValueError(f"reservoir must be >= 1, got {reservoir}")
        self.capacity = int(reservoir)
        self.count = 0
        self.total = 0.0
        self.maximum: float | None = None
        self.sample: list[float] = []
        self.recent: collections.deque[float] = collections.deque(maxlen=recent)
        self._random = random.Random(seed)  # seeded: a run's summary is reproducible

    def add(self, value: float) -> None:
        value = float(value)
        self.count += 1
        self.total += value
        self.maximum = value if self.maximum is None or value > self.maximum else self.maximum
        self.recent.append(value)
        if len(self.sample) < self.capacity:
            self.sample.append(value)
        else:  # algorithm R: the k-th value replaces a random one with probability capacity / k
            slot = self._random.randrange(self.count)
            if slot < self.capacity:
                self.sample[slot] = value

    def summary(self) -> dict:
        stats = summarize(self.sample)
        if self.count:
            stats["mean"] = round(self.total / self.count, 3)  # exact, not the sample's
        stats["max"] = None if self.maximum is None else round(self.maximum, 3)
        stats["count"] = self.count
        return stats


class LatencyRecorder:
    """Named series of durations; ``add`` is safe from the capture, loop and worker threads."""

    def __init__(self, *names: str, reservoir: int = RESERVOIR):
        self._series = {name: LatencySeries(reservoir, seed=i) for i, name in enumerate(names)}
        self._lock = threading.Lock()

    def add(self, name: str, ms: float) -> None:
        with self._lock:
            self._series[name].add(ms)

    def last(self, name: str) -> float | None:
        with self._lock:
            recent = self._series[name].recent
            return recent[-1] if recent else None

    def count(self, name: str) -> int:
        with self._lock:
            return self._series[name].count

    def retained(self) -> int:
        """Values held in memory over all series (bounded: what the tests check)."""
        with self._lock:
            return sum(len(s.sample) + len(s.recent) for s in self._series.values())

    def summary(self) -> dict:
        with self._lock:
            return {name: series.summary() for name, series in self._series.items()}
