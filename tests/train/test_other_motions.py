"""scripts/render_other_motions.py: the independent renderer of the eleven motion classes."""

import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from vmf.train.video_io import read_video

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "render_other_motions.py"
CLASSES = [
    "moving_left",
    "moving_right",
    "moving_up",
    "moving_down",
    "rotating_clockwise",
    "rotating_anticlockwise",
    "growing",
    "shrinking",
    "appearing",
    "disappearing",
    "no_motion",
]


@pytest.fixture(scope="module")
def other_motions():
    spec = importlib.util.spec_from_file_location("render_other_motions", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_renders_one_decodable_video_per_class(other_motions, tmp_path, capsys):
    out = tmp_path / "other"
    assert other_motions.main(["--out", str(out), "--per-class", "1", "--seed", "3", "--small"]) == 0
    assert "rendered 11 videos (1 per class x 11 classes" in capsys.readouterr().out
    assert list(other_motions.CLASSES) == CLASSES
    assert (out / "classes.txt").read_text().split() == CLASSES
    params = [json.loads(line) for line in (out / ".other_motions.jsonl").read_text().splitlines()]
    assert [p["cls"] for p in params] == CLASSES
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(CLASSES)
    for cls in CLASSES:
        files = sorted(p.name for p in (out / cls).iterdir())
        assert len(files) == 1 and files[0].startswith(f"{cls}_0.")
        frames, fps = read_video(out / cls / files[0])
        assert 8 <= len(frames) <= 20 and max(frames.shape[1:3]) <= 96
        assert 12 <= fps <= 30
        assert frames.std() > 5  # a textured scene, not a blank frame
        if cls in ("appearing", "disappearing"):  # the object's arrival or departure changes the frame
            assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 2


def test_classes_option_renders_a_subset_in_the_projects_order(other_motions, tmp_path, capsys):
    out = tmp_path / "some"
    argv = ["--out", str(out), "--per-class", "2", "--small", "--classes", "no_motion,moving_up"]
    assert other_motions.main(argv) == 0
    assert "rendered 4 videos (2 per class x 2 classes" in capsys.readouterr().out
    assert (out / "classes.txt").read_text().split() == ["moving_up", "no_motion"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["moving_up", "no_motion"]
    assert len(list((out / "no_motion").iterdir())) == 2


def test_same_seed_same_video_regardless_of_count(other_motions):
    a = other_motions.render_video("growing", 5, 0, 64, 12)
    b = other_motions.render_video("growing", 5, 0, 64, 12)
    c = other_motions.render_video("growing", 6, 0, 64, 12)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])


def test_debug_renders_change_only_what_they_say(other_motions):
    """main_object=False and camera=False draw the same random numbers: same size, length,
    parameters, and the object-free video equals the full one wherever the object is not."""
    full, fps, suffix, codec, params = other_motions.render_video("moving_right", 4, 1, 96, 16)
    bare = other_motions.render_video("moving_right", 4, 1, 96, 16, main_object=False)
    clean = other_motions.render_video("moving_right", 4, 1, 96, 16, camera=False)
    assert bare[0].shape == clean[0].shape == full.shape
    assert bare[1:] == clean[1:] == (fps, suffix, codec, params)
    differs = np.any(full != bare[0], axis=-1)
    assert 0 < differs.mean() < 0.3  # only where the object (and its shadow) is
    static = other_motions.render_video("no_motion", 4, 1, 96, 16, camera=False)[0]
    assert np.array_equal(static, static[:1].repeat(len(static), 0))  # nothing moves without a camera


@pytest.mark.parametrize(
    "args",
    [
        ["--per-class", "0"],
        ["--per-class", "1", "--max-size", "8"],
        ["--per-class", "1", "--nope"],
        ["--per-class", "1", "--classes", "moving_left,walking"],
    ],
)
def test_bad_arguments_give_one_line_and_status_2(other_motions, tmp_path, capsys, args):
    with pytest.raises(SystemExit) as stop:
        other_motions.main(["--out", str(tmp_path / "x"), *args])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("render_other_motions: error:") and "\n" not in err
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- pixel tracking
#
# Each class is checked from the pixels of the rendered frames, not from the renderer's
# parameters: the object's pixels are where the video differs from the same video rendered
# without the object (``main_object=False``: same scene, camera shake, flicker and noise).
# Per frame: area (pixels), centroid (image moments), contrast (mean difference in the
# object) and the angle the object has turned (circular cross-correlation of its polar
# image about the centroid; positive = clockwise on screen). The drawn parameters are
# only compared with the measurements afterwards; the camera's jitter (whole pixels, at
# most ``shake_px`` each way) moves the centroid too and is allowed for where it matters.

SIZE, FRAMES = 160, 32  # longest side, most frames: small and fast, big enough to see details
THRESHOLD = 12  # a pixel is the object's where some channel differs by more than this
SHIFTS = (np.arange(360) + 180) % 360 - 180  # circular shift (degrees) of each correlation bin


