"""Accuracy of a trained or exported model on labelled videos (what ``vmf-eval`` runs).

Any model the runtime loads is evaluated the same way: a vmf checkpoint
(``.pt``), an ONNX, TFLite, Core ML or OpenVINO export. The clip contract
(frames, resolution, mean, std, layout) is read from the model's own card
(``backend.meta``), never from the command line, and every frame goes
through ``vmf.contract.preprocess.FramePreprocessor``, the preprocessing the
runtime and the phone apps use: the score printed is what a device computes,
and a checkpoint and its export can be compared video by video.

The protocol is the paper's (§4): one clip of ``frames`` frames spread
uniformly over the whole video (``clips.eval_indices``). With
``shuffle_frames`` the same frames are fed in a random order; a model that
has learnt motion drops towards chance on tasks whose classes differ only in
direction, one that looks at appearance does not.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from vmf.contract.preprocess import FramePreprocessor
from vmf.model import VmfError

from .clips import eval_indices
from .datasets import Item, load_splits
from .metrics import Tally
from .video_io import VideoReadError, read_frames

_PLACEHOLDER = re.compile(r"class_\d+")

Progress = Callable[[int, int], None]  # (videos done, videos in total)
Warn = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- which videos


def eval_items(data: "str | os.PathLike", warn: Warn = _stderr) -> tuple[list[Item], list[str], str]:
    """(videos, class names, which split) that ``data`` means for an evaluation.

    A folder with ``train/`` and ``val/`` is evaluated on ``val/``: scoring
    the videos a model was trained on would flatter it. A class tree or a
    list file is evaluated whole (point ``--data`` at the folder you mean).
    A ``train/`` without a ``val/`` has nothing else to offer, so its
    videos are evaluated with a warning that the number is a training score.
    """
    splits = load_splits(data)
    if splits.val:
        return splits.val, splits.classes, "val"
    data = Path(data)
    if data.is_dir() and (data / "train").is_dir():
        warn(
            f"warning: {data} has train/ but no val/ videos; evaluating train/ "
            "(a training score, not a measure of generalisation)"
        )
        return splits.train, splits.classes, "train"
    return splits.train, splits.classes, "all"


def take_spread(items: list[Item], limit: int | None) -> list[Item]:
    """At most ``limit`` items, evenly spaced over the list.

    Datasets list videos class by class, so the first N would cover only the
    first classes; evenly spaced ones cover them all, and are the same ones
    every time (no seed to remember when comparing two models).
    """
    if limit is not None and limit < 1:
        raise VmfError(f"--limit must be >= 1, got {limit}")
    if limit is None or limit >= len(items):
        return list(items)
    positions = np.linspace(0, len(items) - 1, limit).round().astype(np.int64)
    return [items[int(i)] for i in positions]


# --------------------------------------------------------------------------- class names


def is_placeholder(labels: list[str]) -> bool:
    """True for ``class_0, class_1, ...``: a model exported without class names."""
    return all(_PLACEHOLDER.fullmatch(name) for name in labels)


def label_map(
    data_classes: list[str], used: set[int], model_labels: list[str], warn: Warn = _stderr
) -> np.ndarray:
    """Model output index of each dataset label, matched by class name.

    Label indices differ between datasets (alphabetical folders vs a
    classes.txt order), names do not, so names decide. A class the model does
    not know cannot be scored and is an error naming it. A model whose
    labels are only placeholders carries no names to match, so dataset
    label ``i`` is taken to be output ``i`` (the order training used), with a
    warning. Only the labels in ``used`` (those the videos carry) must match.
    """
    index = {name: i for i, name in enumerate(model_labels)}
    unknown = [data_classes[label] for label in sorted(used) if data_classes[label] not in index]
    if not unknown:
        return np.array([index.get(name, -1) for name in data_classes], np.int64)
    if is_placeholder(model_labels):
        if max(used) >= len(model_labels):
            raise VmfError(
                f"the dataset has {len(data_classes)} classes but the model only {len(model_labels)} outputs"
            )
        warn(
            "warning: the model's labels are placeholders (class_0, class_1, ...); assuming "
            "dataset label i is model output i (export with --labels to match by name)"
        )
        return np.arange(len(data_classes), dtype=np.int64)
    shown = ", ".join(model_labels[:8]) + (", ..." if len(model_labels) > 8 else "")
    raise VmfError(
        f"dataset class {unknown[0]!r} is not one of the model's {len(model_labels)} labels ({shown})"
    )


# --------------------------------------------------------------------------- clips


@dataclass(frozen=True)
class ClipContract:
    """What one clip must look like for a model: taken from its model card."""

    frames: int
    resolution: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    layout: str  # "TCHW" or "THWC"

    @classmethod
    def of(cls, meta: dict) -> "ClipContract":
        return cls(
            int(meta["frames"]),
            int(meta["resolution"]),
            tuple(meta["mean"]),
            tuple(meta["std"]),
            str(meta["input_layout"]),
        )

    def preprocessor(self) -> FramePreprocessor:
        return FramePreprocessor(self.resolution, self.mean, self.std, self.layout)


def shuffled_order(frames: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation of ``range(frames)`` that is not the identity (when ``frames`` > 1).

    An identity draw (1 in ``frames!``) would silently leave a clip in order
    and blur what the shuffle test measures, so it is drawn again.
    """
    order = rng.permutation(frames)
    while frames > 1 and np.array_equal(order, np.arange(frames)):
        order = rng.permutation(frames)
    return order


