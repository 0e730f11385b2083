"""Tiny videos for the training-data tests (a few frames, tens of pixels: fast on a busy CPU).

A module of its own (not conftest.py) so tests import its helpers by a unique name.
"""

from __future__ import annotations

import numpy as np
import pytest

from vmf.train.video_io import write_video


def ramp_video(frames: int = 12, height: int = 32, width: int = 48) -> np.ndarray:
    """Smooth content (a moving gradient) that survives lossy coding within a few levels."""
    x = np.linspace(40, 200, width)[None, :, None]
    y = np.linspace(0, 30, height)[:, None, None]
    video = [np.broadcast_to(x + y + 2 * i, (height, width, 3)) for i in range(frames)]
    return np.clip(np.stack(video), 0, 255).astype(np.uint8)


def index_video(frames: int = 16, size: int = 32) -> np.ndarray:
    """Square frames whose grey level tells their index (10 + 15 i), with a dark left band.

    The band (the left 40 %) is wider than any crop offset of a training clip
    (at most a third of the crop side), so the left half of every clip is
    darker than its right half unless the clip was mirrored; the right edge is
    always bright and reads as the frame index.
    """
    video = np.empty((frames, size, size, 3), np.uint8)
    for i in range(frames):
        video[i] = 10 + 15 * i
        video[i, :, : size * 2 // 5] = 0
    return video


def level_to_index(level: float) -> int:
    return int(round((level - 10) / 15))


@pytest.fixture
def video_file(tmp_path):
    """``make(name, frames_array, fps=12.0) -> path``: an encoded file under tmp_path."""

    def make(name: str, video: np.ndarray | None = None, fps: float = 12.0):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_video(path, ramp_video() if video is None else video, fps)

    return make
