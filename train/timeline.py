"""Untrimmed timelines: one scene passing through a random sequence of motions (``vmf-data timeline``).

A stream never sees a trimmed video. It sees one scene for minutes, in which
an object moves, stops, turns, fades away and comes back, and most windows
of T consecutive frames hold part of one motion, or the end of one and the
start of the next. A timeline is that: the motion dataset's scene
(``vmf.train.synth``: background, object, distractors, occluder, camera,
sensor) whose main object goes through segments of 1-5 s, each one class of
``synth.CLASSES`` (``no_motion`` included), with a state carried across
segments so the video is continuous: an object that disappeared can only
appear next, a move stops at the frame's edge, a size stays within bounds.

Speeds are drawn per ``WINDOW`` frames (the demo model's clip), from the same
ranges as the motion dataset's whole clips, so a window wholly inside a
segment looks like a clip of that class; fades last the whole segment.

Each video comes with its segments (``Segment``: ``start`` inclusive, ``end``
exclusive, in frames), written by ``vmf-data timeline`` as
``<video>.segments.csv`` (docs/training.md, "Untrimmed timelines").
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass

import numpy as np

from . import synth
from .scene_parts import MARKED_SHARE, MIN_RADIUS, ROUND_MARKED_SHARE

WINDOW = 64  # frames over which a motion's speed is drawn (the demo's clip length)
SEGMENT_SECONDS = (1.0, 5.0)
MARGIN = 0.04  # closest an object's edge comes to the frame's edge, in frame fractions
MOVE_PER_WINDOW = (0.15, 0.8)  # fraction of the frame crossed in WINDOW frames
SPIN_PER_WINDOW = (60.0, 540.0)  # degrees turned in WINDOW frames
SCALE_PER_WINDOW = (1.4, 3.0)  # size ratio over WINDOW frames
RADIUS_RANGE = (0.045, 0.33)  # of the short side
START_RADIUS = (MIN_RADIUS, 0.2)  # an object's size when the timeline starts or it reappears
SEGMENTS_SUFFIX = ".segments.csv"

# Timeline videos: sizes (some larger than the motion dataset's) and camera-like frame rates.
TIMELINE_SIZES = ((320, 240), (480, 360), (640, 360), (360, 480), (256, 144), (400, 300), (640, 480))
TIMELINE_FPS = (24.0, 25.0, 30.0, 15.0)


@dataclass(frozen=True)
class Segment:
    start: int  # first frame
    end: int  # one past the last frame
    label: str


class Timeline:
    """One scene and its main object's state in every frame; ``frame(i)`` renders frame ``i``."""

    def __init__(
        self,
        rng: np.random.Generator,
        width: int,
        height: int,
        num_frames: int,
        fps: float,
        *,
        segment_seconds: tuple[float, float] = SEGMENT_SECONDS,
        segment_frames: tuple[int, int] | None = None,
        window: int = WINDOW,
    ):
        if num_frames < 1:
            raise ValueError("a timeline needs at least one frame")
        self.width, self.height, self.num_frames, self.fps = (
            int(width),
            int(height),
            int(num_frames),
            float(fps),
        )
        self.window = int(window)
        # The object's kind and pivot first: the plan needs them (can it turn? how far does it reach?)
        self.kind = synth.SHAPES[rng.integers(len(synth.SHAPES))]
        # a round object turns only with markings (a ball, a face); it carries them more often
        share = ROUND_MARKED_SHARE if self.kind in synth.ROUND_SHAPES else MARKED_SHARE
        self.marked = self.kind != "glyph" and rng.random() < share
        self.can_rotate = self.kind not in synth.ROUND_SHAPES or self.marked
        self.pivot = (
            tuple(rng.uniform(-0.7, 0.7, 2)) if self.can_rotate and rng.random() < 0.4 else (0.0, 0.0)
        )
        n = self.num_frames
        self.x, self.y = np.empty(n), np.empty(n)
        self.radius, self.angle, self.alpha = np.empty(n), np.empty(n), np.empty(n)
        self.segments: list[Segment] = []
        if segment_frames is None:
            segment_frames = tuple(max(1, int(round(sec * self.fps))) for sec in segment_seconds)
        self._plan(rng, segment_frames)
        self.scene: synth.Scene | None = None

    def build_scene(self, rng: np.random.Generator) -> "Timeline":
        """Draw the scene (background, object's look, distractors, camera): needed to render.

        Separate from the plan, so that a caller looking for a window of some class
        can try many plans cheaply and draw a scene for the one it keeps.
        """
        self.scene = synth.Scene("no_motion", rng, self.width, self.height)
        bg_mean = self.scene.background.reshape(-1, 3).mean(0)
        _, self.scene.main = synth.random_sprite(rng, bg_mean, kind=self.kind, marked=self.marked)
        self.scene.main.pivot = self.pivot
        return self

    # ------------------------------------------------------------------ planning

    def _extent(self, radius: float) -> tuple[float, float]:
        """Half-size of the object in frame fractions (x, y), pivot orbit included."""
        reach = radius * (1.0 + float(np.hypot(*self.pivot)))
        short = min(self.width, self.height)
        return reach * short / self.width, reach * short / self.height

    def _plan(self, rng: np.random.Generator, segment_frames: tuple[int, int]) -> None:
        r = rng.uniform(*START_RADIUS)
        ex, ey = self._extent(r)
        state = {
            "x": rng.uniform(min(0.5, ex + MARGIN), max(0.5, 1 - ex - MARGIN)),
            "y": rng.uniform(min(0.5, ey + MARGIN), max(0.5, 1 - ey - MARGIN)),
            "r": r,
            "a": rng.uniform(0, 2 * np.pi),
            "alpha": 1.0 if rng.random() < 0.75 else 0.0,
        }
        start, previous = 0, None
        lo, hi = (max(1, int(f)) for f in segment_frames)
        while start < self.num_frames:
            length = int(rng.integers(lo, hi + 1))
            if self.num_frames - (start + length) < lo:  # no stub of a segment at the end
                length = self.num_frames - start
            label = self._choose(rng, state, length, previous)
            self._apply(rng, state, label, start, start + length)
            self.segments.append(Segment(start, start + length, label))
            start, previous = start + length, label

    def _feasible(self, state: dict, length: int) -> dict[str, object]:
        """Each class that can follow ``state`` for ``length`` frames, with its largest rate."""
        w = self.window
        if state["alpha"] < 1.0:
            return {"no_motion": None, "appearing": None}
        out: dict[str, object] = {"no_motion": None, "disappearing": None}
        ex, ey = self._extent(state["r"])
        rooms = {
            "moving_left": state["x"] - ex - MARGIN,
            "moving_right": 1 - MARGIN - ex - state["x"],
            "moving_up": state["y"] - ey - MARGIN,
            "moving_down": 1 - MARGIN - ey - state["y"],
        }
        for name, room in rooms.items():
            top = room * w / length  # fastest speed that stays in the frame
            if top >= MOVE_PER_WINDOW[0]:
                out[name] = min(top, MOVE_PER_WINDOW[1])
        if self.can_rotate:
            out["rotating_clockwise"] = out["rotating_anticlockwise"] = None
        # the largest radius whose extent still fits around the current centre
        fit = min(state["x"] - MARGIN, 1 - MARGIN - state["x"], state["y"] - MARGIN, 1 - MARGIN - state["y"])
        ex1, ey1 = self._extent(1.0)
        r_max = min(RADIUS_RANGE[1], fit / max(ex1, ey1))
        grow = (r_max / state["r"]) ** (w / length) if r_max > state["r"] else 0.0
        if grow >= SCALE_PER_WINDOW[0]:
            out["growing"] = min(grow, SCALE_PER_WINDOW[1])
        shrink = (state["r"] / RADIUS_RANGE[0]) ** (w / length)
        if shrink >= SCALE_PER_WINDOW[0]:
            out["shrinking"] = min(shrink, SCALE_PER_WINDOW[1])
        return out

    def _choose(self, rng, state, length, previous) -> str:
        options = [c for c in self._feasible(state, length) if c != previous]
        if not options:  # e.g. invisible after no_motion: only appearing remains
            options = list(self._feasible(state, length))
        return options[int(rng.integers(len(options)))]

    def _apply(self, rng, state: dict, label: str, start: int, end: int) -> None:
        n, w = end - start, self.window
        k = np.arange(1, n + 1, dtype=np.float64)  # frames since the segment started, 1..n
        rate = self._feasible(state, n).get(label)
        x = np.full(n, state["x"])
        y = np.full(n, state["y"])
        r = np.full(n, state["r"])
        a = np.full(n, state["a"])
        alpha = np.full(n, state["alpha"])
        if label.startswith("moving_"):
            speed = rng.uniform(MOVE_PER_WINDOW[0], float(rate)) / w  # per frame
            slant = rng.uniform(-0.05, 0.05) / w
            sign = -1.0 if label in ("moving_left", "moving_up") else 1.0
            along, across = (x, y) if label in ("moving_left", "moving_right") else (y, x)
            along += sign * speed * k
            ex, ey = self._extent(state["r"])
            e_across = ey if label in ("moving_left", "moving_right") else ex
            across += slant * k
            np.clip(across, e_across + MARGIN, 1 - e_across - MARGIN, out=across)
        elif label.startswith("rotating_"):
            spin = math.radians(rng.uniform(*SPIN_PER_WINDOW)) / w
            a += (1.0 if label == "rotating_clockwise" else -1.0) * spin * k
        elif label in ("growing", "shrinking"):
            ratio = rng.uniform(SCALE_PER_WINDOW[0], float(rate))
            step = ratio ** (1.0 / w)
            r *= step ** (k if label == "growing" else -k)
        elif label == "appearing":
            # hidden: the object may come back anywhere, at another size
            state["r"] = r[:] = rng.uniform(*START_RADIUS)
            ex, ey = self._extent(state["r"])
            state["x"] = x[:] = rng.uniform(min(0.5, ex + MARGIN), max(0.5, 1 - ex - MARGIN))
            state["y"] = y[:] = rng.uniform(min(0.5, ey + MARGIN), max(0.5, 1 - ey - MARGIN))
            alpha[:] = k / n  # the fade lasts the whole segment
        elif label == "disappearing":
            alpha[:] = 1.0 - k / n
        self.x[start:end], self.y[start:end], self.radius[start:end] = x, y, r
        self.angle[start:end], self.alpha[start:end] = a, alpha
        state.update(x=x[-1], y=y[-1], r=r[-1], a=a[-1], alpha=float(np.round(alpha[-1], 6)))

    # ------------------------------------------------------------------ rendering

    def frame(self, index: int, rng: np.random.Generator) -> np.ndarray:
        """Frame ``index`` (BGR uint8) with its own sensor noise from ``rng``."""
        if self.scene is None:
            raise RuntimeError("call build_scene(rng) before rendering a timeline")
        i = int(index)
        state = (self.x[i], self.y[i], self.radius[i], self.angle[i], self.alpha[i])
        return self.scene.compose(i / self.window, i / max(self.num_frames - 1, 1), state, rng)

    def frames(self, indices, rng: np.random.Generator) -> np.ndarray:
        return np.stack([self.frame(i, rng) for i in indices])


