"""Reading whole videos or chosen frames, writing them: PyAV first, OpenCV as the fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from train_fixtures import ramp_video

from vmf.contract import video as reader  # reading is the contract's; patch its internals there
from vmf.model import VmfError
from vmf.train.video_io import VideoReadError, VideoWriteError, read_frames, read_video, write_video


def _hidden_leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_round_trip_keeps_count_size_rate_and_pixels(tmp_path):
    video = ramp_video(12, 32, 48)
    path = write_video(tmp_path / "clip.mp4", video, 15.0)
    frames, fps = read_video(path)
    assert frames.shape == (12, 32, 48, 3) and frames.dtype == np.uint8
    assert frames.flags.c_contiguous
    assert fps == pytest.approx(15.0)
    assert np.abs(frames.astype(int) - video).mean() < 4
    assert _hidden_leftovers(tmp_path) == []


_WRITE_SEVERAL = """
import hashlib, sys
from vmf.train import synth
from vmf.train.video_io import write_video
spec = synth.VideoSpec(width=112, height=72, frames=24, fps=25.0)
for k, label in enumerate(("growing", "shrinking", "moving_left", "rotating_clockwise", "appearing")):
    path = f"{sys.argv[1]}/{k}.mp4"
    write_video(path, synth.render_video(label, k, spec), spec.fps)
    print(hashlib.md5(open(path, "rb").read()).hexdigest())
"""


def test_a_data_set_is_the_same_files_every_time(tmp_path):
    # vmf-data writes many videos in one process: a video's file may not depend on what the
    # encoder coded before it (a held-out set re-made from its command must be the same set)
    runs = []
    for run in range(2):
        (tmp_path / str(run)).mkdir()
        done = subprocess.run(
            [sys.executable, "-c", _WRITE_SEVERAL, str(tmp_path / str(run))],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(done.stdout.split())
    assert len(runs[0]) == 5 and runs[0] == runs[1]


_WRITE_ON_CORES = """
import os, sys
import numpy as np
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: int(sys.argv[1])])
from vmf.train.video_io import write_video
texture = (np.random.default_rng(0).random((240, 320, 3)) * 255).astype(np.uint8)
write_video(sys.argv[2], np.stack([np.roll(texture, 2 * i, axis=1) for i in range(20)]), 30.0)
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs 2 usable cores"
)
def test_a_video_is_the_same_file_on_one_core_or_several(tmp_path):
    # A data set re-made from its command must decode to the same pixels on any machine:
    # the encoder's output may not depend on how many cores it could use.
    files = []
    for cores in (1, 2, 1):
        path = tmp_path / f"v{len(files)}.mp4"
        subprocess.run([sys.executable, "-c", _WRITE_ON_CORES, str(cores), str(path)], check=True)
        files.append(path.read_bytes())
    assert files[0] == files[1] == files[2]


@pytest.mark.parametrize("suffix", [".avi", ".mkv", ".mov", ".webm"])
def test_other_containers(tmp_path, suffix):
    video = ramp_video(8, 32, 48)
    frames, fps = read_video(write_video(tmp_path / f"clip{suffix}", video, 10.0))
    assert frames.shape == video.shape
    assert fps == pytest.approx(10.0)
    assert np.abs(frames.astype(int) - video).mean() < 6


def test_odd_size_is_kept_exactly(tmp_path):
    video = ramp_video(8, 33, 47)
    frames, _ = read_video(write_video(tmp_path / "odd.mp4", video, 12.0))
    assert frames.shape == (8, 33, 47, 3)
    assert np.abs(frames.astype(int) - video).mean() < 6


def test_named_h264_codes_an_odd_size_exactly(tmp_path):
    video = ramp_video(8, 33, 47)
    frames, _ = read_video(write_video(tmp_path / "odd.mkv", video, 12.0, codec="libx264"))
    assert frames.shape == (8, 33, 47, 3)


