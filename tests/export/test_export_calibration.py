"""int8 calibration clips: from videos through the preprocessing contract, else synthetic."""

import numpy as np
import pytest

from vmf.contract.preprocess import FramePreprocessor
from vmf.export.calibration import calibration_sets, video_clips
from vmf.model import MEAN, STD, VmfError

cv2 = pytest.importorskip("cv2")


def write_video(path, frames, size=(40, 30)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
    for f in range(frames):
        frame = np.full((size[1], size[0], 3), 10 * f % 250, np.uint8)
        frame[:, :, 2] = 200  # red in BGR: the preprocessing must swap it to RGB
        writer.write(frame)
    writer.release()


def test_clips_come_from_the_videos_preprocessed_and_spread_out(tmp_path):
    write_video(tmp_path / "a.avi", 20)
    write_video(tmp_path / "b.mp4", 3)  # too short for one clip: skipped
    (tmp_path / "notes.txt").write_text("not a video")
    clips = video_clips(tmp_path, frames=4, resolution=16)
    assert clips.shape == (4, 4, 3, 16, 16) and clips.dtype == np.float32
    red = (200 / 255 - MEAN[0]) / STD[0]
    assert np.allclose(clips[:, :, 0], red, atol=0.2)  # channel 0 is R after BGR -> RGB
    firsts = clips[:, 0, 1, 8, 8]  # the grey ramp tells where each clip starts
    assert np.all(np.diff(firsts) > 0)  # four different, increasing starting points
    slot = FramePreprocessor(16, MEAN, STD, "TCHW")
    capture = cv2.VideoCapture(str(tmp_path / "a.avi"))
    ok, frame = capture.read()
    capture.release()
    np.testing.assert_allclose(clips[0, 0], slot(frame), atol=1e-6)


def test_held_out_clips_are_never_calibrated_on(tmp_path):
    write_video(tmp_path / "a.avi", 20)
    write_video(tmp_path / "b.avi", 20)
    calib, held, source, held_labels = calibration_sets(4, 16, tmp_path, warn=pytest.fail)
    assert len(calib) == 6 and len(held) == 2 and str(tmp_path) in source
    assert held_labels is None  # a flat folder: no labels, no accuracy
    for h in held:
        assert not any(np.array_equal(h, c) for c in calib)


def test_without_videos_a_warning_and_synthetic_clips(tmp_path):
    warnings = []
    calib, held, source, held_labels = calibration_sets(2, 8, None, warn=warnings.append)
    assert "no --calibration" in warnings[0] and source == "synthetic moving patterns"
    assert calib.shape[1:] == (2, 3, 8, 8) and len(held) >= 4 and held_labels is None
    assert not np.allclose(calib[0], held[0])


def test_directories_without_usable_videos_are_refused(tmp_path):
    with pytest.raises(VmfError, match="not a directory"):
        video_clips(tmp_path / "missing", 4, 16)
    with pytest.raises(VmfError, match="holds no videos"):
        video_clips(tmp_path, 4, 16)
    write_video(tmp_path / "short.avi", 3)
    with pytest.raises(VmfError, match="no video has 4 readable frames"):
        video_clips(tmp_path, 4, 16)
