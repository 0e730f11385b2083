"""Latency statistics: p50/p90/p99/mean in milliseconds, from ``time.perf_counter`` spans."""

from __future__ import annotations

import threading

import numpy as np

PERCENTILES = (50, 90, 99)


def summarize(samples_ms) -> dict:
    """{"p50", "p90", "p99", "mean"} in ms (linear interpolation); None each when empty."""
    values = np.asarray(list(samples_ms), dtype=np.float64)
    if values.size == 0:
        return {**{f"p{p}": None for p in PERCENTILES}, "mean": None}
    stats = {f"p{p}": round(float(np.percentile(values, p)), 3) for p in PERCENTILES}
    stats["mean"] = round(float(values.mean()), 3)
    return stats


class LatencyRecorder:
    """Named series of durations; ``add`` is safe from the capture, loop and worker threads."""

    def __init__(self, *names: str):
        self._series: dict[str, list[float]] = {name: [] for name in names}
        self._lock = threading.Lock()

    def add(self, name: str, ms: float) -> None:
        with self._lock:
            self._series[name].append(float(ms))

    def last(self, name: str) -> float | None:
        with self._lock:
            series = self._series[name]
            return series[-1] if series else None

    def count(self, name: str) -> int:
        with self._lock:
            return len(self._series[name])

    def summary(self) -> dict:
        with self._lock:
            return {name: summarize(values) for name, values in self._series.items()}
