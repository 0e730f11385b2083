"""The one timing loop every backend goes through, and its statistics.

Warm-up first (first calls allocate buffers, pick kernels, fill caches and are
not what a user waits for later), then timed runs with ``time.perf_counter``.
The number of timed runs is either fixed (``runs``) or as many as fit in
``min_time`` seconds, at least ``min_runs``: short models get many samples,
5G still finishes. ``sync`` is called after each run, inside the timed region,
so a device that returns before it has finished (CUDA) is not under-counted.

``time_paced`` times the same call the way a stream makes it: one clip every
``period`` seconds (a hop: 8 frames at 30 fps is 267 ms), sleeping until the
next tick in between and not counting the sleep. On an idle machine that is
slower than back to back, because the runtime's pool parks and the cores clock
down between clips (docs/streaming.md, "Measured figures"); ``vmf-bench
--paced`` reports both.

The clock (and the paced loop's sleep) is injectable so the statistics can be
checked exactly against a fake clock in the tests, without sleeping.
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
# Paced runs wait a period each (267 ms at hop 8 and 30 fps), so their count is bounded
# on both sides: enough for a p90, and a row never waits more than 30 periods (8 s).
PACED_MIN_RUNS = 10
PACED_MAX_RUNS = 30


@dataclass(frozen=True)
class TimingOptions:
    """How one row is timed: ``--warmup``, ``--runs`` (or ``--min-time``); ``--paced``
    (``--paced-runs``) for the paced runs after them; ``--spin`` for the runtime's pool."""

    warmup: int = DEFAULT_WARMUP
    runs: int | None = None
    min_time: float = DEFAULT_MIN_TIME
    row_timeout: float | None = DEFAULT_ROW_TIMEOUT  # a row in its own process (None: no limit)
    paced_ms: float | None = None  # also one clip every paced_ms, as a stream runs it (None: not)
    paced_runs: int | None = None  # exactly this many paced runs (None: bounded by min_time)
    spin: bool = True  # may the backend's pool busy-wait (load_backend(spin=...))

    def __post_init__(self):
        if self.paced_ms is not None and not self.paced_ms > 0:
            raise ValueError(f"paced_ms must be > 0, got {self.paced_ms}")
        if self.paced_runs is not None and self.paced_runs < 1:
            raise ValueError(f"paced_runs must be >= 1, got {self.paced_runs}")


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


def time_paced(
    call: Callable[[], Any],
    period: float,
    *,
    runs: int | None = None,
    min_time: float = DEFAULT_MIN_TIME,
    min_runs: int = PACED_MIN_RUNS,
    max_runs: int = PACED_MAX_RUNS,
    sync: Callable[[], Any] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], Any] = time.sleep,
) -> list[float]:
    """Call ``call()`` once every ``period`` seconds, as a stream classifies one clip per hop;
    return seconds per call (the sleeps in between are not counted).

    Calls start on a grid of ticks ``period`` apart, the first one period from now
    (so it, too, comes after an idle period). A call that outlasts its period is
    followed by the next tick after it ends: the hops that came due meanwhile are
    skipped, as a live stream skips them. With ``runs`` set, exactly that many
    calls are timed; otherwise calls go on until ``min_time`` seconds of wall
    time (sleeps included) have passed and at least ``min_runs`` were made, and
    never more than ``max_runs``. No warm-up: a caller times back to back first.
    """
    if not period > 0:
        raise ValueError("period must be > 0")
    if runs is not None and runs < 1:
        raise ValueError("runs must be >= 1")
    sync = sync or (lambda: None)
    began = clock()
    tick = began + period
    samples: list[float] = []
    while True:
        wait = tick - clock()
        if wait > 0:
            sleep(wait)
        start = clock()
        call()
        sync()
        end = clock()
        samples.append(end - start)
        # The next tick after this call ends: hops that came due during it are skipped.
        tick += period * max(1, math.floor((end - tick) / period) + 1)
        if runs is not None:
            if len(samples) >= runs:
                return samples
        elif (end - began >= min_time and len(samples) >= min_runs) or len(samples) >= max_runs:
            return samples
