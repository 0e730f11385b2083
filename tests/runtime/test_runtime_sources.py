import time

import numpy as np
import pytest

from vmf.model import VmfError
from vmf.runtime.sources import SyntheticLiveSource, VideoSource, classify_source, open_source

from runtime_fixtures import VIDEO_FPS, grey_level


def test_file_is_read_completely_in_order(make_video):
    path = make_video(23)
    source = open_source(path)
    frames = []
    for frame in source:
        frames.append(frame)
        time.sleep(0.002)  # a slow consumer: a file source waits, it never drops
    source.stop()
    assert [f.index for f in frames] == list(range(23))
    assert source.frames_read == 23 and source.frames_dropped == 0
    assert source.fps == pytest.approx(VIDEO_FPS)
    assert [f.timestamp_s for f in frames] == pytest.approx([k / VIDEO_FPS for k in range(23)])
    assert [int(f.image[0, 0, 0]) for f in frames] == pytest.approx([grey_level(k) for k in range(23)], abs=2)
    assert not source.live


def test_max_frames_stops_reading(make_video):
    source = open_source(make_video(20), max_frames=7)
    assert len(list(source)) == 7
    source.stop()
    assert source.frames_read == 7


def test_realtime_file_is_paced_and_live(make_video):
    source = open_source(make_video(6), realtime=True)
    assert source.live
    frames = list(source)
    source.stop()
    assert len(frames) == 6
    # Frame k is not read before k / fps (pacing is a lower bound, whatever the machine's load).
    for frame in frames:
        assert frame.captured_at - source.started_at >= frame.index / VIDEO_FPS - 1e-3


def test_live_source_keeps_newest_and_counts_drops():
    source = SyntheticLiveSource(fps=400, count=80, queue_frames=2)
    got = []
    for frame in source:
        got.append(frame.index)
        time.sleep(0.02)  # far slower than the source: most frames must be dropped
    source.stop()
    assert source.frames_read == 80
    assert source.frames_dropped > 0
    assert len(got) + source.frames_dropped == source.frames_read  # every frame accounted for
    assert got == sorted(got) and got[-1] == 79  # the newest frame always gets through


def test_synthetic_frames_encode_their_index():
    source = SyntheticLiveSource(fps=1000, count=3, size=(4, 6))
    images = [f.image for f in source]
    assert [int(im[0, 0, 0]) for im in images] == [grey_level(k) for k in range(3)]
    assert images[0].shape == (4, 6, 3) and images[0].dtype == np.uint8


def test_source_kinds():
    assert classify_source("0") == ("camera", 0)
    assert classify_source(2) == ("camera", 2)
    assert classify_source("rtsp://host/stream")[0] == "url"


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(VmfError, match="does not exist"):
        open_source(tmp_path / "nope.mp4")


def test_folder_is_not_a_video(tmp_path):
    with pytest.raises(VmfError, match="not a video file"):
        open_source(tmp_path)


def test_unreadable_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(VmfError, match="cannot open video"):
        open_source(bad)


def test_realtime_applies_to_files_only():
    with pytest.raises(VmfError, match="realtime"):
        VideoSource("rtsp://127.0.0.1:1/none", realtime=True)
