"""Eleven motion classes rendered by a second, independent renderer: a generalisation check.

A model trained on the project's own synthetic videos (``vmf.train.synth``) may
learn that generator's look (its shapes, backgrounds, sizes, timing, codec)
rather than the motions. This script renders the same eleven classes from their
plain-language descriptions only, written without reading that generator, so
that accuracy on its output says whether the model learned "moving left", not
"moving left as drawn by synth.py":

    python scripts/render_other_motions.py --out runs/data/other --per-class 20 --seed 1

writes ``OUT/<class>/<class>_<k>.<ext>`` for k = 0..N-1, ``OUT/classes.txt`` (the
class names in the project's order, one a line) and a hidden
``OUT/.other_motions.jsonl`` with each video's drawn parameters (a dataset scan
skips hidden files). The classes:

* moving_left / _right / _up / _down: the object crosses 30-80 % of the frame's
  width or height, upright (a small fixed tilt), with a little sideways drift;
* rotating_clockwise / _anticlockwise (as seen on screen): 120-400 degrees in
  total about the object's own centre, which stays put;
* growing / shrinking: scaled up / down in place by a factor of 1.8-3.5;
* appearing / disappearing: absent, then visible (or the reverse) and staying so,
  by a pop (one frame) or a quick fade (2-8 frames) between 25 % and 75 % of the
  video;
* no_motion: nothing in the scene moves. In 70 % of the videos one object stands
  still (anywhere, at any of the sizes the other classes use, 8-45 % of the short
  side, tilted or not); in the rest there is no object at all, only the scene.
  The camera effects below are the same as in every other class.

Continuous motions start in the first 15 % of the video and end in the last
15 % (linear, eased or accelerating), so the whole video shows the motion.
Every class is rendered forward from its own description (no time reversal).

How it looks different on purpose: objects are thick-stroked letters and digits
(``cv2.putText``, asymmetric ones so a rotation shows), emoji-like faces, rectangles
with an off-centre stripe, hearts, L-shapes and little houses, with shading, an
outline and sometimes a soft drop shadow, in a colour chosen to contrast with the
background along the object's path, 10-30 % of the short side (growing and
shrinking objects span about 8-45 %). Backgrounds are photo-like and textured: a
domain-warped sum of sinusoids (Perlin-ish), a room (wall, floor, "furniture"
rectangles, a window, a picture), sky over hills and ground, blurred bokeh blobs,
or a brick wall. The camera adds a slight shake (moving background and object
together), a vignette, a light flicker and sensor noise. Frame sizes are
640x360, 480x480, 320x240, 360x640 (portrait), 427x240 (odd width) and 352x288;
50-150 frames at 12-30 fps; about two thirds are .mp4 with the default codec
(H.264), the rest .avi with MJPG. Each video has its own generator,
``np.random.default_rng([seed, SALT, class, k])``, so a video does not depend on
``--per-class`` and nothing is shared with other generators. The backgrounds
and objects are drawn by ``other_motions_parts.py`` beside this script.

``--small`` (or ``--max-size``/``--max-frames``) shrinks frames and lengths, for tests;
``--classes`` renders only some classes (each video is the same as in a full run), e.g.
the first ten for a model trained before ``no_motion`` existed.

``render_video(..., main_object=False)`` renders the same video without its object
(and the object's shadow), pixel for pixel the same otherwise, and ``camera=False``
without shake, vignette, flicker and noise; both draw the same random numbers, so the
object's pose is unchanged. The tests track the object from the difference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from vmf.train.video_io import write_video

if str(Path(__file__).resolve().parent) not in sys.path:  # its helper beside it, however it is loaded
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from other_motions_parts import (  # noqa: E402
    BACKGROUND_FUNCS,
    Sprite,
    luma,
    make_sprite,
    pick_colour,
    second_colour,
)

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
SALT = 0x07E5_0A11  # keeps these generators apart from any other seeded with the same seed
FRAME_SIZES = ((640, 360), (480, 480), (320, 240), (360, 640), (427, 240), (352, 288))  # (w, h)
FPS_CHOICES = (12, 15, 20, 24, 25, 30)
MIN_FRAMES, MAX_FRAMES = 50, 150
SHAPES = ("glyph", "face", "striped_rect", "heart", "l_shape", "house")
BACKGROUNDS = ("sinusoids", "room", "outdoor", "bokeh", "bricks")
BACKGROUND_WEIGHTS = (0.3, 0.25, 0.25, 0.1, 0.1)
AVI_SHARE = 0.35  # .avi with MJPG; the rest .mp4 with the default codec
NO_OBJECT_SHARE = 0.3  # no_motion videos with no object at all


# --------------------------------------------------------------------------- timing


def _progress(rng, n: int):
    """Per-frame progress 0..1 of a motion that starts early and ends late in the video."""
    start = rng.uniform(0.0, 0.15) * (n - 1)
    end = rng.uniform(0.85, 1.0) * (n - 1)
    profile = ("linear", "smooth", "accelerate", "decelerate")[int(rng.integers(4))]
    u = np.clip((np.arange(n) - start) / max(end - start, 1.0), 0, 1)
    if profile == "smooth":
        u = u * u * (3 - 2 * u)
    elif profile == "accelerate":
        u = u**1.6
    elif profile == "decelerate":
        u = 1 - (1 - u) ** 1.6
    return u, {"start": round(start / (n - 1), 3), "end": round(end / (n - 1), 3), "profile": profile}


def _switch(rng, n: int, on: bool):
    """Per-frame opacity that changes 0 -> 1 (on) or 1 -> 0 between 25 % and 75 % of the video."""
    event = rng.uniform(0.25, 0.75) * (n - 1)
    fade = 0 if rng.random() < 0.4 else int(rng.integers(2, 9))
    fade = min(fade, max(0, n // 6))
    i = np.arange(n, dtype=np.float64)
    if fade == 0:
        level = (i >= round(event)).astype(np.float64)
    else:
        level = np.clip((i - event) / fade + 0.5, 0, 1)
    return (level if on else 1 - level), {"event": round(event / (n - 1), 3), "fade_frames": fade}


# --------------------------------------------------------------------------- one video


def render_video(
    cls: str,
    seed: int,
    k: int,
    max_size: int | None,
    max_frames: int | None,
    *,
    main_object: bool = True,
    camera: bool = True,
):
    """(frames BGR uint8 (N, H, W, 3), fps, suffix, codec, params) of video k of ``cls``.

    ``main_object=False`` leaves the object (and its shadow) out and ``camera=False`` the
    shake, vignette, flicker and noise; everything else, the random draws included, stays
    the same, so the difference from the full video is the object alone (for tests).
    """
    rng = np.random.default_rng([seed, SALT, CLASSES.index(cls), k])
    w, h = FRAME_SIZES[int(rng.integers(len(FRAME_SIZES)))]
    fps = float(FPS_CHOICES[int(rng.integers(len(FPS_CHOICES)))])
    n = int(rng.integers(MIN_FRAMES, MAX_FRAMES + 1))
    avi = rng.random() < AVI_SHARE
    if max_size is not None and max(w, h) > max_size:
        f = max_size / max(w, h)
        w, h = max(16, round(w * f)), max(16, round(h * f))
    if max_frames is not None and max_frames < MAX_FRAMES:
        n = max(8, min(n, round(n * max_frames / MAX_FRAMES)))
    short = min(w, h)
    shake = 0 if rng.random() < 0.4 else max(1, round(short / 150))
    canvas_h, canvas_w = h + 2 * shake, w + 2 * shake
    background = BACKGROUNDS[int(rng.choice(len(BACKGROUNDS), p=BACKGROUND_WEIGHTS))]
    bg = BACKGROUND_FUNCS[background](rng, canvas_h, canvas_w)
    bg = np.clip(bg, 0, 255).astype(np.float32)

    # Pose over time: centre (in frame coordinates), size (longest extent, px), angle, opacity.
    ones = np.ones(n)
    tilt = rng.uniform(-15, 15) if rng.random() < 0.6 else 0.0
    angle, opacity = tilt * ones, ones.copy()
    params: dict = {}
    if cls.startswith("moving_"):
        horizontal = cls in ("moving_left", "moving_right")
        along, across = (w, h) if horizontal else (h, w)
        travel = rng.uniform(0.3, 0.8) * along
        size = rng.uniform(0.12, 0.3) * short
        size = max(min(size, along - travel - 0.04 * along, 0.85 * across), 0.08 * short)
        lo = size / 2 + 0.02 * along
        start = rng.uniform(lo, along - lo - travel) if along - 2 * lo > travel else lo
        u, params = _progress(rng, n)
        sign = -1 if cls in ("moving_left", "moving_up") else 1
        first = start if sign > 0 else along - start
        pos_along = first + sign * travel * u
        c_across = rng.uniform(size / 2 + 0.03 * across, across - size / 2 - 0.03 * across)
        drift = rng.uniform(-0.05, 0.05) * travel
        pos_across = np.clip(c_across + drift * u, size / 2, across - size / 2)
        cx, cy = (pos_along, pos_across) if horizontal else (pos_across, pos_along)
        sizes = size * ones
        params.update(travel_fraction=round(travel / along, 3))
    else:
        if cls in ("growing", "shrinking"):
            factor = rng.uniform(1.8, 3.5)
            big = rng.uniform(max(0.08 * factor, 0.22), 0.45) * short
            small = big / factor
            u, params = _progress(rng, n)
            a, b = (small, big) if cls == "growing" else (big, small)
            sizes = a * (b / a) ** u if rng.random() < 0.5 else a + (b - a) * u
            reach = big / 2
            params.update(factor=round(factor, 2))
        elif cls == "no_motion":  # any size a moving, turning or scaling object has, standing still
            sizes = math.exp(rng.uniform(math.log(0.08), math.log(0.45))) * short * ones
            reach = sizes[0] / 2
            present = rng.random() >= NO_OBJECT_SHARE
            opacity = opacity * present
            params = {"main_object": bool(present)}
        else:
            sizes = rng.uniform(0.12, 0.3) * short * ones
            reach = sizes[0] / 2 * (1.1 if cls.startswith("rotating_") else 1.0)
        cx = rng.uniform(reach + 0.02 * w, max(reach + 0.02 * w, w - reach - 0.02 * w)) * ones
        cy = rng.uniform(reach + 0.02 * h, max(reach + 0.02 * h, h - reach - 0.02 * h)) * ones
        if cls.startswith("rotating_"):
            total = rng.uniform(120, 400)
            u, params = _progress(rng, n)
            angle = tilt + (1 if cls == "rotating_clockwise" else -1) * total * u
            params.update(degrees=round(total, 1))
        elif cls in ("appearing", "disappearing"):
            opacity, params = _switch(rng, n, on=cls == "appearing")

    # The object, coloured against the background it passes over.
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    patches = []
    for i in np.linspace(0, n - 1, 4).astype(int):
        r = max(2, int(sizes[i] / 2))
        x, y = int(cx[i]) + shake, int(cy[i]) + shake
        patch = bg[max(0, y - r) : y + r, max(0, x - r) : x + r]
        if patch.size:
            patches.append(patch.reshape(-1, 3).mean(0))
    primary, contrast = pick_colour(rng, patches or [bg.reshape(-1, 3).mean(0)])
    bg_luma = float(np.mean([luma(p) for p in patches])) if patches else 128.0
    outline = None
    if rng.random() < 0.7 or contrast < 80:  # an outline wherever the fill alone is weak
        outline = np.float32([20, 20, 25]) if bg_luma > 100 else np.float32([245, 245, 245])
    d = int(math.ceil(max(float(sizes.max()), 48.0)))
    col, alpha = make_sprite(
        rng,
        shape,
        d,
        primary,
        second_colour(rng, primary),
        outline,
        rng.uniform(0.0, 0.35) if rng.random() < 0.7 else 0.0,
    )
    sprite = Sprite(col, alpha, d)
    shadow_on = rng.random() < 0.5
    sh_dir = rng.uniform(0.2, 1.3)  # down-right-ish light
    sh_len, sh_strength = rng.uniform(0.04, 0.1), rng.uniform(0.25, 0.5)

    # Camera: shake (a random walk of whole-pixel offsets), vignette, flicker, sensor noise.
    offsets = np.zeros((n, 2), int)
    if shake:
        walk = np.cumsum(rng.integers(-1, 2, (n, 2)), 0)
        offsets = np.clip(walk, -shake, shake)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vig_amount = rng.uniform(0.0, 0.35) if rng.random() < 0.6 else 0.0
    vignette = 1 - vig_amount * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    if not camera:
        vignette = np.ones_like(vignette)
    flicker = (
        1
        + rng.uniform(0, 0.03)
        * np.sin(2 * np.pi * rng.uniform(0.5, 3) * np.arange(n) / fps + rng.uniform(0, 6.3))
        + rng.normal(0, 0.004, n)
    )
    noise = rng.uniform(0.5, 5.0)
    grain = rng.standard_normal((min(n, 8), h, w, 3), dtype=np.float32) * np.float32(noise)  # reused

    frames = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        canvas = bg.copy()
        size = float(sizes[i])
        shadow = None
        if shadow_on:
            shadow = (
                sh_len * size * math.cos(sh_dir),
                sh_len * size * math.sin(sh_dir),
                max(0.5, 0.05 * size),
                sh_strength,
            )
        if main_object:
            sprite.composite(
                canvas,
                float(cx[i]) + shake,
                float(cy[i]) + shake,
                size,
                float(angle[i]),
                float(opacity[i]),
                shadow,
            )
        ox, oy = offsets[i] + shake if camera else (shake, shake)
        frame = canvas[oy : oy + h, ox : ox + w]
        frame = frame * (vignette * np.float32(flicker[i] if camera else 1.0))[..., None]
        noise_frame = grain[int(rng.integers(len(grain)))]  # drawn either way: same stream
        if camera:
            frame += noise_frame
        np.clip(frame, 0, 255, out=frame)
        frames[i] = frame.astype(np.uint8)

    suffix, codec = (".avi", "mjpeg") if avi else (".mp4", None)
    params.update(
        cls=cls,
        k=k,
        width=w,
        height=h,
        frames=n,
        fps=fps,
        container=suffix[1:],
        codec=codec or "default",
        shape=shape,
        background=background,
        size_fraction=[round(float(sizes.min()) / short, 3), round(float(sizes.max()) / short, 3)]
        if opacity.max() > 0
        else None,
        shake_px=shake,
        shadow=shadow_on,
        outline=outline is not None,
    )
    return frames, fps, suffix, codec, params


# --------------------------------------------------------------------------- CLI


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2
        sys.stderr.write(f"render_other_motions: error: {message}\n")
        raise SystemExit(2)


def _parse(argv):
    parser = _Parser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument("--per-class", required=True, type=int, help="videos per class")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--max-size", type=int, default=None, help="scale frames down so the longer side is at most this (px)"
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help="scale lengths down so no video has more frames than this",
    )
    parser.add_argument(
        "--small", action="store_true", help="tiny videos for tests: --max-size 96 --max-frames 20"
    )
    parser.add_argument(
        "--classes",
        default=None,
        help="comma-separated classes to render (default all eleven; a video does not depend on it)",
    )
    args = parser.parse_args(argv)
    if args.small:
        args.max_size = min(args.max_size or 96, 96)
        args.max_frames = min(args.max_frames or 20, 20)
    if args.per_class < 1:
        parser.error(f"--per-class must be at least 1, not {args.per_class}")
    if args.seed < 0:
        parser.error(f"--seed must be non-negative, not {args.seed}")
    if args.max_size is not None and args.max_size < 32:
        parser.error(f"--max-size must be at least 32, not {args.max_size}")
    if args.max_frames is not None and args.max_frames < 8:
        parser.error(f"--max-frames must be at least 8, not {args.max_frames}")
    if args.classes is None:
        args.classes = list(CLASSES)
    else:
        wanted = [c.strip() for c in args.classes.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in CLASSES]
        if unknown or not wanted:
            parser.error(
                f"--classes: unknown class {unknown[0]!r} (known: {', '.join(CLASSES)})"
                if unknown
                else "--classes names no class"
            )
        args.classes = [c for c in CLASSES if c in wanted]  # the project's order
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    return args


def main(argv=None) -> int:
    args = _parse(argv)
    started = time.monotonic()
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "classes.txt").write_text("".join(f"{c}\n" for c in args.classes))
        counts: dict[str, int] = {}
        frames_total = 0
        with open(args.out / ".other_motions.jsonl", "w") as log:
            for cls in args.classes:
                (args.out / cls).mkdir(exist_ok=True)
                for k in range(args.per_class):
                    frames, fps, suffix, codec, params = render_video(
                        cls, args.seed, k, args.max_size, args.max_frames
                    )
                    path = args.out / cls / f"{cls}_{k}{suffix}"
                    write_video(path, frames, fps, codec=codec)
                    log.write(json.dumps({"path": f"{cls}/{path.name}", **params}) + "\n")
                    counts[suffix] = counts.get(suffix, 0) + 1
                    frames_total += len(frames)
    except Exception as exc:  # noqa: BLE001 -- one line for the user, not a traceback
        text = str(exc).strip().splitlines()
        print(f"render_other_motions: error: {text[0] if text else type(exc).__name__}", file=sys.stderr)
        return 1
    total = sum(counts.values())
    kinds = ", ".join(f"{v} {s[1:]}" for s, v in sorted(counts.items()))
    print(
        f"rendered {total} videos ({args.per_class} per class x {len(args.classes)} classes, seed "
        f"{args.seed}; {kinds}; {frames_total} frames) to {args.out} in "
        f"{time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
