"""The parts a motion scene (``vmf.train.synth``) is made of, each drawn from a random generator.

Objects: nine shape families plus letters and digits (``shape_outlines``), drawn
solid, two-tone or hollow, sometimes with markings inside (spots and bars, as on
a ball, a wheel, a clock or a face), as a ``Sprite`` whose position, size, angle
and opacity are functions of scene time; the main object (``random_sprite``) and
0-3 small distractors. The world behind and in front of them: a textured
background (flat, gradients, low-frequency noise, stripes, checkers, or a crop
of a real photograph shipped with scikit-image), sometimes a static occluder
over one edge, and a hand-held camera path with or without shake.

Each function draws from the generator it is given, in a fixed order: a scene,
and so a video, is a pure function of its seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

SHAPES = ("disc", "square", "triangle", "star", "cross", "arrow", "ellipse", "ring", "polygon", "glyph")
# Shapes a rotation about their own centre leaves unchanged: they turn only with markings.
ROUND_SHAPES = ("disc", "ring")
MARKED_SHARE = 0.3  # main objects (other than glyphs) with markings inside
ROUND_MARKED_SHARE = 0.6  # the same for a disc or a ring in a timeline, whose turns need them
MIN_RADIUS = 0.05  # the smallest main object: a tenth of the frame's short side across
# Distractors stay clearly smaller than the smallest main object (at most 3/4 of its radius,
# half its area): one as large as the main object and drifting or spinning, in a scene
# labelled no_motion, teaches that a small object's motion is not the class, so a small main
# object that moves or turns reads as no_motion (measured: 17 of 42 windows of objects under
# 0.065 of the short side were wrong, all as no_motion, when distractors reached 0.06).
DISTRACTOR_RADIUS = (0.015, 0.03)
PLAIN_DISTRACTOR_RADIUS = (0.025, 0.06)  # beside a plain scene's objects of at least 0.08

GLYPHS = "AEFGJKLPRTVYZ2345679?&#@%"  # no letter that looks the same turned half round
GLYPH_FONTS = (0, 1, 2, 3, 4, 6, 7)  # cv2.FONT_HERSHEY_* (5 is the script font: too thin here)


# --------------------------------------------------------------------------- shapes


def _glyph_outlines(rng: np.random.Generator) -> list[np.ndarray]:
    """The contours of one letter or digit, unit radius, centred: a shape drawn by someone else."""
    char = GLYPHS[rng.integers(len(GLYPHS))]
    font = GLYPH_FONTS[rng.integers(len(GLYPH_FONTS))]
    thick = int(rng.integers(5, 12))
    (w, h), base = cv2.getTextSize(char, font, 4.0, thick)
    mask = np.zeros((h + base + 2 * thick, w + 2 * thick), np.uint8)
    cv2.putText(mask, char, (thick, h + thick), font, 4.0, 255, thick, cv2.LINE_AA)
    contours, _ = cv2.findContours((mask > 127).astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_TC89_L1)
    polys = [c[:, 0, :].astype(float) for c in contours if len(c) >= 3]
    pts = np.concatenate(polys)
    centre = (pts.max(0) + pts.min(0)) / 2
    scale = np.abs(pts - centre).max()
    return [(p - centre) / scale for p in polys]


def shape_outlines(kind: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Unit-radius outlines (each (N, 2)) of a shape centred on the origin; holes as extra contours."""
    if kind == "glyph":
        return _glyph_outlines(rng)
    return [_shape_outline(kind, rng)]


