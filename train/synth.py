"""A procedural motion dataset whose classes need temporal order (``vmf-data synth``).

Eleven classes: five time-reversed pairs and ``no_motion`` (a scene where
nothing moves but the camera, the sensor and small distractors, so a live
camera pointed at a still scene has an answer). The second class of each pair is
rendered as a clip of the first class played backwards, and every random
parameter is drawn from a distribution that does not favour either direction,
so the multiset of frames of a clip says nothing about its class within a
pair: a single frame, or any model that ignores frame order, sits at chance
between the two. Only the order of frames tells them apart.

A clip is a *scene* (a function of normalised time ``t`` in [0, 1]) rendered
at the frame times of a video: every frame of a file, or only the frames a
training clip samples (the in-memory mode, which skips encoding and decoding).
Diversity, so that a model learns motion rather than this generator:
textured backgrounds (gradients, low-frequency noise, stripes, checkers, and
real photographs shipped with scikit-image), nine shape families plus letters
and digits, solid, two-tone, hollow or thin, with or without markings inside
(so a disc can turn, like a ball or a face), sizes from a tenth of the frame up,
slow and fast motions, rotation about the centre or an off-centre pivot, fades of any length up to the
whole clip, start positions, 0-3 smaller distractors drifting in random
directions, a static occluder over part of the frame, hand-held jitter and
camera shake, sensor noise, blur, brightness changes, frame sizes from 96 to
320 pixels in either orientation, 40-120 frames, 10-30 fps.

The parts a scene is made of (shapes, sprites, backgrounds, occluder, camera
path) are ``vmf.train.scene_parts``'s; this module chooses the motion of each
class and renders. ``vmf.train.timeline`` puts the same scenes through a
sequence of these motions (untrimmed videos, the stream's view of the world).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .scene_parts import (
    DISTRACTOR_RADIUS,
    MIN_RADIUS,
    PLAIN_DISTRACTOR_RADIUS,
    CameraPath,
    paste_occluder,
    random_background,
    random_distractors,
    random_occluder,
    random_sprite,
)

# The parts of a scene moved to .scene_parts; still importable from here.
from .scene_parts import (  # noqa: F401
    GLYPH_FONTS,
    GLYPHS,
    ROUND_SHAPES,
    SHAPES,
    Sprite,
    photographs,
    shape_outlines,
)

PLAIN_MIN_RADIUS = 0.08  # the streaming-check videos' smallest object (see Scene's ``plain``)

CLASSES = (
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
)
# The second class of each pair is the time reversal of the first; no_motion has no partner.
REVERSED = {CLASSES[i + 1]: CLASSES[i] for i in range(0, 10, 2)}
# A horizontal flip turns left into right and clockwise into anticlockwise.
FLIP_PAIRS = (("moving_left", "moving_right"), ("rotating_clockwise", "rotating_anticlockwise"))
FLIP_MAP = ",".join(f"{a}:{b}" for a, b in FLIP_PAIRS)
SIZES = (
    (96, 96),
    (128, 96),
    (160, 120),
    (176, 144),
    (192, 108),
    (224, 168),
    (256, 144),
    (320, 180),
    (320, 240),
    (120, 160),
    (144, 176),
    (128, 128),
    (200, 200),
)
FPS = (10, 12, 15, 24, 25, 30)


@dataclass
class VideoSpec:
    """How a file is written: its size, frame count and frame rate."""

    width: int
    height: int
    frames: int
    fps: float


def random_spec(
    rng: np.random.Generator,
    frames: tuple[int, int] = (40, 120),
    size: tuple[int, int] | None = None,
    fps: float | None = None,
) -> VideoSpec:
    w, h = size if size is not None else SIZES[rng.integers(len(SIZES))]
    return VideoSpec(
        int(w),
        int(h),
        int(rng.integers(frames[0], frames[1] + 1)),
        float(fps if fps is not None else FPS[rng.integers(len(FPS))]),
    )


# --------------------------------------------------------------------------- scenes


class Scene:
    """One clip: a background, a main sprite whose motion is the class, distractors, camera.

    Every motion is drawn per clip (scene time 0..1) from ranges that cover slow
    and fast motions: a move crosses 20-80 % of the frame, a rotation turns
    60-540 degrees, a size changes 1.4-4x, a fade lasts from one frame to the
    whole clip.
    """

    def __init__(self, label: str, rng: np.random.Generator, width: int, height: int, *, plain: bool = False):
        """``plain``: an object without markings, at least a sixth of the frame across (the
        streaming-check videos' look, kept as it was before smaller and marked objects came in,
        so that their figures compare across generator versions)."""
        if label not in CLASSES:
            raise ValueError(f"unknown class {label!r}")
        self.reverse = label in REVERSED
        first = REVERSED.get(label, label)
        self.width, self.height = width, height
        margin = 0.1
        self.pad = int(0.06 * max(width, height)) + 2  # room for the camera jitter
        self.background = random_background(rng, height + 2 * self.pad, width + 2 * self.pad)
        bg_mean = self.background.reshape(-1, 3).mean(0)
        kind, main = random_sprite(
            rng, bg_mean, rotating=first == "rotating_clockwise", marked=False if plain else None
        )
        radius = rng.uniform(PLAIN_MIN_RADIUS if plain else MIN_RADIUS, 0.2)
        x0, y0 = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
        dx = dy = 0.0
        radius1 = radius
        spin = rng.uniform(-0.3, 0.3)  # a little rotation in every moving class: never a cue
        fade_at, fade_len = None, 0.0
        if first in ("moving_left", "moving_up"):
            dist = rng.uniform(0.2, 0.8)
            start = rng.uniform(0.5 + dist / 2 - 0.05, 0.5 + dist / 2 + 0.05)
            along, across = start, rng.uniform(margin + radius, 1 - margin - radius)
            drift = rng.uniform(-0.1, 0.1)  # a slight slant
            if first == "moving_left":
                x0, dx, y0, dy = along, -dist, across, drift
            else:
                y0, dy, x0, dx = along, -dist, across, drift
            radius = min(radius, 0.15)
            radius1 = radius * rng.uniform(0.9, 1.1)
        elif first == "rotating_clockwise":
            spin = math.radians(rng.uniform(60, 540))
            radius = rng.uniform(0.06, 0.26) / (1 + 0.5 * float(np.hypot(*main.pivot)))
            radius1 = radius
        elif first == "growing":
            ratio = rng.uniform(1.4, 4.0)
            radius = rng.uniform(MIN_RADIUS, 0.3 / ratio**0.5)
            radius1 = radius * ratio
        elif first == "appearing":  # absent, then fades in: a pop or a fade as long as the whole clip
            fade_len = 0.0 if rng.random() < 0.25 else rng.uniform(0.02, 1.0)
            lo, hi = max(0.2, fade_len / 2), min(0.8, 1 - fade_len / 2)
            fade_at = rng.uniform(lo, hi) if lo < hi else 0.5
            radius = rng.uniform(MIN_RADIUS, 0.22)
            radius1 = radius * rng.uniform(0.95, 1.05)
            dx, dy = rng.uniform(-0.08, 0.08, 2)
        else:  # no_motion: the object (if any) stays put; camera, sensor and distractors as always
            spin = 0.0
            if rng.random() < 0.15:  # an empty scene
                fade_at, fade_len = 2.0, 0.0
        main.x0, main.y0, main.dx, main.dy = x0, y0, dx, dy
        main.radius0, main.radius1, main.spin = radius, radius1, spin
        main.fade_at, main.fade_len = fade_at, fade_len
        self.main = main
        self.distractors = random_distractors(
            rng, bg_mean, PLAIN_DISTRACTOR_RADIUS if plain else DISTRACTOR_RADIUS
        )
        self.occluder = random_occluder(rng, height, width, self.pad)
        self.camera = CameraPath(rng, width, height)
        self.noise = rng.uniform(0, 10)
        self.blur = rng.random() < 0.25
        self.gain = rng.uniform(0.8, 1.2)
        self.flicker = rng.uniform(0, 0.05)

    def render(self, t: float, rng: np.random.Generator) -> np.ndarray:
        """The frame at scene time ``t`` (BGR uint8), with this frame's own sensor noise."""
        if self.reverse:
            t = 1.0 - t
        return self.compose(t, t, self.main.state(t), rng)

    def compose(
        self, camera_t: float, distractor_t: float, main_state, rng: np.random.Generator
    ) -> np.ndarray:
        """A frame from its parts: camera time, distractor time, the main object's state."""
        ox, oy = self.camera(camera_t)
        x = int(round(self.pad + ox))
        y = int(round(self.pad + oy))
        frame = self.background[y : y + self.height, x : x + self.width].copy()
        # Everything in the world shifts with the camera: a world point (u, v) appears at
        # (u + pad - x, v + pad - y) in the frame, for the objects as for the background.
        offset = (float(self.pad - x), float(self.pad - y))
        for sprite in self.distractors:
            sprite.draw(frame, distractor_t, offset)
        self.main.draw_state(frame, *main_state, offset)
        if self.occluder is not None:  # static in the world, so it moves with the camera
            paste_occluder(frame, self.occluder, int(offset[0]), int(offset[1]))
        if self.blur:
            frame = cv2.GaussianBlur(frame, (3, 3), 0)
        frame = cv2.convertScaleAbs(frame, alpha=self.gain * (1 + self.flicker * math.sin(7 * camera_t)))
        if self.noise > 0.5:
            # OpenCV's generator (several times faster than numpy's here), seeded from
            # ``rng`` so that a video is still a pure function of its seed.
            cv2.setRNGSeed(int(rng.integers(2**31)))
            noise = np.empty(frame.shape, np.int16)
            cv2.randn(noise, 0.0, float(self.noise))
            frame = cv2.add(frame, noise, dtype=cv2.CV_8U)
        return frame


