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
``--per-class`` and nothing is shared with other generators.

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

import cv2
import numpy as np

from vmf.train.video_io import write_video

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
GLYPHS = "FRPLGKEJ7245QbdhkY"  # no rotational or mirror symmetry worth mentioning
BACKGROUNDS = ("sinusoids", "room", "outdoor", "bokeh", "bricks")
BACKGROUND_WEIGHTS = (0.3, 0.25, 0.25, 0.1, 0.1)
AVI_SHARE = 0.35  # .avi with MJPG; the rest .mp4 with the default codec
NO_OBJECT_SHARE = 0.3  # no_motion videos with no object at all


# --------------------------------------------------------------------------- backgrounds


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in units of the short side."""
    s = float(min(h, w))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return xx / s, yy / s


def _sinusoid_field(rng, h: int, w: int, waves: int, fmin: float, fmax: float) -> np.ndarray:
    """A smooth random field in [0, 1]: domain-warped sum of plane waves, amplitudes ~ 1/f."""
    x, y = _grid(h, w)
    warp = 0.08 * rng.uniform(0.3, 1.0)
    xw = x + warp * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * y + rng.uniform(0, 6.3))
    yw = y + warp * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * x + rng.uniform(0, 6.3))
    field = np.zeros((h, w), np.float32)
    for _ in range(waves):
        f = math.exp(rng.uniform(math.log(fmin), math.log(fmax)))
        theta = rng.uniform(0, np.pi)
        field += f**-0.8 * np.sin(
            2 * np.pi * f * (xw * math.cos(theta) + yw * math.sin(theta)) + rng.uniform(0, 2 * np.pi)
        ).astype(np.float32)
    field -= field.min()
    return field / max(float(field.max()), 1e-6)


def _random_colour(rng, sat=(0.0, 1.0), val=(0.0, 1.0)) -> np.ndarray:
    hsv = np.uint8([[[rng.integers(0, 180), 255 * rng.uniform(*sat), 255 * rng.uniform(*val)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _vertical_gradient(h: int, w: int, top, bottom) -> np.ndarray:
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to((1 - t) * np.float32(top) + t * np.float32(bottom), (h, w, 3)).copy()


def _grain(rng, img: np.ndarray, sigma: float) -> np.ndarray:
    return img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sigma)


def bg_sinusoids(rng, h: int, w: int) -> np.ndarray:
    field = _sinusoid_field(rng, h, w, int(rng.integers(6, 13)), 0.5, 12.0)
    palette = np.stack([_random_colour(rng, (0.1, 0.8), (0.2, 0.95)) for _ in range(3)])
    stops = np.array([0.0, rng.uniform(0.35, 0.65), 1.0])
    img = np.stack([np.interp(field, stops, palette[:, c]) for c in range(3)], -1).astype(np.float32)
    shade = _sinusoid_field(rng, h, w, 4, 0.3, 2.0)
    img *= (0.75 + 0.4 * shade)[..., None]
    return _grain(rng, img, rng.uniform(2, 7))


def bg_room(rng, h: int, w: int) -> np.ndarray:
    wall = _random_colour(rng, (0.05, 0.35), (0.45, 0.9))
    img = _vertical_gradient(h, w, wall * 1.1, wall * 0.8)
    img *= (0.93 + 0.1 * _sinusoid_field(rng, h, w, 5, 2.0, 20.0))[..., None]  # plaster
    horizon = int(h * rng.uniform(0.55, 0.8))
    floor = _random_colour(rng, (0.2, 0.6), (0.25, 0.6))
    img[horizon:] = _vertical_gradient(h - horizon, w, floor * 0.8, floor * 1.1)
    plank = max(3, int(h * rng.uniform(0.03, 0.06)))
    for y in range(horizon + plank, h, plank):
        img[y : y + 1] *= 0.8
    if rng.random() < 0.7:  # window
        ww, wh = int(w * rng.uniform(0.15, 0.3)), int(h * rng.uniform(0.2, 0.35))
        x0, y0 = int(rng.uniform(0, w - ww)), int(rng.uniform(0.05, 0.2) * h)
        sky = _random_colour(rng, (0.2, 0.5), (0.85, 1.0))
        cv2.rectangle(img, (x0, y0), (x0 + ww, y0 + wh), (sky * 0.95).tolist(), -1)
        bar = max(1, ww // 25)
        cv2.rectangle(img, (x0, y0), (x0 + ww, y0 + wh), (0.6 * wall).tolist(), 2 * bar)
        cv2.line(img, (x0 + ww // 2, y0), (x0 + ww // 2, y0 + wh), (0.6 * wall).tolist(), bar)
        cv2.line(img, (x0, y0 + wh // 2), (x0 + ww, y0 + wh // 2), (0.6 * wall).tolist(), bar)
    if rng.random() < 0.6:  # picture on the wall
        pw, ph = int(w * rng.uniform(0.08, 0.18)), int(h * rng.uniform(0.1, 0.2))
        x0, y0 = int(rng.uniform(0, w - pw)), int(rng.uniform(0.08, 0.3) * h)
        inner = bg_sinusoids(rng, ph, pw)
        img[y0 : y0 + ph, x0 : x0 + pw] = inner
        cv2.rectangle(img, (x0, y0), (x0 + pw, y0 + ph), (40, 50, 70), max(1, pw // 15))
    for _ in range(int(rng.integers(2, 7))):  # furniture standing on the floor
        fw, fh = int(w * rng.uniform(0.1, 0.35)), int(h * rng.uniform(0.15, 0.45))
        x0 = int(rng.uniform(-0.1 * w, w - 0.5 * fw))
        y1 = horizon + int(rng.uniform(0, 0.1) * h)
        colour = _random_colour(rng, (0.1, 0.6), (0.15, 0.7))
        cv2.rectangle(img, (x0, y1 - fh), (x0 + fw, y1), colour.tolist(), -1)
        cv2.rectangle(
            img, (x0, y1 - fh), (x0 + fw, y1 - fh + max(1, fh // 12)), (colour * 1.25).tolist(), -1
        )  # lit top
        cv2.rectangle(img, (x0, y1 - fh), (x0 + fw, y1), (colour * 0.6).tolist(), max(1, fw // 40))
        if rng.random() < 0.5:  # drawers
            for k in range(1, int(rng.integers(2, 4))):
                yk = y1 - fh + k * fh // 3
                cv2.line(img, (x0, yk), (x0 + fw, yk), (colour * 0.7).tolist(), max(1, fh // 50))
    img = cv2.GaussianBlur(img, (0, 0), 0.8)
    return _grain(rng, img, rng.uniform(2, 6))


def bg_outdoor(rng, h: int, w: int) -> np.ndarray:
    horizon = int(h * rng.uniform(0.4, 0.7))
    zenith = np.float32([rng.uniform(120, 200), rng.uniform(60, 120), rng.uniform(10, 60)])
    haze = np.float32([rng.uniform(200, 250), rng.uniform(180, 230), rng.uniform(150, 220)])
    img = _vertical_gradient(h, w, zenith, haze)
    clouds = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(2, 9))):
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, horizon * 0.8)))
        axes = (int(w * rng.uniform(0.05, 0.2)), int(h * rng.uniform(0.02, 0.07)))
        cv2.ellipse(clouds, centre, axes, 0, 0, 360, float(rng.uniform(0.5, 1.0)), -1)
    clouds = cv2.GaussianBlur(clouds, (0, 0), max(1.0, min(h, w) / 40))
    img += clouds[..., None] * (np.float32([245, 245, 245]) - img)
    x = np.arange(w, dtype=np.float32) / min(h, w)
    ridge = horizon - h * (
        0.05
        + 0.08 * np.abs(np.sin(2 * np.pi * rng.uniform(0.3, 1.2) * x + rng.uniform(0, 6.3)))
        + 0.03 * np.sin(2 * np.pi * rng.uniform(2, 5) * x)
    )
    hills = np.int32(np.concatenate([np.stack([np.arange(w), ridge], 1), [[w - 1, h], [0, h]]]))
    cv2.fillPoly(img, [hills], _random_colour(rng, (0.2, 0.5), (0.35, 0.6)).tolist(), cv2.LINE_AA)
    ground = _random_colour(rng, (0.3, 0.8), (0.3, 0.7))
    img[horizon:] = _vertical_gradient(h - horizon, w, ground * 0.85, ground * 1.15)
    texture = _sinusoid_field(rng, h - horizon, w, 8, 3.0, 30.0)
    img[horizon:] *= (0.8 + 0.35 * texture)[..., None]
    for _ in range(int(rng.integers(0, 4))):  # posts / tree trunks, dark and thin
        px, pw = int(rng.uniform(0, w)), max(1, int(w * rng.uniform(0.005, 0.015)))
        top = int(horizon - h * rng.uniform(0.05, 0.25))
        cv2.rectangle(img, (px, top), (px + pw, horizon + int(0.05 * h)), (30, 40, 45), -1)
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    return _grain(rng, img, rng.uniform(2, 6))


def bg_bokeh(rng, h: int, w: int) -> np.ndarray:
    img = _vertical_gradient(
        h, w, _random_colour(rng, (0.2, 0.7), (0.2, 0.7)), _random_colour(rng, (0.2, 0.7), (0.2, 0.7))
    )
    for _ in range(int(rng.integers(20, 60))):
        layer = img.copy()
        r = int(min(h, w) * rng.uniform(0.03, 0.15))
        cv2.circle(
            layer,
            (int(rng.uniform(0, w)), int(rng.uniform(0, h))),
            r,
            _random_colour(rng, (0.2, 0.9), (0.4, 1.0)).tolist(),
            -1,
            cv2.LINE_AA,
        )
        img = cv2.addWeighted(img, 1 - (a := rng.uniform(0.15, 0.45)), layer, a, 0)
    img = cv2.GaussianBlur(img, (0, 0), max(1.0, min(h, w) / 45))
    return _grain(rng, img, rng.uniform(2, 6))


def bg_bricks(rng, h: int, w: int) -> np.ndarray:
    mortar = _random_colour(rng, (0.0, 0.2), (0.55, 0.85))
    base = _random_colour(rng, (0.3, 0.7), (0.35, 0.7))
    img = np.empty((h, w, 3), np.float32)
    img[:] = mortar
    bh = max(4, int(min(h, w) * rng.uniform(0.05, 0.1)))
    bw = int(bh * rng.uniform(2.0, 3.0))
    gap = max(1, bh // 8)
    for row, y in enumerate(range(0, h, bh)):
        offset = (bw // 2) * (row % 2)
        for x in range(-offset, w, bw):
            colour = base * rng.uniform(0.75, 1.2) + rng.normal(0, 6, 3)
            cv2.rectangle(img, (x + gap, y + gap), (x + bw - gap, y + bh - gap), colour.tolist(), -1)
    img *= (0.75 + 0.4 * _sinusoid_field(rng, h, w, 4, 0.3, 1.5))[..., None]  # uneven light
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    return _grain(rng, img, rng.uniform(3, 7))


BACKGROUND_FUNCS = {
    "sinusoids": bg_sinusoids,
    "room": bg_room,
    "outdoor": bg_outdoor,
    "bokeh": bg_bokeh,
    "bricks": bg_bricks,
}


# --------------------------------------------------------------------------- objects


def _luma(bgr) -> float:
    b, g, r = (float(v) for v in bgr)
    return 0.114 * b + 0.587 * g + 0.299 * r


def _lab(bgr) -> np.ndarray:
    pixel = np.float32(bgr).reshape(1, 1, 3) / 255
    return cv2.cvtColor(np.clip(pixel, 0, 1), cv2.COLOR_BGR2LAB)[0, 0]


def _pick_colour(rng, patches: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """The most contrasting (CIELAB distance, lightness counted double) of 16 saturated random
    colours against the background patches, and that distance."""
    labs = [_lab(p) for p in patches]
    best, best_score = None, -1.0
    for _ in range(16):
        c = _random_colour(rng, (0.55, 1.0), (0.45, 1.0))
        lc = _lab(c)
        score = min(float(np.linalg.norm((lc - lp) * (2, 1, 1))) for lp in labs)
        if score > best_score:
            best, best_score = c, score
    return best, best_score


def _second_colour(rng, primary: np.ndarray) -> np.ndarray:
    """A detail colour (eyes, stripe, door) that stands out on the primary colour."""
    if rng.random() < 0.5:
        return np.float32([25, 25, 30]) if _luma(primary) > 110 else np.float32([240, 240, 240])
    hsv = cv2.cvtColor(primary[None, None].astype(np.uint8), cv2.COLOR_BGR2HSV)[0, 0].astype(int)
    hsv[0] = (hsv[0] + 90) % 180
    hsv[2] = 255 - hsv[2] // 2 if hsv[2] < 128 else hsv[2] // 2
    return cv2.cvtColor(np.uint8([[hsv]]), cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _glyph_mask(rng, d: int, side: int) -> np.ndarray:
    """A thick letter or digit, scaled to fit a d x d box at the canvas centre."""
    char = GLYPHS[int(rng.integers(len(GLYPHS)))]
    font = (
        cv2.FONT_HERSHEY_SIMPLEX,
        cv2.FONT_HERSHEY_DUPLEX,
        cv2.FONT_HERSHEY_TRIPLEX,
        cv2.FONT_HERSHEY_COMPLEX,
    )[int(rng.integers(4))]
    scale = 4.0
    thickness = int(rng.integers(9, 16))
    (tw, th), base = cv2.getTextSize(char, font, scale, thickness)
    tmp = np.zeros((th + base + 4 * thickness, tw + 4 * thickness), np.uint8)
    cv2.putText(tmp, char, (2 * thickness, th + 2 * thickness), font, scale, 255, thickness, cv2.LINE_AA)
    ys, xs = np.nonzero(tmp > 127)
    glyph = tmp[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    f = d / max(glyph.shape)
    glyph = cv2.resize(
        glyph,
        (max(1, round(glyph.shape[1] * f)), max(1, round(glyph.shape[0] * f))),
        interpolation=cv2.INTER_AREA,
    )
    mask = np.zeros((side, side), np.uint8)
    y0, x0 = (side - glyph.shape[0]) // 2, (side - glyph.shape[1]) // 2
    mask[y0 : y0 + glyph.shape[0], x0 : x0 + glyph.shape[1]] = glyph
    return mask


def make_sprite(rng, shape: str, d: int, primary, second, outline, shaded: float):
    """(premultiplied BGR float32, alpha float32) of one object on a square canvas.

    ``d`` is the object's longest extent in pixels; the canvas leaves room for an
    outline and for rotation. Details are placed off-centre so that a rotation
    or a mirror image is visible.
    """
    side = int(math.ceil(d * 1.25)) + 8
    c = (side - 1) / 2.0
    mask = np.zeros((side, side), np.uint8)
    col = np.empty((side, side, 3), np.float32)
    col[:] = primary
    px = lambda u, v: (int(round(c + u * d)), int(round(c + v * d)))  # noqa: E731 (box coords)
    t = max(1, int(round(d * 0.06)))  # detail line thickness
    if shape == "glyph":
        mask = _glyph_mask(rng, d, side)
    elif shape == "face":
        cv2.circle(mask, px(0, 0), int(d / 2), 255, -1, cv2.LINE_AA)
        for u in (-0.17, 0.17):
            cv2.ellipse(
                col,
                px(u, -0.12),
                (max(1, int(0.06 * d)), max(1, int(0.1 * d))),
                0,
                0,
                360,
                second.tolist(),
                -1,
                cv2.LINE_AA,
            )
        cv2.ellipse(
            col, px(0, 0.08), (int(0.25 * d), int(0.17 * d)), 0, 15, 165, second.tolist(), t, cv2.LINE_AA
        )
        if rng.random() < 0.5:  # a blushing cheek, on one side only
            cv2.circle(col, px(0.3, 0.12), max(1, int(0.06 * d)), (primary * 0.75).tolist(), -1)
    elif shape == "striped_rect":
        aspect = rng.uniform(0.4, 0.75)
        cv2.rectangle(mask, px(-0.5, -aspect / 2), px(0.5, aspect / 2), 255, -1, cv2.LINE_AA)
        if rng.random() < 0.5:
            a = rng.uniform(0.12, 0.22)
            cv2.rectangle(col, px(a - 0.5, -1), px(a - 0.5 + 0.16, 1), second.tolist(), -1)
        else:
            cv2.rectangle(
                col,
                px(-1, -aspect / 2 + 0.05),
                px(1, -aspect / 2 + 0.05 + aspect * 0.25),
                second.tolist(),
                -1,
            )
    elif shape == "heart":
        s = np.linspace(0, 2 * np.pi, 120)
        hx = 16 * np.sin(s) ** 3
        hy = -(13 * np.cos(s) - 5 * np.cos(2 * s) - 2 * np.cos(3 * s) - np.cos(4 * s))
        hx, hy = hx - (hx.max() + hx.min()) / 2, hy - (hy.max() + hy.min()) / 2
        k = d / max(np.ptp(hx), np.ptp(hy))
        cv2.fillPoly(mask, [np.int32(np.stack([c + k * hx, c + k * hy], 1))], 255, cv2.LINE_AA)
        highlight = np.minimum(primary * 1.4 + 40, 255).tolist()
        cv2.circle(col, px(-0.2, -0.15), max(1, int(0.07 * d)), highlight, -1, cv2.LINE_AA)  # one lobe
    elif shape == "l_shape":
        bar, foot = rng.uniform(0.28, 0.4), rng.uniform(0.6, 0.85)
        poly = np.array([[0, 0], [bar, 0], [bar, 1 - bar], [foot, 1 - bar], [foot, 1], [0, 1]])
        poly = poly - [foot / 2, 0.5]
        cv2.fillPoly(mask, [np.int32(c + d * poly)], 255, cv2.LINE_AA)
    elif shape == "house":
        body = np.array([[-0.4, -0.05], [0.4, -0.05], [0.4, 0.5], [-0.4, 0.5]])
        roof = np.array([[-0.5, -0.02], [0.0, -0.5], [0.5, -0.02]])
        cv2.fillPoly(mask, [np.int32(c + d * body), np.int32(c + d * roof)], 255, cv2.LINE_AA)
        cv2.rectangle(col, px(0.1, 0.15), px(0.28, 0.5), second.tolist(), -1)  # door, right of centre
        cv2.rectangle(col, px(-0.3, 0.08), px(-0.1, 0.25), second.tolist(), -1)  # window
        cv2.fillPoly(col, [np.int32(c + d * roof)], (primary * 0.7).tolist(), cv2.LINE_AA)
    else:
        raise ValueError(shape)
    if shaded > 0:  # light from one side, fixed to the object
        phi = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
        col *= (1 + shaded * ((xx - c) * math.cos(phi) + (yy - c) * math.sin(phi)) / d)[..., None]
    alpha = mask.astype(np.float32) / 255
    if outline is not None:
        width = max(1, int(round(d * 0.035)))
        ring = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1,) * 2))
        ring = ring.astype(np.float32) / 255
        col = col * alpha[..., None] + np.float32(outline) * (1 - alpha[..., None])
        alpha = np.maximum(alpha, ring)
    col = np.clip(col, 0, 255) * alpha[..., None]
    return col, alpha


class Sprite:
    """An object and its pyramid (for clean downscaling), placed per frame by an affine warp."""

    def __init__(self, col: np.ndarray, alpha: np.ndarray, d: int):
        self.d = d
        self.levels = [(col, alpha)]
        while min(self.levels[-1][1].shape) > 16:
            c, a = self.levels[-1]
            self.levels.append((cv2.pyrDown(c), cv2.pyrDown(a)))

    def composite(
        self,
        canvas: np.ndarray,
        cx: float,
        cy: float,
        size: float,
        angle_cw: float,
        opacity: float,
        shadow: tuple | None,
    ) -> None:
        """Draw the object (longest extent ``size`` px, turned ``angle_cw`` degrees clockwise
        on screen) centred at (cx, cy) onto ``canvas`` in place."""
        if opacity <= 0.0 or size < 1.0:
            return
        k = size / self.d
        level = min(len(self.levels) - 1, max(0, int(math.floor(math.log2(1 / k))))) if k < 1 else 0
        col, alpha = self.levels[level]
        k *= 2**level
        side = alpha.shape[0]
        c = (side - 1) / 2.0
        # cv2's positive angle turns anticlockwise on screen (y points down): negate for clockwise.
        m = cv2.getRotationMatrix2D((c, c), -angle_cw, k)
        m[:, 2] += (cx - c, cy - c)
        h, w = canvas.shape[:2]
        reach = side * k * 0.75 + 2
        margin = 0 if shadow is None else abs(shadow[0]) + abs(shadow[1]) + 3 * shadow[2] + 2
        x0, y0 = max(0, int(cx - reach - margin)), max(0, int(cy - reach - margin))
        x1, y1 = min(w, int(cx + reach + margin) + 1), min(h, int(cy + reach + margin) + 1)
        if x1 <= x0 or y1 <= y0:
            return
        m[:, 2] -= (x0, y0)
        roi = canvas[y0:y1, x0:x1]
        size_roi = (x1 - x0, y1 - y0)
        if shadow is not None:
            dx, dy, blur, strength = shadow
            ms = m.copy()
            ms[:, 2] += (dx, dy)
            sh = cv2.warpAffine(alpha, ms, size_roi, flags=cv2.INTER_LINEAR)
            sh = cv2.GaussianBlur(sh, (0, 0), blur)
            roi *= (1 - strength * opacity * sh)[..., None]
        a = cv2.warpAffine(alpha, m, size_roi, flags=cv2.INTER_LINEAR) * opacity
        pm = cv2.warpAffine(col, m, size_roi, flags=cv2.INTER_LINEAR) * opacity
        roi *= (1 - a)[..., None]
        roi += pm


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
    primary, contrast = _pick_colour(rng, patches or [bg.reshape(-1, 3).mean(0)])
    bg_luma = float(np.mean([_luma(p) for p in patches])) if patches else 128.0
    outline = None
    if rng.random() < 0.7 or contrast < 80:  # an outline wherever the fill alone is weak
        outline = np.float32([20, 20, 25]) if bg_luma > 100 else np.float32([245, 245, 245])
    d = int(math.ceil(max(float(sizes.max()), 48.0)))
    col, alpha = make_sprite(
        rng,
        shape,
        d,
        primary,
        _second_colour(rng, primary),
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