def _shape_outline(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-radius outline (N, 2) of a shape, centred on the origin, pointing up."""
    if kind in ("disc", "ring"):
        a = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return np.stack([np.cos(a), np.sin(a)], 1)
    if kind == "ellipse":
        a = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return np.stack([np.cos(a), rng.uniform(0.4, 0.7) * np.sin(a)], 1)
    if kind == "square":
        ratio = rng.uniform(0.5, 1.0)
        return np.array([[-1, -ratio], [1, -ratio], [1, ratio], [-1, ratio]], float)
    if kind == "triangle":
        return np.array([[0, -1], [0.8, 0.7], [-0.6, 0.7]], float)  # not equilateral: rotation shows
    if kind == "star":
        n = int(rng.integers(4, 7))
        a = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False) - np.pi / 2
        r = np.where(np.arange(2 * n) % 2 == 0, 1.0, rng.uniform(0.35, 0.55))
        r[0] = 1.25  # one long point, so a rotation is visible at any speed
        return np.stack([r * np.cos(a), r * np.sin(a)], 1)
    if kind == "cross":
        t = rng.uniform(0.2, 0.35)
        return np.array(
            [
                [-t, -1.2],
                [t, -1.2],
                [t, -t],
                [1, -t],
                [1, t],
                [t, t],
                [t, 1],
                [-t, 1],
                [-t, t],
                [-1, t],
                [-1, -t],
                [-t, -t],
            ],
            float,
        )
    if kind == "arrow":
        return np.array(
            [[0, -1], [0.7, -0.2], [0.25, -0.2], [0.25, 1], [-0.25, 1], [-0.25, -0.2], [-0.7, -0.2]], float
        )
    # random star-shaped polygon
    n = int(rng.integers(5, 9))
    a = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(0.5, 1.0, n)
    return np.stack([r * np.cos(a), r * np.sin(a)], 1)


def _random_colour(rng: np.random.Generator, avoid: np.ndarray) -> np.ndarray:
    """A BGR colour whose brightness differs clearly from ``avoid`` (the background's mean)."""
    for _ in range(20):
        c = rng.uniform(0, 255, 3)
        if abs(c.mean() - avoid.mean()) > 55 or np.abs(c - avoid).max() > 110:
            return c
    return 255.0 - avoid


@dataclass
class Sprite:
    outline: "list[np.ndarray] | np.ndarray"  # unit outlines (each (N, 2)); holes as extra contours
    ring: bool  # drawn as an outline (hollow) rather than filled
    colour: np.ndarray
    colour2: np.ndarray | None  # second fill colour (two-tone), or None
    # position (x, y) in frame fractions, radius in fractions of the short side,
    # angle in radians, opacity in [0, 1]: each a function of t
    x0: float
    y0: float
    dx: float
    dy: float
    radius0: float
    radius1: float
    angle0: float
    spin: float
    fade_at: float | None = None  # appearing: opacity 0 -> 1 around this time
    fade_len: float = 0.0
    path: "Callable[[float], tuple[float, float]] | None" = None  # (x, y) of t, overrides dx, dy
    pivot: tuple[float, float] = (0.0, 0.0)  # rotation centre, in unit outline coordinates
    thickness: float = 0.35  # of a hollow shape's line, as a fraction of its radius
    marks: "list[np.ndarray]" = field(default_factory=list)  # unit polygons drawn over the body
    mark_colour: np.ndarray | None = None

    def __post_init__(self):
        if isinstance(self.outline, np.ndarray):
            self.outline = [self.outline]

    def state(self, t: float):
        if self.path is not None:
            x, y = self.path(t)
        else:
            x = self.x0 + self.dx * t
            y = self.y0 + self.dy * t
        radius = self.radius0 * (self.radius1 / self.radius0) ** t  # geometric: constant rate
        angle = self.angle0 + self.spin * t
        if self.fade_at is None:
            alpha = 1.0
        elif self.fade_len <= 0:
            alpha = 1.0 if t >= self.fade_at else 0.0
        else:
            alpha = float(np.clip((t - self.fade_at) / self.fade_len + 0.5, 0.0, 1.0))
        return x, y, radius, angle, alpha

    def draw(self, frame: np.ndarray, t: float, offset: tuple[float, float]) -> None:
        self.draw_state(frame, *self.state(t), offset)

    def draw_state(self, frame, x, y, radius, angle, alpha, offset) -> None:
        """Draw at an explicit state (position, radius, angle, opacity)."""
        if alpha <= 0:
            return
        h, w = frame.shape[:2]
        short = min(h, w)
        # angle grows clockwise on screen (y points down); the shape turns about its pivot
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        pivot = np.asarray(self.pivot, float)
        centre = np.array([x * w + offset[0], y * h + offset[1]])
        polys = [((o - pivot) @ rot.T + pivot) * radius * short + centre for o in self.outline]
        fixed = [np.round(p * 16).astype(np.int32) for p in polys]  # 4 fractional bits: sub-pixel motion
        target = frame if alpha >= 1 else frame.copy()
        if self.ring:
            thick = max(1, int(radius * short * self.thickness))
            cv2.polylines(target, fixed, True, self.colour.tolist(), thick, cv2.LINE_AA, 4)
        else:
            cv2.fillPoly(target, fixed, self.colour.tolist(), cv2.LINE_AA, 4)
            if self.colour2 is not None:  # the front half in a second colour: orientation shows
                pts = polys[0]
                half = np.round((pts[: max(2, len(pts) // 2)] * 0.5 + pts.mean(0) * 0.5) * 16)
                cv2.fillPoly(target, [half.astype(np.int32)], self.colour2.tolist(), cv2.LINE_AA, 4)
        if self.marks:  # they turn with the body: a round object's rotation shows only here
            marks = [
                np.round((((m - pivot) @ rot.T + pivot) * radius * short + centre) * 16) for m in self.marks
            ]
            cv2.fillPoly(
                target, [m.astype(np.int32) for m in marks], self.mark_colour.tolist(), cv2.LINE_AA, 4
            )
        if alpha < 1:
            cv2.addWeighted(target, alpha, frame, 1 - alpha, 0, dst=frame)


def random_markings(rng: np.random.Generator) -> list[np.ndarray]:
    """1-3 unit polygons, each off the centre: spots and bars (inside a disc or a ring; on a
    thin shape such as a cross they may overhang its outline, like a decal)."""
    marks = []
    for _ in range(int(rng.integers(1, 4))):
        a = rng.uniform(0, 2 * np.pi)
        if rng.random() < 0.6:  # a spot, like an eye or a hubcap's bolt
            d, r = rng.uniform(0.3, 0.6), rng.uniform(0.12, 0.28)
            k = np.linspace(0, 2 * np.pi, 16, endpoint=False)
            marks.append(np.stack([d * math.cos(a) + r * np.cos(k), d * math.sin(a) + r * np.sin(k)], 1))
        else:  # a bar from near the centre outwards, like a clock hand or a spoke
            length, half = rng.uniform(0.5, 0.8), rng.uniform(0.06, 0.14)
            along, across = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
            start = rng.uniform(-0.2, 0.1)
            marks.append(
                np.array(
                    [
                        start * along - half * across,
                        length * along - half * across,
                        length * along + half * across,
                        start * along + half * across,
                    ]
                )
            )
    return marks


def random_sprite(
    rng: np.random.Generator,
    bg_mean: np.ndarray,
    *,
    rotating: bool = False,
    kind: str | None = None,
    marked: bool | None = None,
) -> tuple[str, Sprite]:
    """The main object: a shape (or glyph), its colours, fill, markings, pivot; motion left at rest.

    ``marked`` None draws whether it has markings; a rotating round shape always has them
    (a plain disc turning is invisible; a ball, a wheel or a face turning is not).
    """
    kind = kind or SHAPES[rng.integers(len(SHAPES))]
    if marked is None:
        marked = kind != "glyph" and (rng.random() < MARKED_SHARE or (rotating and kind in ROUND_SHAPES))
    if rotating and kind in ROUND_SHAPES and not marked:
        kind = "arrow"
    outline = shape_outlines(kind, rng)
    colour = _random_colour(rng, bg_mean)
    hollow = kind == "ring" or (kind != "glyph" and rng.random() < 0.15)
    two_tone = not hollow and kind != "glyph" and rng.random() < 0.3
    colour2 = _random_colour(rng, colour) if two_tone else None
    pivot = (0.0, 0.0)
    if rotating and rng.random() < 0.4:  # turn about an off-centre point (the object orbits it)
        pivot = tuple(rng.uniform(-0.7, 0.7, 2))
    sprite = Sprite(
        outline, hollow, colour, colour2, 0.5, 0.5, 0.0, 0.0, 0.15, 0.15, rng.uniform(0, 2 * np.pi), 0.0
    )
    sprite.pivot = pivot
    sprite.thickness = 0.35 if kind == "ring" else rng.uniform(0.08, 0.3)  # thin or bold outlines
    if marked:
        sprite.marks = random_markings(rng)
        sprite.mark_colour = _random_colour(rng, colour)
    return kind, sprite


def random_distractors(
    rng: np.random.Generator, bg_mean: np.ndarray, radius: tuple[float, float] = DISTRACTOR_RADIUS
) -> list[Sprite]:
    """0-3 small shapes drifting in random directions (motion that is not the class).

    ``radius``: their size range, below the scene's smallest main object.
    """
    out = []
    for _ in range(int(rng.integers(0, 4))):
        d_kind = SHAPES[rng.integers(len(SHAPES) - 1)]  # no glyphs: they are the main object's
        direction = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(0.0, 0.35)
        out.append(
            Sprite(
                _shape_outline(d_kind, rng),
                d_kind == "ring",
                _random_colour(rng, bg_mean),
                None,
                rng.uniform(0.1, 0.9),
                rng.uniform(0.1, 0.9),
                dist * math.cos(direction),
                dist * math.sin(direction),
                rng.uniform(*radius),
                rng.uniform(*radius),
                rng.uniform(0, 2 * np.pi),
                rng.uniform(-2, 2),
            )
        )
    return out


# --------------------------------------------------------------------------- backgrounds


# Photographs that ship inside scikit-image's wheel (no download at run time).
_PHOTO_NAMES = (
    "astronaut", "brick", "camera", "cat", "coffee", "coins", "grass", "gravel",
    "moon", "page", "rocket", "text", "clock", "horse", "immunohistochemistry",
    "hubble_deep_field", "logo", "colorwheel", "chelsea", "retina",
)  # fmt: skip


@lru_cache(maxsize=1)
def photographs() -> tuple[np.ndarray, ...]:
    """Real photographs as BGR uint8 (those this scikit-image has locally; none if it is absent)."""
    try:
        import skimage.data as data
    except ImportError:  # the generator still works, with synthetic backgrounds only
        return ()
    photos = []
    for name in _PHOTO_NAMES:
        loader = getattr(data, name, None)
        if loader is None:
            continue
        try:
            img = np.asarray(loader())
        except Exception:  # noqa: BLE001 - an image that would need a download: skip it
            continue
        if img.dtype == bool:
            img = img.astype(np.uint8) * 255
        if img.dtype != np.uint8:
            img = np.clip(img * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGR)
        else:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        if min(img.shape[:2]) >= 64:
            photos.append(np.ascontiguousarray(img))
    return tuple(photos)


def _photo_patch(rng: np.random.Generator, h: int, w: int) -> np.ndarray | None:
    """A random crop of a random photograph, resized to (h, w), colour-jittered; None if none."""
    photos = photographs()
    if not photos:
        return None
    img = photos[rng.integers(len(photos))]
    ih, iw = img.shape[:2]
    zoom = rng.uniform(0.35, 1.0)  # fraction of the photo's short side the crop spans
    side = max(16, int(min(ih, iw) * zoom))
    ch, cw = (
        (side, max(16, min(iw, int(side * w / h))))
        if w / h <= iw / ih
        else (max(16, min(ih, int(side * h / w))), side)
    )
    ch, cw = min(ch, ih), min(cw, iw)
    y, x = int(rng.integers(0, ih - ch + 1)), int(rng.integers(0, iw - cw + 1))
    patch = cv2.resize(img[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    gain, bias = rng.uniform(0.6, 1.3), rng.uniform(-40, 40)
    return cv2.convertScaleAbs(patch, alpha=gain, beta=bias)


def random_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured background (h, w, 3) BGR uint8: flat, a gradient, clouds, stripes, a checker or a photograph."""
    kind = rng.integers(7)
    base = rng.uniform(0, 255, 3)
    if kind >= 5:  # a real photograph (two chances in seven)
        photo = _photo_patch(rng, h, w)
        if photo is not None:
            return photo
        kind = 0
    if kind == 0:  # flat
        img = np.broadcast_to(base, (h, w, 3)).astype(np.float32)
    elif kind == 1:  # linear gradient
        other = rng.uniform(0, 255, 3)
        a = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        g = np.cos(a) * xx / w + np.sin(a) * yy / h
        g = (g - g.min()) / max(g.max() - g.min(), 1e-6)
        img = base * (1 - g[..., None]) + other * g[..., None]
    elif kind == 2:  # low-frequency noise (clouds)
        cells = int(rng.integers(3, 10))
        small = rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32)
        img = base + rng.uniform(30, 90) * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    elif kind == 3:  # stripes
        period = rng.uniform(6, 30)
        a = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        s = 0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(a) * xx + np.sin(a) * yy) / period)
        img = base + rng.uniform(20, 60) * (s[..., None] - 0.5)
    else:  # checker
        cell = int(rng.integers(6, 24))
        yy, xx = np.mgrid[0:h, 0:w]
        c = ((yy // cell + xx // cell) % 2).astype(np.float32)
        img = base + rng.uniform(15, 50) * (c[..., None] - 0.5)
    img = img + rng.normal(0, rng.uniform(0, 6), (h, w, 3))  # static texture grain
    return np.clip(img, 0, 255).astype(np.uint8)


def random_occluder(rng: np.random.Generator, height: int, width: int, margin: int = 0):
    """One time in five, a static bar over 10-22 % of one edge (a post, a door frame): partial occlusion.

    It reaches ``margin`` pixels past the frame's edges, so camera motion never uncovers its ends.
    """
    if rng.random() >= 0.2:
        return None
    frac = rng.uniform(0.1, 0.22)
    side = int(rng.integers(4))
    m = int(margin)
    if side < 2:  # left or right
        size = max(1, int(width * frac))
        box = (-m, height + m, -m, size) if side == 0 else (-m, height + m, width - size, width + m)
    else:
        size = max(1, int(height * frac))
        box = (-m, size, -m, width + m) if side == 2 else (height - size, height + m, -m, width + m)
    h, w = box[1] - box[0], box[3] - box[2]
    patch = _photo_patch(rng, h, w)
    if patch is None:
        patch = np.broadcast_to(rng.uniform(0, 255, 3).astype(np.uint8), (h, w, 3)).copy()
    return (*box, patch)


def paste_occluder(frame: np.ndarray, occluder, dx: int, dy: int) -> None:
    """Paste an occluder's patch, shifted by (dx, dy) pixels and clipped to the frame."""
    y0, y1, x0, x1, patch = occluder
    h, w = frame.shape[:2]
    ty0, ty1, tx0, tx1 = max(0, y0 + dy), min(h, y1 + dy), max(0, x0 + dx), min(w, x1 + dx)
    if ty0 < ty1 and tx0 < tx1:
        frame[ty0:ty1, tx0:tx1] = patch[ty0 - y0 - dy : ty1 - y0 - dy, tx0 - x0 - dx : tx1 - x0 - dx]


# --------------------------------------------------------------------------- camera


class CameraPath:
    """Hand-held camera: a smooth random path (a few slow sinusoids), sometimes with shake, in pixels.

    Time is in clips (one unit = one clip or one window), so a long video shakes
    at the same rate per second as a short one.
    """

    def __init__(self, rng: np.random.Generator, width: int, height: int):
        amp = rng.uniform(0, 0.025) * min(width, height)
        self.waves = [
            (amp * rng.uniform(0.3, 1), rng.uniform(0.5, 4), rng.uniform(0, 2 * np.pi)) for _ in range(4)
        ]
        if rng.random() < 0.2:  # shake: small, fast
            shake = rng.uniform(0.003, 0.012) * min(width, height)
            self.waves += [(shake, rng.uniform(12, 25), rng.uniform(0, 2 * np.pi)) for _ in range(2)]
        else:
            self.waves += [(0.0, 1.0, 0.0)] * 2

    def __call__(self, t: float) -> tuple[float, float]:
        w = self.waves
        ox = sum(a * math.sin(2 * np.pi * f * t + p) for a, f, p in (w[0], w[1], w[4]))
        oy = sum(a * math.sin(2 * np.pi * f * t + p) for a, f, p in (w[2], w[3], w[5]))
        return ox, oy
