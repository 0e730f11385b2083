"""Clips for int8 calibration, and the held-out clips int8 is judged on.

With ``--calibration DIR``, clips come from the videos under DIR, decoded by
the one reader training and evaluation use (``vmf.contract.video``: PyAV, else
OpenCV) and preprocessed exactly as the runtime will (``vmf.contract.preprocess``),
each frame as it is decoded. DIR is one of two things:

* a **flat** folder of videos: T consecutive frames per clip, clips spread
  evenly through each video, every fourth clip (at least one) held out;
* a **labelled** class-folder tree, as ``vmf.train`` reads a dataset:
  ``DIR/<class>/*.mp4``, or ``DIR/val/<class>`` (preferred) / ``DIR/train/<class>``,
  class order from ``classes.txt`` else the sorted folder names. One clip per
  video, the evaluation clip (``uniform_indices``: T frames uniformly
  covering the whole video, as validation scores a trained model), videos taken
  round-robin over the classes up to ``MAX_LABELLED_CLIPS``; a quarter of the
  clips (at least one), spread over the classes, is held out with its label, so
  the int8 report can state the top-1 accuracy of fp32 and int8 on them.
  Folder names are matched to the model's labels by name.

Held-out clips are never calibrated on. Without DIR there is no real data to
calibrate on: a warning says so and synthetic moving-pattern clips stand in
(``parity.structured_clips``), with separately seeded held-out clips.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np

from vmf.contract.labels import read_labels
from vmf.contract.preprocess import MEAN, STD, FramePreprocessor
from vmf.contract.sampling import uniform_indices
from vmf.contract.video import VIDEO_SUFFIXES, VideoReadError, read_frames, videos_in
from vmf.model import VmfError

from .parity import HELDOUT_CLIPS, structured_clips

CALIBRATION_CLIPS = 8  # synthetic; the LiteRT docs suggest 100-500 samples of real data
MAX_VIDEO_CLIPS = 32  # from DIR: the cap keeps memory bounded (5G: 38 MB a clip)
# Labelled: one clip per video, and the held-out quarter (16) scores top-1, so more
# clips than a flat folder's; 5G at 64 frames: 2.5 GB of clips at most.
MAX_LABELLED_CLIPS = 64
CLIPS_PER_VIDEO = 4
SYNTHETIC_SEED = 1000  # apart from the parity clips' seeds
CLASSES_FILE = "classes.txt"
SPLIT_FOLDERS = ("val", "train")  # of a labelled tree, in order of preference


class CalibrationSets(NamedTuple):
    """Clips to calibrate on, held-out clips to judge on, and where they came from."""

    calib: np.ndarray  # (count, T, 3, R, R) float32, TCHW
    held: np.ndarray
    source: str
    held_labels: "np.ndarray | None" = None  # model label index per held-out clip; None: unlabelled


def calibration_sets(
    frames: int,
    resolution: int,
    directory: "str | os.PathLike | None" = None,
    *,
    labels: "Sequence[str] | None" = None,
    warn: Callable[[str], None] = print,
) -> CalibrationSets:
    """Calibration and held-out clips (TCHW float32) from ``directory``, else synthetic.

    ``labels`` are the model's class names, for a labelled ``directory``: its
    class folders are mapped to them by name (without them, the folder's class
    order is the label order).
    """
    if directory is None:
        warn(
            "warning: no --calibration DIR of videos given; int8 is calibrated on synthetic "
            "moving-pattern clips, so its accuracy on real video is not known"
        )
        calib = structured_clips(CALIBRATION_CLIPS, frames, resolution, seed=SYNTHETIC_SEED)
        held = structured_clips(HELDOUT_CLIPS, frames, resolution, seed=SYNTHETIC_SEED + 1)
        return CalibrationSets(calib, held, "synthetic moving patterns")
    tree = class_tree(directory, warn=warn)
    if tree is not None:
        return _labelled_sets(directory, tree, frames, resolution, labels, warn)
    clips = video_clips(directory, frames, resolution)
    _need_two(directory, frames, len(clips))
    # Every step-th clip is held out, so they come from across the videos.
    held_count = max(1, len(clips) // 4)
    step = len(clips) // held_count
    mask = np.zeros(len(clips), bool)
    mask[np.arange(held_count) * step + step - 1] = True
    return CalibrationSets(clips[~mask], clips[mask], f"{len(clips)} clips from {directory}")


def _need_two(directory, frames: int, count: int) -> None:
    if count < 2:
        raise VmfError(
            f"--calibration {directory}: need at least 2 clips of {frames} frames "
            f"(one to calibrate, one held out), found {count}"
        )


def _labelled_sets(
    directory,
    tree: "list[tuple[str, Path]]",
    frames: int,
    resolution: int,
    labels: "Sequence[str] | None",
    warn: Callable[[str], None],
) -> CalibrationSets:
    root = tree[0][1].parent
    label_of = class_labels([name for name, _ in tree], labels, root)
    clips, clip_labels = labelled_clips(tree, label_of, frames, resolution, warn=warn)
    _need_two(directory, frames, len(clips))
    mask = held_out_mask(clip_labels, max(1, len(clips) // 4))
    source = f"{len(clips)} labelled clips (one per video, {len(tree)} classes) from {root}"
    return CalibrationSets(clips[~mask], clips[mask], source, clip_labels[mask])


# -- labelled class-folder trees ----------------------------------------------------------
def _class_folders(folder: Path) -> dict[str, Path]:
    """The non-hidden subfolders of ``folder`` that hold a video, by name."""
    if not folder.is_dir():
        return {}
    return {
        p.name: p
        for p in sorted(folder.iterdir())
        if p.is_dir() and not p.name.startswith(".") and videos_in(p)
    }


def class_tree(
    directory: "str | os.PathLike", *, warn: Callable[[str], None] = print
) -> "list[tuple[str, Path]] | None":
    """``[(class name, folder)]`` in class order when ``directory`` is labelled; None when flat.

    Labelled: ``DIR/val/<class>`` or else ``DIR/train/<class>`` folders holding
    videos, or else ``DIR/<class>`` ones with no video directly in DIR (a folder
    of videos stays a flat one, as before labelled folders were read). The
    order is that of ``classes.txt`` (in the class tree's root, else in DIR),
    then any folder it does not name, sorted.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise VmfError(f"--calibration {directory} is not a directory of videos")
    root = next((directory / s for s in SPLIT_FOLDERS if _class_folders(directory / s)), None)
    if root is None:
        root = directory
        if not _class_folders(directory):
            return None
        if videos_in(directory):
            warn(
                f"warning: --calibration {directory} holds videos and class folders; "
                "calibrating on the videos directly inside it, without labels"
            )
            return None
    folders = _class_folders(root)
    order: list[str] = []
    for candidate in dict.fromkeys((root / CLASSES_FILE, directory / CLASSES_FILE)):
        if candidate.is_file():
            order = [name for name in read_labels(candidate) if name in folders]
            break
    order += sorted(set(folders) - set(order))
    return [(name, folders[name]) for name in order]


def class_labels(classes: Sequence[str], labels: "Sequence[str] | None", root) -> list[int]:
    """The model's label index of each class folder name; one clear error for an unknown one."""
    if labels is None:
        return list(range(len(classes)))
    index: dict[str, int] = {}
    for i, name in enumerate(labels):
        index.setdefault(name, i)
    for name in classes:
        if name not in index:
            shown = ", ".join(list(labels)[:8]) + (", ..." if len(labels) > 8 else "")
            raise VmfError(
                f"--calibration {root}: class folder {name!r} is not one of the "
                f"model's {len(labels)} labels ({shown}); calibrate with this model's "
                "classes, or give --labels the names it was trained on"
            )
    return [index[name] for name in classes]


def labelled_clips(
    tree: "list[tuple[str, Path]]",
    label_of: Sequence[int],
    frames: int,
    resolution: int,
    limit: int = MAX_LABELLED_CLIPS,
    *,
    warn: Callable[[str], None] = print,
) -> tuple[np.ndarray, np.ndarray]:
    """(clips (count, T, 3, R, R), labels (count,)): one evaluation clip per video.

    Videos are taken round-robin over the classes (each class's in name order)
    until ``limit`` clips, so a capped set still covers every class; a video
    that cannot be read is skipped with a warning (the class's next one is tried).
    """
    preprocess = FramePreprocessor(resolution, MEAN, STD, "TCHW")
    queues = [videos_in(folder) for _, folder in tree]
    clips: list[np.ndarray] = []
    clip_labels: list[int] = []
    while len(clips) < limit and any(queues):
        for queue, label in zip(queues, label_of):
            while queue and len(clips) < limit:
                video = queue.pop(0)
                try:
                    clip = uniform_clip(video, frames, preprocess)
                except VideoReadError as exc:
                    warn(f"warning: --calibration: skipping {video}: {exc}")
                    continue
                clips.append(clip)
                clip_labels.append(label)
                break
    if not clips:
        raise VmfError(f"--calibration {tree[0][1].parent}: none of its videos could be read")
    return np.stack(clips), np.asarray(clip_labels, np.int64)


def held_out_mask(labels: np.ndarray, count: int) -> np.ndarray:
    """Which clips to hold out: ``count`` of them, spread over the classes.

    Classes take turns (in order of first appearance) giving up their last
    clip, while they have another one left to calibrate on; only when none
    has, classes give up their only clip, again in turn.
    """
    labels = np.asarray(labels)
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels.tolist()):
        by_class.setdefault(label, []).append(i)
    mask = np.zeros(len(labels), bool)
    taken = 0
    for keep in (1, 0):
        while taken < count:
            progressed = False
            for members in by_class.values():
                if taken < count and len(members) > keep:
                    mask[members.pop()] = True
                    taken += 1
                    progressed = True
            if not progressed:
                break
    return mask