def window_label(segments: list[Segment], indices) -> str:
    """The class of a window: the segment holding most of its frames (the later one on a tie).

    So a stream is expected to switch once half a window shows the new motion.
    """
    counts: dict[int, int] = {}
    for i in np.asarray(indices):
        for k, seg in enumerate(segments):
            if seg.start <= i < seg.end:
                counts[k] = counts.get(k, 0) + 1
                break
    best = max(counts, key=lambda k: (counts[k], k))
    return segments[best].label


def write_segments(path: "str | os.PathLike", segments: list[Segment]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["start_frame", "end_frame", "label"])
        for seg in segments:
            out.writerow([seg.start, seg.end, seg.label])


def segments_path(video: "str | os.PathLike") -> str:
    """``clip.mp4`` -> ``clip.mp4.segments.csv`` (beside the video, whatever its suffix)."""
    return os.fspath(video) + SEGMENTS_SUFFIX


def read_segments(path: "str | os.PathLike") -> list[Segment]:
    """Segments from a ``start_frame,end_frame,label`` file (header optional), checked for order."""
    segments: list[Segment] = []
    with open(path, newline="") as f:
        for row_number, row in enumerate(csv.reader(f), 1):
            if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
                continue
            if row_number == 1 and row[0].strip() == "start_frame":
                continue
            if len(row) != 3:
                raise ValueError(f"{path}:{row_number}: expected start_frame,end_frame,label")
            try:
                start, end = int(row[0]), int(row[1])
            except ValueError:
                raise ValueError(f"{path}:{row_number}: frame numbers must be integers") from None
            if start < 0 or end <= start:
                raise ValueError(f"{path}:{row_number}: a segment needs 0 <= start_frame < end_frame")
            if segments and start < segments[-1].end:
                raise ValueError(f"{path}:{row_number}: segments overlap or are out of order")
            segments.append(Segment(start, end, row[2].strip()))
    if not segments:
        raise ValueError(f"{path}: no segments")
    return segments
