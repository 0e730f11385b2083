"""Preprocessing on arrival, straight into the ring slot, equals a plain numpy reference."""

import numpy as np
import pytest

from vmf.model import MEAN, STD
from vmf.runtime.clip_assembler import ClipAssembler

from runtime_fixtures import fake_meta


def reference_slot(frame_bgr, resolution, layout):
    """Short side to R (bilinear, half-pixel centres), centre crop, RGB, normalise: pixel by pixel."""
    h, w, _ = frame_bgr.shape
    scale = resolution / min(h, w)
    sh, sw = max(resolution, round(h * scale)), max(resolution, round(w * scale))
    top, left = (sh - resolution) // 2, (sw - resolution) // 2
    out = np.empty((resolution, resolution, 3), np.float64)
    src = frame_bgr.astype(np.float64)
    for y in range(resolution):
        sy = min(max((y + top + 0.5) * h / sh - 0.5, 0.0), h - 1)
        y0 = int(np.floor(sy))
        y1, wy = min(y0 + 1, h - 1), sy - y0
        for x in range(resolution):
            sx = min(max((x + left + 0.5) * w / sw - 0.5, 0.0), w - 1)
            x0 = int(np.floor(sx))
            x1, wx = min(x0 + 1, w - 1), sx - x0
            value = (1 - wy) * ((1 - wx) * src[y0, x0] + wx * src[y0, x1]) + wy * (
                (1 - wx) * src[y1, x0] + wx * src[y1, x1]
            )
            out[y, x] = value[::-1]  # BGR -> RGB
    out = (out / 255.0 - np.array(MEAN)) / np.array(STD)
    return out.transpose(2, 0, 1) if layout == "TCHW" else out


@pytest.mark.parametrize("layout", ["TCHW", "THWC"])
@pytest.mark.parametrize("size", [(30, 44), (50, 20), (9, 9)])  # landscape, portrait, upscaling
def test_frame_written_into_its_slot_equals_reference(layout, size):
    rng = np.random.default_rng(sum(size))
    assembler = ClipAssembler(fake_meta(frames=3, resolution=12, layout=layout), hop=1)
    frames = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(3)]
    for frame in frames:
        assembler.add(frame)
    clip = assembler.clip()
    assert clip.dtype == np.float32
    assert clip.shape == ((3, 3, 12, 12) if layout == "TCHW" else (3, 12, 12, 3))
    for got, frame in zip(clip, frames):
        np.testing.assert_allclose(got, reference_slot(frame, 12, layout), atol=2e-5, rtol=0)


def test_preprocessing_writes_in_place_once():
    assembler = ClipAssembler(fake_meta(frames=2, resolution=8), hop=1)
    slot = assembler.ring.slot()
    frame = np.full((16, 16, 3), 200, np.uint8)
    assembler.add(frame)
    expected = (200 / 255 - MEAN[0]) / STD[0]
    np.testing.assert_allclose(slot, expected, atol=1e-5)  # the slot itself holds the frame
