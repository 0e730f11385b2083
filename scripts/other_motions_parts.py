"""The backgrounds and objects of ``render_other_motions.py``, the independent renderer.

Written from the descriptions in that script's docstring, not from the
project's own generator (``vmf.train.synth``, ``vmf.train.timeline``), and
importing neither: photo-like textured backgrounds (sinusoid fields, a room,
the outdoors, bokeh, bricks) and the objects (letters and digits, faces,
striped rectangles, hearts, L-shapes, houses) with their colours, shading,
outline and drop shadow, drawn by an affine warp from a pyramid. Every
function draws from the generator it is given, in a fixed order.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

GLYPHS = "FRPLGKEJ7245QbdhkY"  # no rotational or mirror symmetry worth mentioning


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


def luma(bgr) -> float:
    b, g, r = (float(v) for v in bgr)
    return 0.114 * b + 0.587 * g + 0.299 * r


def _lab(bgr) -> np.ndarray:
    pixel = np.float32(bgr).reshape(1, 1, 3) / 255
    return cv2.cvtColor(np.clip(pixel, 0, 1), cv2.COLOR_BGR2LAB)[0, 0]


def pick_colour(rng, patches: list[np.ndarray]) -> tuple[np.ndarray, float]:
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


def second_colour(rng, primary: np.ndarray) -> np.ndarray:
    """A detail colour (eyes, stripe, door) that stands out on the primary colour."""
    if rng.random() < 0.5:
        return np.float32([25, 25, 30]) if luma(primary) > 110 else np.float32([240, 240, 240])
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