def uniform_clip(video: Path, frames: int, preprocess: FramePreprocessor) -> np.ndarray:
    """The evaluation clip of ``video`` (``uniform_indices`` over all its frames), preprocessed.

    Each chosen frame is preprocessed into its slot as it is decoded, so a long
    video costs time, not memory; ``VideoReadError`` when it cannot be read.
    """
    clip, _, _ = read_frames(video, lambda total: uniform_indices(total, frames), preprocess)
    return clip


# -- flat folders of videos -------------------------------------------------------------
def video_clips(
    directory: "str | os.PathLike", frames: int, resolution: int, limit: int = MAX_VIDEO_CLIPS
) -> np.ndarray:
    """Up to ``limit`` preprocessed clips (count, T, 3, R, R) from the videos in ``directory``.

    A video that cannot be read, or is shorter than ``frames``, gives no clip.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise VmfError(f"--calibration {directory} is not a directory of videos")
    videos = videos_in(directory)
    if not videos:
        raise VmfError(f"--calibration {directory} holds no videos ({', '.join(VIDEO_SUFFIXES)})")
    preprocess = FramePreprocessor(resolution, MEAN, STD, "TCHW")
    clips: list[np.ndarray] = []
    for video in videos:
        try:
            clips += _clips_of(video, frames, preprocess, CLIPS_PER_VIDEO)
        except VideoReadError:
            continue
        if len(clips) >= limit:
            break
    if not clips:
        raise VmfError(f"--calibration {directory}: no video has {frames} readable frames")
    return np.stack(clips[:limit])


def clip_starts(total: int, frames: int, count: int) -> np.ndarray:
    """First frames of up to ``count`` clips of ``frames`` consecutive frames, evenly spread over ``total``."""
    if total < frames:
        return np.zeros(0, np.int64)
    return np.unique(np.linspace(0, total - frames, count).round().astype(np.int64))


def _clips_of(video: Path, frames: int, preprocess: FramePreprocessor, count: int) -> list[np.ndarray]:
    """Up to ``count`` clips of ``frames`` consecutive frames, spread evenly through ``video``.

    The frames are counted exactly (``read_frames``) and only those inside a
    clip are decoded and preprocessed, so a long video costs time, not memory.
    """
    starts: list[np.ndarray] = []

    def choose(total: int) -> np.ndarray:
        starts.append(clip_starts(total, frames, count))
        return (starts[-1][:, None] + np.arange(frames)).reshape(-1)

    slots, _, _ = read_frames(video, choose, preprocess)
    return list(slots.reshape(len(starts[-1]), frames, *preprocess.slot_shape))
