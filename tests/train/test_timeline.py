"""Untrimmed timelines: segments that tile the video, and frames that show each segment's motion.

The motion is measured from pixels: each frame is rendered twice with the same
sensor noise, once with the main object and once without it, and the
difference is the object's mask. Its centroid (with the camera's shift taken
out), area and rotation (ECC alignment of consecutive masks) and the
strength of the difference (opacity) are tracked through every segment.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vmf.train import synth, timeline
from vmf.train.timeline import Segment, read_segments, window_label, write_segments

W, H, FPS = 200, 150, 25.0


def _timeline(seed: int, seconds: float = 24.0) -> timeline.Timeline:
    rng = np.random.default_rng(seed)
    tl = timeline.Timeline(rng, W, H, int(seconds * FPS), FPS).build_scene(rng)
    tl.scene.occluder = None  # nothing may hide the object being measured
    return tl


def _object(tl: timeline.Timeline, i: int) -> np.ndarray:
    """|frame with the object - frame without it| (summed over channels), same noise."""
    state = (tl.x[i], tl.y[i], tl.radius[i], tl.angle[i], tl.alpha[i])
    t_cam, t_dis = i / tl.window, i / max(tl.num_frames - 1, 1)
    full = tl.scene.compose(t_cam, t_dis, state, np.random.default_rng(i))
    bare = tl.scene.compose(t_cam, t_dis, state[:4] + (0.0,), np.random.default_rng(i))
    return np.abs(full.astype(np.int32) - bare.astype(np.int32)).sum(-1)


def _shift(tl, i):
    """The whole-pixel shift the camera gives the world in frame ``i`` (compose's offset)."""
    ox, oy = tl.scene.camera(i / tl.window)
    return tl.scene.pad - round(tl.scene.pad + ox), tl.scene.pad - round(tl.scene.pad + oy)


def _centroid(tl, i, diff):
    ys, xs = np.nonzero(diff > 30)
    dx, dy = _shift(tl, i)
    return xs.mean() - dx, ys.mean() - dy


def _turn(m0, m1) -> float | None:
    """Degrees the object turned from mask m0 to m1 (clockwise on screen positive), by ECC."""
    a = cv2.GaussianBlur((m0 > 30).astype(np.float32), (5, 5), 0)
    b = cv2.GaussianBlur((m1 > 30).astype(np.float32), (5, 5), 0)
    warp = np.eye(2, 3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(
            a,
            b,
            warp,
            cv2.MOTION_EUCLIDEAN,
            (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5),
            None,
            5,
        )
    except cv2.error:
        return None
    return float(np.degrees(np.arctan2(warp[1, 0], warp[0, 0])))


def _check(tl: timeline.Timeline, seg: Segment) -> None:
    first, last = seg.start, seg.end - 1
    n = seg.end - seg.start
    d0, d1 = _object(tl, first), _object(tl, last)
    label = seg.label
    if label == "appearing":
        assert d0.max() < 0.25 * d1.max() and (d1 > 30).sum() > 20, label
        return
    if label == "disappearing":
        assert d1.max() < 0.25 * d0.max() and (d0 > 30).sum() > 20, label
        return
    if tl.alpha[first] == 0:  # an empty scene standing still
        assert label == "no_motion" and d0.max() == 0 and d1.max() == 0
        return
    (x0, y0), (x1, y1) = _centroid(tl, first, d0), _centroid(tl, last, d1)
    a0, a1 = (d0 > 30).sum(), (d1 > 30).sum()
    short = min(W, H)
    travel_min = 0.1 * n / tl.window  # the slowest move crosses 15 % of the frame per window
    if label.startswith("moving_"):
        along = {
            "moving_left": x0 - x1,
            "moving_right": x1 - x0,
            "moving_up": y0 - y1,
            "moving_down": y1 - y0,
        }
        size = W if label in ("moving_left", "moving_right") else H
        assert along[label] > travel_min * size, (label, along[label])
        assert 0.75 < a1 / a0 < 1.33, label
    elif label.startswith("rotating_"):
        masks = [_object(tl, i) for i in range(first, last + 1, 2)]
        turns = [t for t in (_turn(p, q) for p, q in zip(masks, masks[1:])) if t is not None]
        total = sum(turns)
        expected = 1 if label == "rotating_clockwise" else -1
        assert expected * total > 0.5 * 60 * n / tl.window, (label, total)  # >= 60 degrees per window
    elif label in ("growing", "shrinking"):
        ratio = a1 / a0 if label == "growing" else a0 / a1
        assert ratio > 1.4 ** (1.2 * n / tl.window), (label, ratio)  # area goes as the size squared
    else:  # no_motion: the object stays where it is, as large as it was
        assert abs(x1 - x0) < 0.02 * short and abs(y1 - y0) < 0.02 * short, (label, x1 - x0, y1 - y0)
        assert 0.9 < a1 / a0 < 1.1, label
        assert np.array_equal(tl.angle[first : last + 1], np.full(n, tl.angle[first]))


@pytest.mark.parametrize("seed", range(6))
def test_every_segment_shows_its_motion(seed):
    tl = _timeline(seed)
    for seg in tl.segments:
        _check(tl, seg)


def test_segments_tile_the_video_and_follow_the_state():
    seen = set()
    for seed in range(40):
        tl = timeline.Timeline(np.random.default_rng(seed), 320, 240, 1500, 30.0)
        segs = tl.segments
        assert segs[0].start == 0 and segs[-1].end == 1500
        assert all(a.end == b.start for a, b in zip(segs, segs[1:]))
        lo, hi = 30, 150  # 1-5 s at 30 fps; the last segment may take in a stub under 1 s
        assert all(lo <= s.end - s.start <= hi for s in segs[:-1]) and segs[-1].end - segs[-1].start < hi + lo
        assert all(a.label != b.label for a, b in zip(segs, segs[1:]))
        for a, b in zip(segs, segs[1:]):  # appearing needs a hidden object, disappearing a shown one
            if b.label == "appearing":
                assert tl.alpha[a.end - 1] == 0
            if b.label in ("disappearing", "moving_left", "growing", "rotating_clockwise"):
                assert tl.alpha[a.end - 1] == 1
        seen |= {s.label for s in segs}
    assert seen == set(synth.CLASSES)


def test_window_label_is_the_majority_segment():
    segs = [Segment(0, 10, "moving_left"), Segment(10, 30, "no_motion")]
    assert window_label(segs, np.arange(0, 8)) == "moving_left"
    assert window_label(segs, np.arange(4, 12)) == "moving_left"
    assert window_label(segs, np.arange(6, 14)) == "no_motion"  # a tie goes to the later segment
    assert window_label(segs, np.arange(8, 16)) == "no_motion"


def test_segments_file_round_trip_and_errors(tmp_path):
    segs = [Segment(0, 12, "growing"), Segment(12, 40, "no_motion")]
    path = tmp_path / "v.mp4.segments.csv"
    write_segments(path, segs)
    assert path.read_text().splitlines()[0] == "start_frame,end_frame,label"
    assert read_segments(path) == segs
    for text, message in [
        ("start_frame,end_frame,label\n", "no segments"),
        ("0,5,a\n3,9,b\n", "overlap"),
        ("0,x,a\n", "integers"),
        ("5,5,a\n", "start_frame < end_frame"),
        ("0,5\n", "expected"),
    ]:
        path.write_text(text)
        with pytest.raises(ValueError, match=message):
            read_segments(path)
