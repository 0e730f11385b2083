"""The browser tests' fake camera (scripts/web_camera.py): frame codes, Y4M files, windows. No browser."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import web_camera as wc


def noise(width=64, height=48, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_the_code_is_eight_blocks_msb_first_white_for_one():
    image = wc.stamp_frame_code(noise(), 0b1000_0001 + 256)  # modulo 256
    assert (image[:16, 0:4] == 255).all()
    assert (image[:16, 4:28] == 0).all()
    assert (image[:16, 28:32] == 255).all()
    untouched = noise()
    assert (image[16:] == untouched[16:]).all() and (image[:, 32:] == untouched[:, 32:]).all()


def test_every_code_survives_4_2_0_and_back():
    for number in range(256):
        planes = wc.bgr_to_i420(wc.stamp_frame_code(noise(seed=number), number))
        back = cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420)
        assert wc.read_frame_code(back) == number


def test_y4m_header_and_frames(tmp_path):
    frames = [wc.bgr_to_i420(wc.stamp_frame_code(noise(seed=i), i)) for i in range(3)]
    path = wc.write_y4m(tmp_path / "cam.y4m", frames, 64, 48, 25)
    data = path.read_bytes()
    assert data.startswith(b"YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\nFRAME\n")
    assert len(data) == len(wc.y4m_header(64, 48, 25)) + 3 * (len(b"FRAME\n") + 64 * 48 * 3 // 2)
    header, back = wc.read_y4m(path)
    assert header["C"] == "420jpeg" and header["F"] == "25:1"
    assert all((a == b).all() for a, b in zip(frames, back)) and len(back) == 3
    assert wc.y4m_header(64, 48, 30000 / 1001).startswith(b"YUV4MPEG2 W64 H48 F30000:1001 ")
    with pytest.raises(ValueError, match="not uint8"):
        wc.write_y4m(tmp_path / "bad.y4m", [np.zeros((48, 64), np.uint8)], 64, 48, 25)


def test_ffmpeg_reads_the_y4m_and_its_codes(tmp_path):
    """An independent reader (FFmpeg's yuv4mpegpipe demuxer, through PyAV) agrees on the format."""
    av = pytest.importorskip("av")
    frames = [wc.bgr_to_i420(wc.stamp_frame_code(noise(seed=i), i * 37)) for i in range(5)]
    path = wc.write_y4m(tmp_path / "cam.y4m", frames, 64, 48, 25)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 48)
        assert stream.average_rate == 25
        codes = [wc.read_frame_code(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]
    assert codes == [i * 37 % 256 for i in range(5)]


def test_camera_video_loops_the_left_right_video_under_one_running_code(tmp_path):
    from vmf.contract.video import read_video

    cam = wc.make_camera_video(tmp_path, frames=48, size=(96, 64), fps=25, source_frames=32)
    assert cam.segments == (
        wc.Segment(0, 16, "moving_left"),
        wc.Segment(16, 32, "moving_right"),
        wc.Segment(32, 48, "moving_left"),
    )
    header, planes = wc.read_y4m(cam.y4m)
    assert (header["W"], header["H"], header["F"], len(planes)) == ("96", "64", "25:1", 48)
    video, fps = read_video(cam.reference)  # what vmf-stream decodes
    assert fps == 25 and len(video) == 48
    assert [wc.read_frame_code(f) for f in video] == list(range(48))
    # the lossless twin holds exactly the Y4M's planes
    av = pytest.importorskip("av")
    with av.open(str(cam.reference)) as container:
        twin = [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]
    assert len(twin) == 48 and all((a == b).all() for a, b in zip(twin, planes))
    # camera frame 32 is video frame 0 again, under code 32 (below the code, the same picture)
    assert np.abs(video[32][16:].astype(int) - video[0][16:].astype(int)).max() <= 2
    assert np.abs(video[33][16:].astype(int) - video[0][16:].astype(int)).max() > 10  # it moves


def test_window_labels_follow_the_segments_and_never_cross_the_loop():
    cam = wc.CameraVideo(
        None,
        None,
        (wc.Segment(0, 100, "left"), wc.Segment(100, 200, "right"), wc.Segment(200, 256, "left")),
        256,
        25.0,
        (480, 360),
    )
    assert cam.window_label(62, 64) is None  # would start before the first frame
    assert cam.window_label(63, 64) == "left" and cam.window_label(99, 64) == "left"
    assert cam.window_label(100, 64) is None and cam.window_label(162, 64) is None
    assert cam.window_label(163, 64) == "right" and cam.window_label(199, 64) == "right"
    assert cam.window_label(255, 64) is None  # 192..255 spans right and left
    assert cam.window_label(256 + 63, 64) == "left"  # the second loop
    assert cam.window_label(256 + 10, 64) is None  # across the loop point
    assert cam.span_label(20, 99) == "left" and cam.span_label(20, 100) is None


def test_window_firsts_and_missing_frames_from_the_frame_codes():
    ends = [63, 71, 80, 88, 96, 104, 112, 120, 128, 136, 144]  # one frame missed between 71 and 80
    firsts = wc.window_firsts(ends, window=64, hop=8)
    assert firsts[:8] == [None] * 8
    assert firsts[8:] == [64, 72, 81]  # 128's window reaches back to 64: 65 frames, one unseen
    assert wc.missing_frames(ends, hop=8) == (1, 0, 81)
    assert wc.missing_frames([247, 255, 262, 270], hop=8) == (0, 1, 23)  # a frame given twice
    assert wc.unwrap_codes([250, 2, 10, 18]) == [250, 258, 266, 274]
    assert wc.unwrap_codes([250, 258, 266]) == [250, 258, 266]  # already counting on