def test_opencv_reads_when_pyav_is_missing(tmp_path, monkeypatch):
    video = ramp_video(10, 32, 48)
    path = write_video(tmp_path / "clip.mp4", video, 12.0)
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    frames, fps = read_video(path)
    assert frames.shape == (10, 32, 48, 3)
    assert fps == pytest.approx(12.0)
    assert np.abs(frames.astype(int) - video).mean() < 4


def test_opencv_reads_when_pyav_fails(tmp_path, monkeypatch):
    path = write_video(tmp_path / "clip.mp4", ramp_video(10), 12.0)

    def broken(_path):
        raise ValueError("simulated decoder failure")

    monkeypatch.setattr(reader, "_read_pyav", broken)
    frames, _ = read_video(path)
    assert len(frames) == 10


def test_opencv_writes_when_pyav_is_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    video = ramp_video(8, 32, 48)
    frames, _ = read_video(write_video(tmp_path / "cv.mp4", video, 12.0))
    assert frames.shape == (8, 32, 48, 3)
    assert _hidden_leftovers(tmp_path) == []


def test_unreadable_file_raises_one_line(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video" * 20)
    with pytest.raises(VideoReadError) as info:
        read_video(bad)
    assert isinstance(info.value, VmfError)
    message = str(info.value)
    assert "broken.mp4" in message and "\n" not in message


def test_missing_file_raises(tmp_path):
    with pytest.raises(VideoReadError, match="no such file"):
        read_video(tmp_path / "absent.mp4")


def test_zero_frames_raises(tmp_path, monkeypatch):
    path = write_video(tmp_path / "clip.mp4", ramp_video(4), 12.0)
    monkeypatch.setattr(reader, "_read_pyav", lambda _p: ([], 25.0))
    monkeypatch.setattr(reader, "_read_opencv", lambda _p: ([], 25.0))
    with pytest.raises(VideoReadError, match="no frames"):
        read_video(path)


def test_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"old")
    with pytest.raises(VideoWriteError):
        write_video(target, ramp_video(4), 12.0, codec="no-such-encoder")
    assert target.read_bytes() == b"old"
    assert _hidden_leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "frames",
    [np.zeros((0, 8, 8, 3), np.uint8), np.zeros((2, 8, 8), np.uint8), np.zeros((2, 8, 8, 3), np.float32)],
)
def test_write_rejects_bad_frames(tmp_path, frames):
    with pytest.raises(VideoWriteError):
        write_video(tmp_path / "x.mp4", frames, 12.0)


def test_write_rejects_unknown_suffix(tmp_path):
    with pytest.raises(VideoWriteError, match="suffix"):
        write_video(tmp_path / "x.gif", ramp_video(2), 12.0)


# --------------------------------------------------------------------------- read_frames

UNSORTED_REPEATS = [7, 0, 12, 3, 3, 12, 5, 0]


def _chosen(indices):
    seen = []

    def choose(num_frames):
        seen.append(num_frames)
        return np.array(indices, np.int64)

    return choose, seen


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".mkv", ".webm"])
def test_read_frames_is_read_video_at_the_indices(tmp_path, suffix):
    path = write_video(tmp_path / f"clip{suffix}", ramp_video(13, 32, 48), 15.0)
    whole, whole_fps = read_video(path)
    choose, seen = _chosen(UNSORTED_REPEATS)
    frames, fps, count = read_frames(path, choose)
    assert seen == [13] and count == 13 and fps == whole_fps
    assert frames.dtype == np.uint8 and frames.flags.c_contiguous
    assert np.array_equal(frames, whole[UNSORTED_REPEATS])


@pytest.mark.parametrize("how", ["missing", "failing"])
def test_read_frames_opencv_is_read_video_opencv(tmp_path, monkeypatch, how):
    path = write_video(tmp_path / "clip.mp4", ramp_video(13, 32, 48), 15.0)
    if how == "missing":
        monkeypatch.setitem(sys.modules, "av", None)
    else:

        def broken(*_args):
            raise ValueError("simulated decoder failure")

        monkeypatch.setattr(reader, "_read_pyav", broken)
        monkeypatch.setattr(reader, "_frames_pyav", broken)
    whole, whole_fps = read_video(path)
    choose, seen = _chosen(UNSORTED_REPEATS)
    frames, fps, count = read_frames(path, choose)
    assert seen == [13] and count == 13 and fps == whole_fps
    assert np.array_equal(frames, whole[UNSORTED_REPEATS])