def frame_times(count: int) -> np.ndarray:
    """Scene times of a video's ``count`` frames: the first at 0, the last at 1."""
    return np.linspace(0.0, 1.0, count) if count > 1 else np.zeros(1)


def render_video(label: str, seed: int, spec: VideoSpec, *, plain: bool = False) -> np.ndarray:
    """Every frame of one video, (frames, H, W, 3) BGR uint8 (``plain``: see ``Scene``).

    A second class of a pair is exactly the reversal of the first class's video
    under the same seed (same scene, same per-frame noise, frames in reverse).
    """
    first = REVERSED.get(label, label)
    rng = np.random.default_rng(seed)
    scene = Scene(first, rng, spec.width, spec.height, plain=plain)
    video = np.stack([scene.render(t, rng) for t in frame_times(spec.frames)])
    return video[::-1].copy() if label in REVERSED else video


def render_frames(
    label: str, rng: np.random.Generator, times: np.ndarray, width: int, height: int
) -> np.ndarray:
    """Only the frames at ``times`` (in [0, 1]) of a fresh scene: the in-memory mode."""
    scene = Scene(label, rng, width, height)
    return np.stack([scene.render(float(t), rng) for t in times])


def render_left_then_right(
    seed: int, spec: VideoSpec, *, window: int = 64, travel: float = 0.45
) -> tuple[np.ndarray, int]:
    """A video whose object moves left for its first half, then right: (frames, turn frame).

    The object covers ``travel`` of the frame width per ``window`` frames, the
    middle of the training distribution for a clip of ``window`` frames, so a
    stream classifying every ``window`` consecutive frames sees the motions at
    the speed it learned. Frames ``[0, turn]`` move left, ``(turn, end]`` right.
    """
    rng = np.random.default_rng(seed)
    scene = Scene("moving_left", rng, spec.width, spec.height, plain=True)
    turn = (spec.frames - 1) // 2
    span = travel * turn / window  # distance covered in each half, in frame widths
    if span > 0.8:
        raise ValueError(
            f"{spec.frames} frames at {travel} widths per {window} frames do not fit "
            "in the frame; use fewer frames or a smaller travel"
        )
    start = 0.5 + span / 2
    last = max(spec.frames - 1, 1)
    y = scene.main.y0

    def path(t: float) -> tuple[float, float]:
        i = t * last  # frame index
        return (start - span * i / turn if i <= turn else start - span + span * (i - turn) / turn), y

    scene.main.path = path
    scene.main.radius1 = scene.main.radius0
    video = np.stack([scene.render(t, rng) for t in frame_times(spec.frames)])
    return video, turn
