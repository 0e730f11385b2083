"""The streaming loop on videos written here and on a synthetic live source, with fake backends."""

import numpy as np
import pytest

from vmf.model import VmfError
from vmf.runtime.clip_assembler import expected_inferences
from vmf.runtime.sources import SyntheticLiveSource, open_source
from vmf.runtime.stream import StreamOptions, run_stream

from runtime_fixtures import LevelBackend, fake_meta


def _expected_clip(last, frames):
    return [k % 32 for k in range(last - frames + 1, last + 1)]


@pytest.mark.parametrize("count,hop", [(23, 3), (16, 4), (9, 1)])
def test_file_every_frame_accounted_and_every_hop_classified(make_video, count, hop):
    backend = LevelBackend(fake_meta(frames=4, resolution=8))
    report = run_stream(open_source(make_video(count)), backend, StreamOptions(hop=hop))
    assert report.frames_read == count and report.frames_dropped == 0
    assert report.frames_kept == count
    assert report.inferences == expected_inferences(count, 4, hop) == 1 + (count - 4) // hop
    assert report.hops_skipped == 0
    indices = [p.frame_index for p in report.predictions]
    assert indices == list(range(3, count, hop))
    # Each clip handed to the model is the 4 frames ending at the prediction's frame, in order.
    assert backend.clips == [_expected_clip(i, 4) for i in indices]
    assert [p.timestamp_s for p in report.predictions] == pytest.approx([i / 25.0 for i in indices])


def test_slow_model_on_a_file_still_classifies_every_hop(make_video):
    backend = LevelBackend(fake_meta(frames=4, resolution=8), delay_s=0.01)
    report = run_stream(open_source(make_video(20)), backend, StreamOptions(hop=2, spare=1))
    assert report.inferences == expected_inferences(20, 4, 2)
    assert backend.clips == [_expected_clip(i, 4) for i in range(3, 20, 2)]  # spare=1 forces waits


def test_wraparound_beyond_the_grey_cycle(make_video):
    backend = LevelBackend(fake_meta(frames=6, resolution=8))
    report = run_stream(open_source(make_video(70)), backend, StreamOptions(hop=5))
    assert backend.clips == [_expected_clip(p.frame_index, 6) for p in report.predictions]
    assert report.inferences == 1 + (70 - 6) // 5


def test_video_shorter_than_a_clip_gives_zero_inferences(make_video):
    report = run_stream(open_source(make_video(3)), LevelBackend(fake_meta(frames=4)), StreamOptions())
    assert report.frames_read == 3 and report.inferences == 0
    assert report.latency_ms["inference"]["p50"] is None
    assert report.latency_ms["preprocess"]["p50"] is not None


def test_sample_every_thins_the_clip(make_video):
    backend = LevelBackend(fake_meta(frames=4, resolution=8))
    report = run_stream(open_source(make_video(30)), backend, StreamOptions(hop=2, sample_every=3))
    assert report.frames_kept == 10
    assert report.inferences == expected_inferences(10, 4, 2)
    first = report.predictions[0]
    assert first.frame_index == 9 and backend.clips[0] == [0, 3, 6, 9]


def test_sample_fps_from_the_sidecar_by_default(make_video):
    backend = LevelBackend(fake_meta(frames=4, resolution=8, sample_fps=12.5))  # half of 25 fps
    report = run_stream(open_source(make_video(20)), backend, StreamOptions(hop=1))
    assert report.frames_kept == 10
    assert backend.clips[0] == [0, 2, 4, 6]


