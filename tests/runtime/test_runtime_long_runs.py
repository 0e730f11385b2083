"""Streams that run for hours: bounded memory, a prompt stop, lost and stalled sources."""

import io
import json
import signal
import threading
import time
import tracemalloc

import numpy as np
import pytest

from vmf.runtime import sources as sources_module
from vmf.runtime.classifier import Classifier
from vmf.runtime.latency import RECENT, RESERVOIR, LatencyRecorder, LatencySeries
from vmf.runtime.sources import FrameSource, SyntheticLiveSource
from vmf.runtime.stream import KEEP_PREDICTIONS, StreamOptions, run_stream

from runtime_fixtures import LevelBackend, fake_meta, grey_level

# The promise: a stop takes effect whatever the read does. Checked by order, not by the
# clock: the stream returns while a read that ignores the stop is still blocked.


class _Generated(FrameSource):
    """Grey frames as fast as the loop takes them; not live, so none is dropped."""

    description = "generated source"

    def __init__(self, count: int, **options):
        super().__init__(live=False, fps=30.0, max_frames=count, **options)

    def _read(self):
        k = self.frames_read
        return np.full((8, 8, 3), grey_level(k), np.uint8), k / 30.0


def test_latency_series_keeps_a_fixed_sample_and_exact_totals():
    series = LatencySeries()
    values = np.random.default_rng(0).exponential(20.0, 50_000)
    for v in values:
        series.add(v)
    assert len(series.sample) == RESERVOIR and len(series.recent) == RECENT
    s = series.summary()
    assert s["count"] == 50_000
    assert s["mean"] == pytest.approx(values.mean(), abs=1e-3)
    assert s["max"] == pytest.approx(values.max(), abs=1e-3)
    # The sample is uniform over the run: its median is the run's to within sampling error.
    assert s["p50"] == pytest.approx(np.percentile(values, 50), rel=0.05)
    assert s["p99"] == pytest.approx(np.percentile(values, 99), rel=0.1)


def test_short_series_percentiles_are_exact():
    recorder = LatencyRecorder("x")
    for v in range(1, 101):
        recorder.add("x", float(v))
    s = recorder.summary()["x"]
    assert (s["p50"], s["p99"], s["mean"], s["max"], s["count"]) == (50.5, 99.01, 50.5, 100.0, 100)


def test_many_thousand_frames_through_a_stream_keep_memory_fixed():
    backend = LevelBackend(fake_meta(frames=4, resolution=8))
    backend.clips = _Last(8)  # the fake's own record of clips would grow too
    report = run_stream(_Generated(12_000), backend, StreamOptions(hop=1, keep_predictions=50))
    assert report.frames_read == 12_000 and report.inferences == 12_000 - 3  # counts stay exact
    assert len(report.predictions) == 50  # only the newest are held
    assert [p.frame_index for p in report.predictions] == list(range(12_000 - 50, 12_000))
    lat = report.latency_ms
    assert lat["inference"]["count"] == report.inferences
    assert lat["preprocess"]["count"] == report.frames_kept == 12_000
    assert len(report.to_dict()["predictions"]) == 50


# A long file at hop 1 with a 16-frame model: ~8000 predictions. Between a quarter of the
# run and its end the traced Python heap may grow by the latency reservoirs filling up
# (3 series x 4096 floats) and no more: under 2 MB, where keeping every prediction
# (probabilities, top-5) would take about 4 MB. tracemalloc, not RSS: deterministic.
LONG_FILE_FRAMES = 8000
LONG_FILE_CLIP = 16
FLAT_GROWTH_BYTES = 2 * 2**20


def _traced_run(options: StreamOptions):
    backend = LevelBackend(fake_meta(frames=LONG_FILE_CLIP, resolution=8))
    backend.clips = _Last(8)  # the fake's own record of clips would grow too
    quarter, last = LONG_FILE_FRAMES // 4, LONG_FILE_FRAMES - 1
    traced = {}

    def on_prediction(prediction):
        if prediction.frame_index in (quarter, last):
            traced[prediction.frame_index] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        report = run_stream(_Generated(LONG_FILE_FRAMES), backend, options, on_prediction=on_prediction)
    finally:
        tracemalloc.stop()
    assert report.inferences == LONG_FILE_FRAMES - LONG_FILE_CLIP + 1  # every clip classified
    return report, traced[last] - traced[quarter]


def test_a_long_file_keeps_memory_flat():
    report, growth = _traced_run(StreamOptions(hop=1))
    assert growth <= FLAT_GROWTH_BYTES, f"grew {growth / 2**20:.2f} MB"
    assert len(report.predictions) == KEEP_PREDICTIONS  # a file, too, keeps only the newest
    assert report.predictions[-1].frame_index == LONG_FILE_FRAMES - 1


