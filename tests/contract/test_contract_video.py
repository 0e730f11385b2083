"""The one video reader: chosen frames, transformed as they are decoded, and the folders it scans.

(Its decoding itself, PyAV first and OpenCV as the fallback, is tested in
tests/train/test_train_video_io.py, through the names training imports.)
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from vmf.contract import video as reader
from vmf.contract.preprocess import MEAN, STD, FramePreprocessor
from vmf.contract.video import VIDEO_SUFFIXES, VideoReadError, read_frames, read_video, videos_in
from vmf.train.video_io import write_video


def ramp(count: int, height: int = 24, width: int = 32) -> np.ndarray:
    """Frame k is a horizontal ramp offset by 9 k: every frame differs from the others."""
    x = np.arange(width, dtype=np.int64)[None, :, None]
    frames = [np.broadcast_to((x * 5 + 9 * k) % 256, (height, width, 3)) for k in range(count)]
    return np.stack(frames).astype(np.uint8)


@pytest.mark.parametrize("pyav", [True, False])
def test_a_transform_is_applied_once_per_distinct_frame(tmp_path, monkeypatch, pyav):
    path = write_video(tmp_path / "clip.avi", ramp(11), 10.0, codec="mjpeg")
    if not pyav:
        monkeypatch.setitem(sys.modules, "av", None)  # the OpenCV fallback
    whole, _ = read_video(path)
    preprocess = FramePreprocessor(16, MEAN, STD, "TCHW")
    calls = []

    def transform(frame):
        calls.append(frame.copy())
        return preprocess(frame)

    chosen = np.array([7, 3, 7, 10])
    clip, _, count = read_frames(path, lambda n: chosen, transform)
    assert count == 11 and clip.shape == (4, 3, 16, 16) and clip.dtype == np.float32
    for k, index in enumerate(chosen):
        np.testing.assert_array_equal(clip[k], preprocess(whole[index]))
    assert len(calls) == 4  # frame 0 (it sets the shape), 3, 7 and 10: never twice


def test_transform_errors_reach_the_caller_unchanged(tmp_path, monkeypatch):
    path = write_video(tmp_path / "clip.avi", ramp(4), 10.0, codec="mjpeg")

    def broken(frame):
        raise KeyError("the caller's bug")

    # not taken for a decoder failure (which would fall back to OpenCV and then say "cannot read")
    monkeypatch.setattr(reader, "_frames_opencv", lambda *a: pytest.fail("fell back to OpenCV"))
    with pytest.raises(KeyError, match="the caller's bug"):
        read_frames(path, np.arange, broken)


def test_folders_are_scanned_for_one_list_of_suffixes(tmp_path):
    for name in ("b.MP4", "a.m4v", "c.webm", ".partial.mp4", "notes.txt", "d.mpeg"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.mp4").mkdir()
    assert [p.name for p in videos_in(tmp_path)] == ["a.m4v", "b.MP4", "c.webm", "d.mpeg"]
    assert {".mp4", ".avi", ".mov", ".mkv", ".webm"} <= set(VIDEO_SUFFIXES)


def test_an_unreadable_file_is_one_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 10)
    with pytest.raises(VideoReadError, match="cannot read video"):
        read_frames(bad, np.arange, lambda f: f)