def test_smoothing_averages_probabilities_over_clips(make_video):
    plain = run_stream(open_source(make_video(12)), LevelBackend(fake_meta(frames=4)), StreamOptions(hop=1))
    smooth = run_stream(
        open_source(make_video(12)), LevelBackend(fake_meta(frames=4)), StreamOptions(hop=1, smooth=0.25)
    )
    expected = plain.predictions[0].probabilities
    np.testing.assert_allclose(smooth.predictions[0].probabilities, expected, rtol=1e-6)
    for k in range(1, len(plain.predictions)):
        expected = 0.25 * plain.predictions[k].probabilities + 0.75 * expected
        np.testing.assert_allclose(smooth.predictions[k].probabilities, expected, rtol=1e-5)
    assert smooth.predictions[-1].probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_slow_model_on_a_live_source_skips_hops_and_keeps_latency_bounded():
    """A model 4x slower than the hop: the loop drops hops instead of falling behind."""
    fps, count, delay = 100.0, 150, 0.08  # 1.5 s of frames; a hop of 2 frames is 20 ms
    backend = LevelBackend(fake_meta(frames=4, resolution=8), delay_s=delay)
    source = SyntheticLiveSource(fps=fps, count=count, size=(16, 16))
    # spare=16 ring slots outlast one inference (8 frames): the loop itself never waits.
    report = run_stream(source, backend, StreamOptions(hop=2, spare=16))
    kept = report.frames_read - report.frames_dropped
    assert report.frames_read == count and report.frames_kept == kept
    assert report.hops_due == expected_inferences(kept, 4, 2)
    assert report.inferences + report.hops_skipped == report.hops_due
    # The worker cannot run more than one inference per `delay` of the stream's wall time; the
    # rest of the due hops were skipped. A queueing loop would run all ~73, 5.8 s of inference.
    assert report.hops_skipped > 0
    assert report.inferences <= report.wall_s / delay + 1
    # Every result is ready about one inference after its newest frame was captured,
    # never a backlog later (a queue would reach seconds).
    worst = max(p.end_to_end_ms for p in report.predictions)
    assert worst < 1e3 * (2 * delay + 0.5)
    # Each clip is still the newest frames in order (dropped frames leave gaps, never disorder).
    for clip in backend.clips:
        assert len(set(clip)) == 4


def test_stop_event_ends_a_live_stream():
    import threading

    stop = threading.Event()
    seen = []

    def on_frame(frame, prediction):
        seen.append(frame.index)
        if frame.index >= 10:
            stop.set()

    source = SyntheticLiveSource(fps=200, count=10_000, size=(8, 8))
    report = run_stream(
        source, LevelBackend(fake_meta(frames=4)), StreamOptions(hop=4), on_frame=on_frame, stop=stop
    )
    assert report.frames_read < 1000
    assert seen[-1] >= 10
    # Every frame read is accounted for: taken by the loop, dropped, or left queued at stop.
    assert report.frames_taken == len(seen)
    assert report.frames_read == report.frames_taken + report.frames_dropped + report.frames_unprocessed
    assert report.to_dict()["frames_unprocessed"] == report.frames_unprocessed


def test_report_json_fields(make_video):
    report = run_stream(open_source(make_video(10)), LevelBackend(fake_meta(frames=4)), StreamOptions(hop=3))
    d = report.to_dict()
    assert d["frames_taken"] == 10 and d["frames_unprocessed"] == 0  # a file is read completely
    for key in (
        "frames_read",
        "frames_dropped",
        "frames_taken",
        "frames_unprocessed",
        "inferences",
        "latency_ms",
        "throughput",
        "backend",
        "device",
        "predictions",
    ):
        assert key in d
    for series in ("preprocess", "inference", "end_to_end"):
        assert set(d["latency_ms"][series]) == {"p50", "p90", "p99", "mean", "max", "count"}
        assert d["latency_ms"][series]["p50"] >= 0
    assert set(d["throughput"]) == {"clips_per_s", "frames_per_s"}
    pred = d["predictions"][0]
    assert set(pred) == {"frame_index", "timestamp_s", "top5"}
    assert len(pred["top5"]) == 4  # the fake model has only 4 labels
    scores = [entry["score"] for entry in pred["top5"]]
    assert scores == sorted(scores, reverse=True)
    assert pred["top5"][0]["label"] == "class_3"  # the newest frame's level is the largest logit


class _FailingBackend(LevelBackend):
    def _infer(self, clip):
        if len(self.clips) == 2:
            raise VmfError("the model broke")
        return super()._infer(clip)


@pytest.mark.parametrize("live", [False, True])
def test_backend_error_mid_stream_surfaces_once(make_video, live):
    backend = _FailingBackend(fake_meta(frames=4))
    source = SyntheticLiveSource(fps=200, count=60, size=(8, 8)) if live else open_source(make_video(30))
    with pytest.raises(VmfError, match="the model broke"):
        run_stream(source, backend, StreamOptions(hop=1))
    assert not source._thread.is_alive()  # the capture thread was stopped, not left running