def clip_indices(num_frames: int, frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """The frames of a video that make its clip, in clip order.

    Without ``rng``: the evaluation clip, sorted in time. With it: the same
    frames in a shuffled order (``shuffled_order``).
    """
    indices = eval_indices(num_frames, frames)
    return indices if rng is None else indices[shuffled_order(frames, rng)]


def shuffle_rng(seed: int, position: int) -> np.random.Generator:
    """The generator for the ``position``-th video: a run is reproducible, videos differ."""
    return np.random.default_rng([seed, position])


def fill_clip(video: np.ndarray, indices: np.ndarray, pre: FramePreprocessor, clip: np.ndarray) -> np.ndarray:
    """Preprocess ``video[indices]`` straight into the slots of ``clip`` (any layout)."""
    for slot, index in enumerate(indices):
        pre(video[index], out=clip[slot])
    return clip


def _clip_chooser(frames: int, shuffle_frames: bool, seed: int, position: int):
    """``read_frames``'s chooser for the ``position``-th video: ``clip_indices`` of its length.

    The generator is made afresh on each call, so the shuffle depends on
    (seed, position) only, even if a decoder fallback asks twice.
    """

    def choose(num_frames: int) -> np.ndarray:
        rng = shuffle_rng(seed, position) if shuffle_frames else None
        return clip_indices(num_frames, frames, rng)

    return choose


# --------------------------------------------------------------------------- the loop


def evaluate(
    model_path: "str | os.PathLike",
    data: "str | os.PathLike",
    *,
    backend: str | None = None,
    threads: int | None = None,
    device: str = "cpu",
    shuffle_frames: bool = False,
    seed: int = 0,
    limit: int | None = None,
    progress: Progress | None = None,
    warn: Warn | None = None,
) -> dict:
    """Top-1, top-5, mean class accuracy and the confusion matrix of a model on ``data``.

    ``data`` is what ``vmf-train`` accepts (see ``eval_items`` for which
    videos count). Undecodable videos are skipped with one warning each and
    counted in ``skipped``; when none can be decoded it is an error.
    ``progress(done, total)`` is called after every video. The confusion
    matrix (rows: true, columns: predicted) and ``per_class`` are over the
    model's classes; ``seconds`` and ``clips_per_s`` cover decoding,
    preprocessing and inference together, which is the throughput a user
    of this tool sees, not the model's latency (``vmf-bench`` measures that).
    """
    warn = warn or _stderr
    data_items, data_classes, split = eval_items(data, warn)
    items = take_spread(data_items, limit)
    from vmf.runtime.backends import load_backend  # imports the runtime only when used

    model = load_backend(model_path, backend=backend, threads=threads, device=device)
    labels = list(model.labels)
    to_model = label_map(data_classes, {label for _, label in items}, labels, warn)
    contract = ClipContract.of(model.meta)
    pre = contract.preprocessor()
    clip = np.empty(model.input_shape, np.float32)
    tally = Tally(len(labels))
    predictions, skipped = [], 0
    started = time.perf_counter()
    for position, (path, label) in enumerate(items):
        try:
            # Only the clip's frames are decoded and kept, already in clip order.
            frames, _, _ = read_frames(path, _clip_chooser(contract.frames, shuffle_frames, seed, position))
        except VideoReadError as exc:
            warn(f"skipped: {exc}")
            skipped += 1
        else:
            logits = model.run(fill_clip(frames, np.arange(len(frames)), pre, clip))
            truth = int(to_model[label])
            tally.add(logits[None], np.array([truth]))
            predictions.append(
                {"video": str(path), "true": labels[truth], "predicted": labels[int(np.argmax(logits))]}
            )
        if progress is not None:
            progress(position + 1, len(items))
    seconds = time.perf_counter() - started
    if tally.n == 0:
        raise VmfError(f"none of the {len(items)} videos could be decoded")
    summary = tally.summary(labels)
    return {
        "model": str(model_path),
        "backend": model.name,
        "device": model.device,
        "data": str(data),
        "split": split,
        "top1": summary["top1"],
        "top5": summary["top5"],
        "mean_class_accuracy": summary["mean_class_accuracy"],
        "per_class": summary["per_class"],
        "confusion": summary["confusion"],
        "classes": labels,
        "n": summary["n"],
        "skipped": skipped,
        "frames": contract.frames,
        "resolution": contract.resolution,
        "layout": contract.layout,
        "shuffle_frames": bool(shuffle_frames),
        "seed": int(seed),
        "seconds": round(seconds, 3),
        "clips_per_s": round(summary["n"] / seconds, 3) if seconds > 0 else None,
        "predictions": predictions,
    }