def test_a_long_file_lists_every_prediction_from_its_spool_with_flat_memory():
    report, growth = _traced_run(StreamOptions(hop=1, all_predictions=True))
    assert growth <= FLAT_GROWTH_BYTES, f"grew {growth / 2**20:.2f} MB"
    assert len(report.predictions) == KEEP_PREDICTIONS  # in memory: the newest only
    listed = [p["frame_index"] for p in report.all_predictions()]
    assert listed == list(range(LONG_FILE_CLIP - 1, LONG_FILE_FRAMES))  # on disk: every one
    # --json writes the same object as json.dumps(to_dict()), streamed from the spool.
    out = io.StringIO()
    report.write_json(out)
    assert out.getvalue() == json.dumps(report.to_dict()) + "\n"


def test_keeping_every_prediction_in_memory_is_what_the_bound_prevents():
    # The check above would fail if the file kept them all: its growth is over the bound.
    _, growth = _traced_run(StreamOptions(hop=1, keep_predictions=LONG_FILE_FRAMES))
    assert growth > FLAT_GROWTH_BYTES


def test_live_stream_keeps_the_newest_predictions_by_default():
    source = SyntheticLiveSource(fps=1000, count=600, size=(8, 8))
    report = run_stream(source, LevelBackend(fake_meta(frames=4)), StreamOptions(hop=1))
    assert report.inferences > KEEP_PREDICTIONS
    assert len(report.predictions) == KEEP_PREDICTIONS


def test_classifier_holds_no_history():
    clf = Classifier(LevelBackend(fake_meta(frames=4, resolution=8)), hop=1)
    frame = np.zeros((8, 8, 3), np.uint8)
    for _ in range(RESERVOIR + 3000):
        clf.push(frame)
    assert clf.latency.retained() <= 3 * (RESERVOIR + RECENT)
    assert clf.latency.count("inference") == RESERVOIR + 3000 - 3