@dataclass
class Track:
    area: np.ndarray  # (N,) pixels of the silhouette (holes filled)
    x: np.ndarray  # (N,) its centroid (NaN while invisible)
    y: np.ndarray
    contrast: np.ndarray  # (N,) mean |difference| over the object's pixels (0 while invisible)
    angle: np.ndarray  # (N,) degrees turned clockwise since the first visible frame (NaN while invisible)
    width: int
    height: int
    params: dict

    @property
    def short(self) -> int:
        return min(self.width, self.height)

    @property
    def jitter(self) -> float:
        """How far (pixels) the camera alone can move the centroid between two frames."""
        return 2 * self.params["shake_px"] + 0.5

    def visible(self) -> np.ndarray:
        return self.area > 0


def _filled(mask: np.ndarray) -> np.ndarray:
    """The mask with its holes filled (an eye the colour of the wall behind it is still the face)."""
    flood = np.pad(mask.astype(np.uint8), 1)
    cv2.floodFill(flood, None, (0, 0), 2)
    return flood[1:-1, 1:-1] != 2


def _polar_spectrum(frame: np.ndarray, mask: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """FFT along the angle of the object's colours sampled on rings about (cx, cy), each
    ring's mean removed. Rings out to 3/4 of the object's reach only: its rim mixes in
    the background and its shadow stays put while it turns."""
    ys, xs = np.nonzero(mask)
    reach = float(np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2).max())
    r = np.arange(1, max(3, int(0.75 * reach)) + 1, dtype=np.float32)[:, None]
    phi = np.radians(np.arange(360, dtype=np.float32))[None]  # y points down: +phi is clockwise
    map_x = (cx + r * np.cos(phi)).astype(np.float32)
    map_y = (cy + r * np.sin(phi)).astype(np.float32)
    obj = frame.astype(np.float32) * mask[..., None]
    rings = cv2.remap(obj, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    rings -= rings.mean(axis=1, keepdims=True)
    return np.fft.fft(rings, axis=1)  # (rings, 360, 3)


def _turn(key: np.ndarray, spec: np.ndarray, near: float, limit: float = 60.0) -> float:
    """Clockwise degrees from ``key`` to ``spec`` (polar spectra), the one within ``limit`` of ``near``."""
    n = min(len(key), len(spec))
    corr = np.fft.ifft(np.conj(key[:n]) * spec[:n], axis=1).real.sum(axis=(0, 2))
    unwrapped = near + (SHIFTS - near + 180) % 360 - 180
    corr = np.where(np.abs(unwrapped - near) <= limit, corr, -np.inf)
    j = int(np.argmax(corr))
    left, mid, right = corr[j - 1], corr[j], corr[(j + 1) % 360]
    bend = left - 2 * mid + right
    ok = np.isfinite(left) and np.isfinite(right) and bend < 0
    return float(unwrapped[j] + (0.5 * (left - right) / bend if ok else 0.0))  # sub-degree peak


def track(module, cls: str, seed: int, k: int) -> Track:
    full, *_, params = module.render_video(cls, seed, k, SIZE, FRAMES)
    bare = module.render_video(cls, seed, k, SIZE, FRAMES, main_object=False)[0]
    n, h, w = full.shape[:3]
    diff = np.abs(full.astype(np.int16) - bare).max(axis=-1)
    area, x, y = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
    contrast, angle = np.zeros(n), np.full(n, np.nan)
    key, key_angle, since_key = None, 0.0, 0.0
    for i in range(n):
        mask = diff[i] > THRESHOLD
        if not mask.any():
            continue
        shape = _filled(mask)
        m = cv2.moments(shape.astype(np.uint8), binaryImage=True)
        area[i], contrast[i] = m["m00"], diff[i][mask].mean()
        x[i], y[i] = m["m10"] / m["m00"], m["m01"] / m["m00"]
        spec = _polar_spectrum(full[i], shape, x[i], y[i])
        if key is None:
            key, angle[i] = spec, 0.0
            continue
        since_key = _turn(key, spec, since_key)
        angle[i] = key_angle + since_key
        if abs(since_key) >= 30:  # a new reference every 30 degrees: the shape seen anew
            key, key_angle, since_key = spec, angle[i], 0.0
    return Track(area, x, y, contrast, angle, w, h, params)


VIDEOS = [(2, k) for k in range(4)]  # (seed, k): four videos per class


@pytest.mark.parametrize("cls", ["moving_left", "moving_right", "moving_up", "moving_down"])
def test_moving_objects_cross_the_frame_the_right_way(other_motions, cls):
    horizontal = cls in ("moving_left", "moving_right")
    sign = -1 if cls in ("moving_left", "moving_up") else 1
    for seed, k in VIDEOS:
        t = track(other_motions, cls, seed, k)
        assert t.visible().all(), (cls, k)
        along, across = (t.x, t.y) if horizontal else (t.y, t.x)
        extent = t.width if horizontal else t.height
        moved = (along[-1] - along[0]) / extent
        assert sign * moved >= 0.25, (cls, k, moved)  # crosses a quarter of the frame or more
        assert abs(moved - sign * t.params["travel_fraction"]) < 0.05, (cls, k, moved, t.params)
        assert np.all(sign * np.diff(along) >= -t.jitter), (cls, k)  # never back, but for the camera
        assert abs(across[-1] - across[0]) <= 0.1 * abs(along[-1] - along[0]) + t.jitter, (cls, k)
        assert 0.7 <= t.area.min() / t.area.max(), (cls, k)  # same size (backgrounds hide its rim unevenly)
        assert np.nanmax(np.abs(t.angle)) < 10, (cls, k)  # upright all the way


@pytest.mark.parametrize("cls", ["rotating_clockwise", "rotating_anticlockwise"])
def test_rotating_objects_turn_the_right_way_in_place(other_motions, cls):
    sign = 1 if cls == "rotating_clockwise" else -1
    for seed, k in VIDEOS:
        t = track(other_motions, cls, seed, k)
        assert t.visible().all(), (cls, k)
        turned = t.angle[-1]
        assert sign * turned >= 90, (cls, k, turned)  # the wrong way, or barely, fails
        assert abs(sign * turned / t.params["degrees"] - 1) < 0.25, (cls, k, turned, t.params)
        assert np.all(sign * np.diff(t.angle) >= -5), (cls, k)  # never turns back
        wander = max(np.ptp(t.x), np.ptp(t.y)) / t.short
        assert wander < 0.12, (
            cls,
            k,
            wander,
        )  # about its own centre (an asymmetric centroid circles a little)
        assert 0.75 <= t.area.min() / t.area.max(), (cls, k)


@pytest.mark.parametrize("cls", ["growing", "shrinking"])
def test_scaling_objects_change_area_by_a_clear_factor_in_place(other_motions, cls):
    for seed, k in VIDEOS:
        t = track(other_motions, cls, seed, k)
        assert t.visible().all(), (cls, k)
        scale = math.sqrt(t.area[-1] / t.area[0])  # linear size, last over first
        if cls == "shrinking":
            scale = 1 / scale
        assert scale >= 1.5, (cls, k, scale)
        assert abs(scale / t.params["factor"] - 1) < 0.25, (cls, k, scale, t.params)
        if cls == "growing":  # one way only: never back by more than a fifth of the way so far
            assert np.all(t.area >= 0.8 * np.maximum.accumulate(t.area)), (cls, k)
        else:
            assert np.all(t.area <= 1.25 * np.minimum.accumulate(t.area)), (cls, k)
        wander = max(np.ptp(t.x), np.ptp(t.y)) / t.short
        assert wander < 0.08, (cls, k, wander)


@pytest.mark.parametrize("cls", ["appearing", "disappearing"])
def test_appearing_and_disappearing_objects_switch_once(other_motions, cls):
    for seed, k in VIDEOS:
        t = track(other_motions, cls, seed, k)
        n = len(t.area)
        seen = t.area[::-1] if cls == "disappearing" else t.area  # as if appearing
        contrast = t.contrast[::-1] if cls == "disappearing" else t.contrast
        assert np.all(seen[: int(0.1 * n) + 1] == 0), (cls, k)  # absent at one end ...
        tail = slice(n - int(0.1 * n) - 1, n)
        assert np.all(seen[tail] >= 20) and np.all(contrast[tail] >= 30), (cls, k)  # ... clear at the other
        assert np.all(np.diff(seen) >= -0.1 * seen.max()), (cls, k)  # no flicker: one switch
        half = int(np.argmax(seen >= 0.5 * seen.max())) / (n - 1)
        assert 0.15 <= half <= 0.85, (cls, k, half)  # the switch happens inside the video
        mostly = seen >= 0.5 * seen.max()  # half-faded frames show only its most contrasting parts
        mostly = mostly[::-1] if cls == "disappearing" else mostly
        x, y = t.x[mostly], t.y[mostly]
        assert max(np.ptp(x), np.ptp(y)) <= t.jitter + 0.02 * t.short, (cls, k)  # where it is, it stays


def test_no_motion_keeps_the_object_still_or_has_none(other_motions):
    present = []
    for seed, k in [(2, k) for k in range(6)]:
        t = track(other_motions, "no_motion", seed, k)
        present.append(bool(t.visible().any()))
        clean = other_motions.render_video("no_motion", seed, k, SIZE, FRAMES, camera=False)[0]
        assert np.array_equal(clean, clean[:1].repeat(len(clean), 0)), k  # no camera: no pixel changes
        if not present[-1]:
            continue
        assert t.visible().all(), k
        assert max(np.ptp(t.x), np.ptp(t.y)) <= t.jitter, (k, np.ptp(t.x), np.ptp(t.y))  # the camera's only
        assert t.area.min() / t.area.max() >= 0.95, k
        assert np.abs(t.angle).max() <= 3, k
        assert t.contrast.min() >= 30, k  # a clearly visible object
        assert 0.06 <= math.sqrt(t.area[0]) / t.short, k  # not a speck
    assert present.count(True) >= 2 and present.count(False) >= 1, present  # both kinds of scene
