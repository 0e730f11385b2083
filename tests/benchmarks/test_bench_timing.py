"""The shared timing loop and its statistics, on a fake clock (no sleeping, exact numbers)."""

import math

import pytest

from vmf.benchmarks.timing import LatencyStats, time_calls

from bench_fakes import FakeClock


def _calls(clock, delays):
    """A call that advances ``clock`` by the next delay; returns it and the call log."""
    it = iter(delays)
    log = []

    def call():
        d = next(it)
        log.append(d)
        clock.now += d

    return call, log


def test_warmup_is_untimed_and_runs_is_exact():
    clock = FakeClock()
    # Two slow warm-up calls (first-call costs) must not reach the statistics.
    delays = [5.0, 4.0] + [i / 1000 for i in range(1, 11)]
    call, log = _calls(clock, delays)
    samples = time_calls(call, warmup=2, runs=10, clock=clock)
    assert len(log) == 12
    assert samples == pytest.approx([i / 1000 for i in range(1, 11)], abs=1e-12)


def test_statistics_of_known_delays():
    stats = LatencyStats.from_seconds([i / 1000 for i in range(1, 11)])  # 1..10 ms
    assert stats.runs == 10
    # Percentiles interpolate linearly between order statistics: p90 sits at rank 8.1 -> 9.1 ms.
    assert stats.p50_ms == pytest.approx(5.5)
    assert stats.p90_ms == pytest.approx(9.1)
    assert stats.p99_ms == pytest.approx(9.91)
    assert stats.mean_ms == pytest.approx(5.5)
    assert stats.std_ms == pytest.approx(math.sqrt(8.25))  # population std of 1..10
    assert stats.clips_per_s == pytest.approx(1000 / 5.5)


def test_min_time_decides_the_run_count():
    clock = FakeClock()
    call, log = _calls(clock, [0.125] * 100)
    samples = time_calls(call, warmup=0, min_time=1.0, min_runs=5, clock=clock)
    assert len(samples) == 8  # 8 x 0.125 s = the 1 s asked for


def test_min_runs_holds_for_a_slow_model():
    clock = FakeClock()
    call, _ = _calls(clock, [3.0] * 100)
    assert len(time_calls(call, warmup=0, min_time=1.0, min_runs=5, clock=clock)) == 5


def test_max_runs_stops_an_instant_call():
    clock = FakeClock()
    call, _ = _calls(clock, [0.0] * 1000)
    assert len(time_calls(call, warmup=0, min_time=1.0, max_runs=50, clock=clock)) == 50


def test_sync_is_inside_the_timed_region():
    clock = FakeClock()
    call, _ = _calls(clock, [0.001] * 10)

    def sync():  # a device that finishes 2 ms after the call returned
        clock.now += 0.002

    samples = time_calls(call, warmup=1, runs=3, sync=sync, clock=clock)
    assert samples == pytest.approx([0.003] * 3)


@pytest.mark.parametrize("kwargs", [{"warmup": -1}, {"runs": 0}])
def test_bad_counts_are_refused(kwargs):
    with pytest.raises(ValueError):
        time_calls(lambda: None, clock=FakeClock(), **kwargs)