class _Last(list):
    """A list that keeps only its newest ``n`` items."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def append(self, item):
        super().append(item)
        if len(self) > self.n:
            del self[0]


class _BlockingSource(FrameSource):
    """A live source that delivers ``count`` frames, then a read that never returns by itself.

    ``_unblock`` (called by ``stop``) ends the read when ``interruptible``; otherwise
    only ``release`` does (as an OpenCV read that must run into its timeout).
    """

    description = "blocking source"

    def __init__(self, count: int = 6, interruptible: bool = True):
        super().__init__(live=True, fps=30.0, queue_frames=64)
        self.count = count
        self.interruptible = interruptible
        self.release = threading.Event()
        self.closed = False

    def _read(self):
        if self.frames_read < self.count:
            return np.full((8, 8, 3), grey_level(self.frames_read), np.uint8), self.frames_read / 30.0
        self.release.wait()
        return None

    def _unblock(self):
        if self.interruptible:
            self.release.set()

    def _close(self):
        self.closed = True


def _stop_after(delay_s: float, stop: threading.Event) -> dict:
    times = {}

    def fire():
        time.sleep(delay_s)
        times["stop"] = time.perf_counter()
        stop.set()

    threading.Thread(target=fire, daemon=True).start()
    return times


@pytest.mark.parametrize("interruptible", [True, False])
def test_stop_is_prompt_when_the_read_blocks(interruptible):
    source = _BlockingSource(interruptible=interruptible)
    stop = threading.Event()
    _stop_after(0.3, stop)
    report = run_stream(source, LevelBackend(fake_meta(frames=4)), StreamOptions(hop=1), stop=stop)
    # returned without waiting for the read: only stop's unblocking (if any) has released it
    assert source.release.is_set() == interruptible
    assert report.stopped and report.frames_read == 6 and report.hops_due == 3
    assert report.inferences + report.hops_skipped == 3  # live: hops due while busy are skipped
    assert not any(t.name == "vmf-inference" and t.is_alive() for t in threading.enumerate())
    if interruptible:
        assert report.capture_released and source.closed and not source._thread.is_alive()
    else:  # the read outlives the stop: the report says so, and the capture closes when it returns
        assert not report.capture_released and not source.closed
        source.release.set()
        source._thread.join(2.0)
        assert source.closed and source.released


def test_cli_sigint_stops_a_blocked_stream_and_prints_the_summary(tiny_models, monkeypatch, capsys):
    from vmf.runtime import cli

    source = _BlockingSource(count=10, interruptible=False)
    monkeypatch.setattr(cli, "open_source", lambda *a, **k: source)
    before = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.5, lambda: signal.raise_signal(signal.SIGINT))
    timer.start()
    try:
        code = cli.main(
            ["--model", str(tiny_models["onnx"]), "--source", "0", "--threads", "1", "--hop", "1"]
        )
        still_blocked = not source.release.is_set()  # it returned while the read was blocked
    finally:
        timer.cancel()
        source.release.set()
    out, _ = capsys.readouterr()
    assert code == 0 and still_blocked
    assert "10 frames read" in out and "stopped on request" in out
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back


class _FlakyCamera(FrameSource):
    """Delivers ``before`` frames, fails (lost), refuses ``refusals`` reopens, then ``after`` more."""

    description = "flaky camera"
    reconnectable = True

    def __init__(self, before=10, refusals=2, after=10, **options):
        super().__init__(live=True, fps=30.0, max_frames=before + after, queue_frames=64, **options)
        self.before, self.refusals, self.after = before, refusals, after
        self.failed = False
        self.opens = 0

    def _read(self):
        k = self.frames_read
        if k == self.before and not self.failed:
            self.failed = True
            return None
        return np.full((8, 8, 3), grey_level(k), np.uint8), k / 30.0

    def _reopen(self):
        self.opens += 1
        return self.opens > self.refusals


def test_reconnect_after_a_lost_source_restarts_the_clip(monkeypatch):
    monkeypatch.setattr(sources_module, "BACKOFF_FIRST_S", 0.01)
    events = []
    source = _FlakyCamera(reconnect=True, on_event=events.append)
    backend = LevelBackend(fake_meta(frames=4, resolution=8))
    report = run_stream(source, backend, StreamOptions(hop=1))
    assert [e["event"] for e in events] == ["lost", "reconnect_failed", "reconnect_failed", "reconnected"]
    assert [e["retry_in_s"] for e in events if e["event"] == "reconnect_failed"] == [0.02, 0.04]
    assert report.frames_read == 20 and report.source_reconnects == 1 and not report.source_lost
    assert report.buffer_restarts == 1
    # No clip mixes frames from before and after the gap: 7 clips due before it, 7 after it.
    assert report.hops_due == 14 and report.inferences + report.hops_skipped == 14
    assert all(max(c) < 10 or min(c) >= 10 for c in backend.clips)
    assert report.to_dict()["source"]["events"][-1]["event"] == "reconnected"


def test_without_reconnect_a_lost_source_ends_the_stream_cleanly():
    source = _FlakyCamera(reconnect=False)
    report = run_stream(source, LevelBackend(fake_meta(frames=4)), StreamOptions(hop=1))
    assert report.frames_read == 10 and report.source_lost and report.hops_due == 7
    assert [e["event"] for e in report.source_events] == ["lost"]


class _StallingCamera(FrameSource):
    """Live frames with a hang of ``stall_s`` before frame ``at`` (timestamps follow the clock)."""

    description = "stalling camera"

    def __init__(self, count=16, at=8, stall_s=0.4, **options):
        super().__init__(live=True, fps=30.0, max_frames=count, queue_frames=64, **options)
        self.at, self.stall_s = at, stall_s
        self.clock = 0.0

    def _read(self):
        k = self.frames_read
        if k == self.at:
            time.sleep(self.stall_s)
            self.clock += self.stall_s
        self.clock += 1 / 30.0
        return np.full((8, 8, 3), grey_level(k), np.uint8), self.clock


def test_a_stall_is_reported_and_the_clip_restarts_after_it():
    source = _StallingCamera(source_timeout=0.15)
    backend = LevelBackend(fake_meta(frames=4, resolution=8))
    report = run_stream(source, backend, StreamOptions(hop=2))
    assert report.source_stalls == 1
    assert report.source_events[0]["event"] == "stalled"
    assert report.source_events[0]["silent_s"] >= 0.15
    assert report.buffer_restarts == 1
    assert all(max(c) < 8 or min(c) >= 8 for c in backend.clips)


def test_a_file_that_ends_is_not_lost(make_video):
    from vmf.runtime.sources import open_source

    report = run_stream(open_source(make_video(9)), LevelBackend(fake_meta(frames=4)), StreamOptions())
    assert not report.source_lost and not report.source_events and report.capture_released
    assert len(report.predictions) == report.inferences < KEEP_PREDICTIONS  # all kept: only 6


def test_synthetic_source_without_a_count_runs_until_stopped():
    stop = threading.Event()
    source = SyntheticLiveSource(fps=200, count=None, size=(8, 8))
    _stop_after(0.3, stop)
    report = run_stream(source, LevelBackend(fake_meta(frames=4)), StreamOptions(hop=4), stop=stop)
    assert report.stopped and report.frames_read > 10 and report.capture_released