def test_read_frames_every_frame_and_none(tmp_path):
    path = write_video(tmp_path / "clip.mp4", ramp_video(9, 32, 48), 12.0)
    whole, _ = read_video(path)
    frames, _, count = read_frames(path, np.arange)
    assert count == 9 and np.array_equal(frames, whole)
    frames, _, _ = read_frames(path, lambda n: np.zeros(0, np.int64))
    assert frames.shape == (0, 32, 48, 3)


class _CountingAV:
    """PyAV with a decoder that yields at most ``limit`` frames and counts what is converted."""

    def __init__(self, av, limit=None):
        self.av, self.limit = av, limit
        self.decoded = self.converted = 0

    def open(self, path):
        return _Container(self, self.av.open(path))


class _Container:
    def __init__(self, owner, container):
        self.owner, self.container = owner, container
        self.streams = container.streams

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.container.close()

    def demux(self, stream):
        return self.container.demux(stream)

    def decode(self, stream):
        for i, frame in enumerate(self.container.decode(stream)):
            if self.owner.limit is not None and i >= self.owner.limit:
                return
            self.owner.decoded += 1
            yield _Frame(self.owner, frame)


class _Frame:
    def __init__(self, owner, frame):
        self.owner, self.frame = owner, frame

    def to_ndarray(self, **kwargs):
        self.owner.converted += 1
        return self.frame.to_ndarray(**kwargs)


def test_read_frames_converts_only_distinct_chosen_frames_and_stops_early(tmp_path, monkeypatch):
    import av

    path = write_video(tmp_path / "clip.mp4", ramp_video(13, 32, 48), 15.0)
    whole, _ = read_video(path)
    fake = _CountingAV(av)
    monkeypatch.setattr(reader, "_import_av", lambda: fake)
    frames, _, count = read_frames(path, lambda n: np.array([6, 2, 6, 2]))
    assert count == 13 and np.array_equal(frames, whole[[6, 2, 6, 2]])
    assert fake.decoded == 7  # frames 0..6, nothing after the last one wanted
    assert fake.converted == 3  # frame 0 (for the size), 2 and 6


def test_read_frames_clamps_to_what_the_decoder_yields(tmp_path, monkeypatch):
    import av

    path = write_video(tmp_path / "clip.mp4", ramp_video(13, 32, 48), 15.0)
    whole, _ = read_video(path)
    monkeypatch.setattr(reader, "_import_av", lambda: _CountingAV(av, limit=10))
    choose, seen = _chosen([12, 4, 10, 9])
    frames, _, count = read_frames(path, choose)
    assert seen == [13] and count == 10  # 13 packets, 10 frames decoded
    assert np.array_equal(frames, whole[[9, 4, 9, 9]])


def test_read_frames_passes_chooser_errors_through(tmp_path):
    path = write_video(tmp_path / "clip.mp4", ramp_video(6), 12.0)

    def boom(_n):
        raise KeyError("chooser bug")

    with pytest.raises(KeyError, match="chooser bug"):
        read_frames(path, boom)
    with pytest.raises(ValueError, match="6 frames"):
        read_frames(path, lambda n: np.array([0, n]))
    with pytest.raises(ValueError):
        read_frames(path, lambda n: np.array([-1]))


def test_read_frames_unreadable_and_missing(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video" * 20)
    with pytest.raises(VideoReadError, match="broken.mp4"):
        read_frames(bad, np.arange)
    with pytest.raises(VideoReadError, match="no such file"):
        read_frames(tmp_path / "absent.mp4", np.arange)
