"""The one timing loop every backend goes through, and its statistics.

Warm-up first (first calls allocate buffers, pick kernels, fill caches and are
not what a user waits for later), then timed runs with ``time.perf_counter``.
The number of timed runs is either fixed (``runs``) or as many as fit in
``min_time`` seconds, at least ``min_runs``: short models get many samples,
5G still finishes. ``sync`` is called after each run, inside the timed region,
so a device that returns before it has finished (CUDA) is not under-counted.

The clock is injectable so the statistics can be checked exactly against a
fake clock in the tests, without sleeping.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

DEFAULT_WARMUP = 3
DEFAULT_MIN_TIME = 2.0  # seconds of timed runs when --runs is not given
# A row timed in its own process that has not answered by then is stopped and fails alone
# (a backend that hangs on a model must not stall the table); loading a 5G model and its
# runtime takes seconds, the timed runs --min-time.
DEFAULT_ROW_TIMEOUT = 600.0
MIN_RUNS = 5  # even a slow model gets enough samples for a median
MAX_RUNS = 10_000  # a microsecond fake or toy model must still stop


@dataclass(frozen=True)
class TimingOptions:
    """How long to time one row: ``--warmup``, ``--runs`` (or ``--min-time``)."""

    warmup: int = DEFAULT_WARMUP
    runs: int | None = None
    min_time: float = DEFAULT_MIN_TIME
    row_timeout: float | None = DEFAULT_ROW_TIMEOUT  # a row in its own process (None: no limit)


@dataclass(frozen=True)
class LatencyStats:
    """Per-clip latency in milliseconds over the timed runs."""

    runs: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    std_ms: float  # population std (ddof=0): the spread of these runs, not an estimate

    @property
    def clips_per_s(self) -> float:
        """Throughput of back-to-back single-clip calls: 1 / mean latency."""
        return 1000.0 / self.mean_ms if self.mean_ms > 0 else math.inf

    @classmethod
    def from_seconds(cls, samples: "list[float] | np.ndarray") -> "LatencyStats":
        ms = np.asarray(samples, dtype=np.float64) * 1000.0
        if ms.size == 0:
            raise ValueError("no timed runs")
        # Linear interpolation between order statistics (numpy's default).
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        return cls(
            runs=int(ms.size),
            p50_ms=float(p50),
            p90_ms=float(p90),
            p99_ms=float(p99),
            mean_ms=float(ms.mean()),
            std_ms=float(ms.std()),
        )


def time_calls(
    call: Callable[[], Any],
    *,
    warmup: int = DEFAULT_WARMUP,
    runs: int | None = None,
    min_time: float = DEFAULT_MIN_TIME,
    min_runs: int = MIN_RUNS,
    max_runs: int = MAX_RUNS,
    sync: Callable[[], Any] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Call ``call()`` ``warmup`` times untimed, then time it; return seconds per call.

    With ``runs`` set, exactly that many calls are timed. Otherwise calls are
    timed until ``min_time`` seconds of timed calls have passed and at least
    ``min_runs`` were made (never more than ``max_runs``).
    """
    if warmup < 0:
        raise ValueError("warmup must be >= 0")
    if runs is not None and runs < 1:
        raise ValueError("runs must be >= 1")
    sync = sync or (lambda: None)
    for _ in range(warmup):
        call()
        sync()
    samples: list[float] = []
    spent = 0.0
    while True:
        start = clock()
        call()
        sync()
        elapsed = clock() - start
        samples.append(elapsed)
        spent += elapsed
        if runs is not None:
            if len(samples) >= runs:
                return samples
        elif (spent >= min_time and len(samples) >= min_runs) or len(samples) >= max_runs:
            return samples
