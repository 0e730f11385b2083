"""Clips for int8 calibration, and the held-out clips int8 is judged on.

With ``--calibration DIR``, clips come from the videos in DIR, read with OpenCV
and preprocessed exactly as the runtime will (``vmf.export.preprocess``): T
consecutive frames per clip, clips spread evenly through each video, and a
quarter of them (at least one) held out for the int8 report, never calibrated
on. Without it there is no real data to calibrate on: a warning says so and
synthetic moving-pattern clips stand in (``parity.structured_clips``), with
separately seeded held-out clips.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from vmf.model import MEAN, STD, VmfError

from .parity import HELDOUT_CLIPS, structured_clips
from .preprocess import FramePreprocessor

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
CALIBRATION_CLIPS = 8  # synthetic; the LiteRT docs suggest 100-500 samples of real data
MAX_VIDEO_CLIPS = 32  # from DIR: the cap keeps memory bounded (5G: 38 MB a clip)
CLIPS_PER_VIDEO = 4
SYNTHETIC_SEED = 1000  # apart from the parity clips' seeds


def calibration_sets(frames: int, resolution: int, directory: "str | os.PathLike | None" = None,
                     *, warn: Callable[[str], None] = print) -> tuple[np.ndarray, np.ndarray, str]:
    """(calibration clips, held-out clips, source description), TCHW float32."""
    if directory is None:
        warn("warning: no --calibration DIR of videos given; int8 is calibrated on synthetic "
             "moving-pattern clips, so its accuracy on real video is not known")
        calib = structured_clips(CALIBRATION_CLIPS, frames, resolution, seed=SYNTHETIC_SEED)
        held = structured_clips(HELDOUT_CLIPS, frames, resolution, seed=SYNTHETIC_SEED + 1)
        return calib, held, "synthetic moving patterns"
    clips = video_clips(directory, frames, resolution)
    if len(clips) < 2:
        raise VmfError(f"--calibration {directory}: need at least 2 clips of {frames} frames "
                       f"(one to calibrate, one held out), found {len(clips)}")
    # Every step-th clip is held out, so they come from across the videos.
    held_count = max(1, len(clips) // 4)
    step = len(clips) // held_count
    mask = np.zeros(len(clips), bool)
    mask[np.arange(held_count) * step + step - 1] = True
    return clips[~mask], clips[mask], f"{len(clips)} clips from {directory}"


def video_clips(directory: "str | os.PathLike", frames: int, resolution: int,
                limit: int = MAX_VIDEO_CLIPS) -> np.ndarray:
    """Up to ``limit`` preprocessed clips (count, T, 3, R, R) from the videos in ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise VmfError(f"--calibration {directory} is not a directory of videos")
    videos = sorted(p for p in directory.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise VmfError(f"--calibration {directory} holds no videos "
                       f"({', '.join(VIDEO_SUFFIXES)})")
    preprocess = FramePreprocessor(resolution, MEAN, STD, "TCHW")
    clips: list[np.ndarray] = []
    for video in videos:
        clips += _clips_of(video, frames, preprocess, CLIPS_PER_VIDEO)
        if len(clips) >= limit:
            break
    if not clips:
        raise VmfError(f"--calibration {directory}: no video has {frames} readable frames")
    return np.stack(clips[:limit])


def _clips_of(video: Path, frames: int, preprocess: FramePreprocessor, count: int) -> list[np.ndarray]:
    """Up to ``count`` clips of ``frames`` consecutive frames, spread evenly through ``video``.

    Frames are decoded in order and only those inside a clip are kept, so a long
    video costs time, not memory.
    """
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if total >= frames:
            starts = np.unique(np.linspace(0, total - frames, count).round().astype(int))
        else:  # unknown length (some containers): consecutive clips from the start
            starts = np.arange(count) * frames
        wanted = {s: [] for s in starts}
        index, last = 0, int(starts[-1]) + frames
        while index < last:
            ok, frame = capture.read()
            if not ok:
                break
            owners = [s for s in starts if s <= index < s + frames]
            if owners:
                slot = preprocess(frame)
                for s in owners:
                    wanted[s].append(slot)
            index += 1
    finally:
        capture.release()
    return [np.stack(v) for v in wanted.values() if len(v) == frames]
