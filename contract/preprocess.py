"""Per-frame preprocessing: the exact input contract of every exported model.

It lives in the contract because everything that feeds a model goes through
it: the exporter (int8 calibration and parity clips read from videos), the
runtime (each frame on arrival), training and evaluation; the Android core
reproduces it and is tested against it.

A frame (OpenCV BGR uint8, any size) becomes one slot of the clip, once, on
arrival: scale so the short side equals the model's resolution R, take the
centred R x R crop, BGR -> RGB, ``(v / 255 - mean) / std``, written in the
model's ``input_layout`` (``CHW`` slot of ``TCHW``, or ``HWC`` of ``THWC``).
``MEAN`` and ``STD`` are the normalisation every vmf model is trained with
(``vmf.model`` re-exports them); a model card states the pair its model takes.

Resampling is bilinear with half-pixel centres (as ``cv2.resize`` INTER_LINEAR
and ``torch.nn.functional.interpolate(align_corners=False)`` define it), done in
float32 on the R rows and R columns the crop keeps only. It is written out
here, not delegated to ``cv2.resize``, because OpenCV's uint8 path uses 11-bit
fixed-point weights: the Android core (``android_demo``) implements these same
formulas and must match this to 1e-5.

Plan for a source of H x W (computed once per frame size):
  scale  = R / min(H, W);  H' = max(R, round(H * scale)),  W' likewise
  top    = (H' - R) // 2;  left = (W' - R) // 2
  for output row y:  s = (y + top + 0.5) * H / H' - 0.5, clamped to [0, H - 1]
                     y0 = floor(s), y1 = min(y0 + 1, H - 1), wy = s - y0
  (columns the same with left, W, W'); value = p0 * (1 - w) + p1 * w

Which frames make a clip is ``vmf.contract.sampling``'s business
(``uniform_indices`` for a whole video, ``stream_window`` for a stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Kinetics normalisation used by X3D/PyTorchVideo, on RGB in [0, 1].
MEAN = (0.45, 0.45, 0.45)
STD = (0.225, 0.225, 0.225)


@dataclass(frozen=True)
class ResamplePlan:
    """Source rows/columns and weights for one (source size, resolution) pair."""

    rows0: np.ndarray  # (R, 1): source rows, shaped to index together with ``columns``
    rows1: np.ndarray
    row_w: np.ndarray  # (R, 1, 1) float32
    columns: np.ndarray  # the <= 2R source columns the crop reads, ascending
    cols0: np.ndarray  # positions in ``columns``
    cols1: np.ndarray
    col_w: np.ndarray  # (1, R, 1) float32


def _axis(src: int, scaled: int, offset: int, out: int):
    s = (np.arange(out, dtype=np.float64) + offset + 0.5) * (src / scaled) - 0.5
    s = np.clip(s, 0.0, src - 1)
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, src - 1)
    return i0, i1, (s - i0).astype(np.float32)


@lru_cache(maxsize=32)
def resample_plan(height: int, width: int, resolution: int) -> ResamplePlan:
    """The resize-short-side + centre-crop plan (see the module docstring)."""
    if height < 1 or width < 1:
        raise ValueError(f"empty frame {height}x{width}")
    scale = resolution / min(height, width)
    scaled_h = max(resolution, round(height * scale))
    scaled_w = max(resolution, round(width * scale))
    r0, r1, rw = _axis(height, scaled_h, (scaled_h - resolution) // 2, resolution)
    c0, c1, cw = _axis(width, scaled_w, (scaled_w - resolution) // 2, resolution)
    # Only the columns the crop reads are gathered and converted: a 1080p frame
    # has 1920, the crop needs at most 2R (same arithmetic per value, so the
    # result is bit-identical to blending whole rows).
    columns, inverse = np.unique(np.concatenate([c0, c1]), return_inverse=True)
    return ResamplePlan(
        r0[:, None],
        r1[:, None],
        rw[:, None, None],
        columns,
        inverse[:resolution],
        inverse[resolution:],
        cw[None, :, None],
    )


def resize_crop(frame: np.ndarray, resolution: int) -> np.ndarray:
    """Bilinear short-side resize + centre crop of an H x W x 3 frame, float32 R x R x 3."""
    plan = resample_plan(frame.shape[0], frame.shape[1], resolution)
    top = frame[plan.rows0, plan.columns].astype(np.float32)
    bottom = frame[plan.rows1, plan.columns].astype(np.float32)
    rows = top * (1.0 - plan.row_w) + bottom * plan.row_w  # (R, <=2R, 3)
    left, right = rows[:, plan.cols0], rows[:, plan.cols1]
    return left * (1.0 - plan.col_w) + right * plan.col_w  # (R, R, 3)


class FramePreprocessor:
    """BGR uint8 frame -> normalised RGB float32 slot in the model's layout."""

    def __init__(self, resolution: int, mean, std, layout: str = "TCHW"):
        if layout not in ("TCHW", "THWC"):
            raise ValueError(f"unknown input layout {layout!r}")
        self.resolution = int(resolution)
        self.layout = layout
        std = np.asarray(std, dtype=np.float32)
        # (v / 255 - mean) / std == v * scale + bias, per RGB channel
        self.scale = (1.0 / (255.0 * std)).astype(np.float32)
        self.bias = (-np.asarray(mean, dtype=np.float32) / std).astype(np.float32)

    @property
    def slot_shape(self) -> tuple[int, int, int]:
        r = self.resolution
        return (3, r, r) if self.layout == "TCHW" else (r, r, 3)

    def __call__(self, frame_bgr: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 BGR frame, got shape {frame_bgr.shape}")
        rgb = resize_crop(frame_bgr, self.resolution)[:, :, ::-1]
        normalised = rgb * self.scale + self.bias  # (R, R, 3) float32
        if out is None:
            out = np.empty(self.slot_shape, dtype=np.float32)
        if self.layout == "TCHW":
            out[...] = normalised.transpose(2, 0, 1)
        else:
            out[...] = normalised
        return out
