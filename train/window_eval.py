"""Window evaluation: a streaming model on untrimmed timelines (``vmf-eval --timeline``).

``vmf-eval`` scores a trimmed video by one clip. A stream never sees a trimmed
video: it classifies a window of T kept frames every ``hop`` kept frames, and
its windows hold one motion, or the end of one and the start of the next.
This module runs each untrimmed video with a segments file
(``vmf.train.timeline``: ``start_frame,end_frame,label``, end exclusive)
through the runtime's own ``Classifier``, the code ``vmf-stream`` runs (its
``ClipAssembler`` keeps frames at the model card's ``sample_fps`` by each
frame's timestamp ``index / fps``, preprocesses them into its ring and
classifies every ``hop`` kept frames), and scores what a user of the stream
would see:

- **window top-1**: over the windows wholly inside one segment (their label
  is not in doubt), with per-class accuracy and the spread of the top-1 score;
- **switch latency**: at each segment boundary, frames from the new segment's
  first frame to the first prediction showing its label (a prediction's frame
  is the last source frame of its window). A boundary whose new segment ends
  before any prediction shows its label is *missed*: it is ranked after every
  caught switch, so a median or p90 that falls on a miss is reported as
  missed (``None``), never as a flattering number;
- **label flicker**: changes of the top-1 label between consecutive
  predictions whose windows lie wholly inside the same segment, per minute of
  the time those predictions span.

A prediction's label is the one the stream shows: its top-1, or with ``hold``
(``vmf-eval --timeline --hold SCORE``, the runtime's display policy) the label
held from an earlier window until a window's top-1 scores at least ``hold``,
with that label's score in this window; every figure above is of the shown label.

The scoring is pure functions of ``WindowPrediction``s and ``Segment``s, so
it is tested on hand-made predictions; the evaluation loop records, for each
prediction, the source indices of the frames its window holds (the last T
frames the assembler kept), which are ``vmf.contract.sampling.stream_window``
of ``kept_indices`` for the same video: training, evaluation and the runtime
see the same frames.
"""

from __future__ import annotations

import collections
import math
import os
import sys
import time
from bisect import bisect_right
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import numpy as np

from vmf.contract.video import VideoReadError, videos_in
from vmf.contract.video import iter_frames as open_video  # the name scripts and tests import
from vmf.model import VmfError

from .evaluate import is_placeholder, take_spread
from .timeline import SEGMENTS_SUFFIX, Segment, read_segments, segments_path

Progress = Callable[[int, int], None]  # (videos done, videos in total)
Warn = Callable[[str], None]

SCORE_QUANTILES = (0.1, 0.5, 0.9)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- scoring (pure)


@dataclass(frozen=True)
class WindowPrediction:
    """One prediction of a stream and the source frames its window spans."""

    end: int  # source index of the window's last frame: the prediction's frame
    start: int  # source index of the window's first frame
    label: str  # the shown label: the top-1, or under a hold policy the one held
    score: float  # its score (softmax probability) in this window


class ScoredWindow(NamedTuple):
    """One window wholly inside a segment: its label, what the stream showed, and where it lies."""

    true: str
    predicted: str
    score: float
    start: int  # source index of the window's first frame
    end: int  # source index of its last frame (the prediction's frame)


@dataclass(frozen=True)
class Switch:
    """One segment boundary and how long the stream took to show the new label."""

    frame: int  # the new segment's first frame
    before: str | None  # the previous segment's label (None after unlabelled frames)
    after: str  # the new segment's label
    latency: int | None  # frames from ``frame`` to the first prediction showing ``after``; None: missed
    segment_frames: int  # length of the new segment


def merge_segments(segments: Iterable[Segment]) -> list[Segment]:
    """Adjacent segments of one label joined: a window across them is inside that label."""
    merged: list[Segment] = []
    for seg in segments:
        if merged and merged[-1].end == seg.start and merged[-1].label == seg.label:
            merged[-1] = Segment(merged[-1].start, seg.end, seg.label)
        else:
            merged.append(seg)
    return merged


def clip_segments(segments: Iterable[Segment], num_frames: int) -> list[Segment]:
    """The segments cut at the video's last frame (frames past it were never seen)."""
    return [Segment(s.start, min(s.end, num_frames), s.label) for s in segments if s.start < num_frames]


def containing_segment(prediction: WindowPrediction, segments: list[Segment]) -> int | None:
    """Index of the segment holding the whole window (``start`` .. ``end``), else None."""
    k = bisect_right([s.start for s in segments], prediction.start) - 1
    if k >= 0 and prediction.end < segments[k].end:
        return k
    return None


def score_windows(predictions: list[WindowPrediction], segments: list[Segment]) -> list[ScoredWindow]:
    """Every window wholly inside one segment, with its true and its shown label."""
    segments = merge_segments(segments)
    out = []
    for p in predictions:
        k = containing_segment(p, segments)
        if k is not None:
            out.append(ScoredWindow(segments[k].label, p.label, float(p.score), p.start, p.end))
    return out


def switch_latencies(predictions: list[WindowPrediction], segments: list[Segment]) -> list[Switch]:
    """Every boundary the stream was already predicting at, and its switch latency.

    A boundary is the first frame of each segment after the first (adjacent
    segments of one label are one segment). It counts only when some
    prediction came before it: before the first window is full the stream
    shows nothing, so there is nothing to switch from. Its latency is
    ``p.end - boundary`` for the first prediction ``p`` with ``p.end`` in the
    new segment whose label is the new segment's; no such prediction before
    the segment ends: missed (``latency=None``).
    """
    segments = merge_segments(segments)
    ordered = sorted(predictions, key=lambda p: p.end)
    ends = [p.end for p in ordered]
    switches = []
    for k in range(1, len(segments)):
        new, old = segments[k], segments[k - 1]
        first = bisect_right(ends, new.start - 1)  # first prediction at or after the boundary
        if first == 0:
            continue  # no prediction before it: the stream was still filling its first window
        latency = None
        for p in ordered[first:]:
            if p.end >= new.end:
                break
            if p.label == new.label:
                latency = p.end - new.start
                break
        before = old.label if old.end == new.start else None
        switches.append(Switch(new.start, before, new.label, latency, new.end - new.start))
    return switches


def label_flips(predictions: list[WindowPrediction], segments: list[Segment]) -> tuple[int, int]:
    """(label changes, frames spanned) over consecutive predictions inside one segment.

    A pair of consecutive predictions counts when both windows lie wholly
    inside the same segment; it spans ``b.end - a.end`` frames and flips when
    the two top-1 labels differ.
    """
    segments = merge_segments(segments)
    ordered = sorted(predictions, key=lambda p: p.end)
    flips = frames = 0
    for a, b in zip(ordered, ordered[1:]):
        k = containing_segment(a, segments)
        if k is not None and k == containing_segment(b, segments):
            frames += b.end - a.end
            flips += a.label != b.label
    return flips, frames


def quantile(values: Iterable[float], q: float, misses: int = 0) -> float | None:
    """The ``q`` quantile (linear interpolation, as numpy's default) of ``values`` and ``misses``.

    Misses rank after every value; a quantile that lands on or between a
    miss is None. None when there is nothing at all.
    """
    ordered = sorted(float(v) for v in values)
    n = len(ordered) + int(misses)
    if n == 0:
        return None
    position = q * (n - 1)
    lo, hi = math.floor(position), math.ceil(position)
    if hi >= len(ordered):
        return None
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)


@dataclass
class VideoScore:
    """What one timeline video contributes to the report."""

    video: str
    fps: float
    frames: int  # decoded
    predictions: int
    windows: list[ScoredWindow]  # the windows inside one segment
    switches: list[Switch]
    flips: int
    flip_frames: int  # frames spanned by the pairs ``flips`` looked at

    def summary(self) -> dict:
        correct = sum(w.true == w.predicted for w in self.windows)
        return {
            "video": self.video,
            "fps": self.fps,
            "frames": self.frames,
            "predictions": self.predictions,
            "windows": len(self.windows),
            "window_top1": correct / len(self.windows) if self.windows else None,
            "boundaries": len(self.switches),
            "missed_switches": sum(s.latency is None for s in self.switches),
            "flips": self.flips,
        }


def score_video(
    video: str, fps: float, frames: int, predictions: list[WindowPrediction], segments: list[Segment]
) -> VideoScore:
    """Windows, switches and flicker of one video (segments cut at its last decoded frame)."""
    segments = merge_segments(clip_segments(segments, frames))
    flips, flip_frames = label_flips(predictions, segments)
    return VideoScore(
        video,
        float(fps),
        int(frames),
        len(predictions),
        score_windows(predictions, segments),
        switch_latencies(predictions, segments),
        flips,
        flip_frames,
    )


def _quantiles(values, misses: int = 0, scale: float = 1.0) -> dict:
    out = {}
    for name, q in (("median", 0.5), ("p90", 0.9)):
        v = quantile(values, q, misses)
        out[name] = None if v is None else round(v * scale, 3)
    return out


def summarise(videos: list[VideoScore], labels: list[str]) -> dict:
    """The report's figures over all videos; ``labels`` are the model's classes."""
    index = {name: i for i, name in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), np.int64)
    scores, correct_scores, wrong_scores = [], [], []
    for v in videos:
        for w in v.windows:
            confusion[index[w.true], index[w.predicted]] += 1
            scores.append(w.score)
            (correct_scores if w.true == w.predicted else wrong_scores).append(w.score)
    n_windows = int(confusion.sum())
    per_class_n = confusion.sum(1)
    per_class = {
        name: (float(confusion[i, i] / per_class_n[i]) if per_class_n[i] else None)
        for i, name in enumerate(labels)
    }
    seen = [a for a in per_class.values() if a is not None]
    switches = [(s, v.fps) for v in videos for s in v.switches]
    caught = [s.latency for s, _ in switches if s.latency is not None]
    caught_s = [s.latency / fps for s, fps in switches if s.latency is not None]
    missed = len(switches) - len(caught)
    flips = sum(v.flips for v in videos)
    flip_seconds = sum(v.flip_frames / v.fps for v in videos)

    def mean(values):
        return round(float(np.mean(values)), 6) if values else None

    return {
        "window_top1": float(np.trace(confusion) / n_windows) if n_windows else None,
        "mean_class_accuracy": float(np.mean(seen)) if seen else None,
        "per_class": per_class,
        "per_class_windows": {name: int(n) for name, n in zip(labels, per_class_n)},
        "confusion": confusion.tolist(),
        "n_windows": n_windows,
        "n_predictions": sum(v.predictions for v in videos),
        "top1_score": {
            **{f"p{round(q * 100)}": _round(quantile(scores, q)) for q in SCORE_QUANTILES},
            "mean": mean(scores),
            "mean_correct": mean(correct_scores),
            "mean_wrong": mean(wrong_scores),
        },
        "switch_latency_frames": _quantiles(caught, missed),
        "switch_latency_s": _quantiles(caught_s, missed),
        "switch_latency_caught_frames": _quantiles(caught),
        "n_boundaries": len(switches),
        "missed_switches": missed,
        "flips": flips,
        "flips_per_minute": round(flips / (flip_seconds / 60), 3) if flip_seconds > 0 else None,
        "in_segment_minutes": round(flip_seconds / 60, 3),
    }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- which videos


def has_timelines(data: "str | os.PathLike") -> bool:
    """Whether ``data`` is a video with a segments file, or a folder holding some."""
    data = Path(data)
    if data.is_file():
        return Path(segments_path(data)).is_file()
    return data.is_dir() and bool(_segment_files(data))


def _segment_files(folder: Path) -> list[Path]:
    """``*.segments.csv`` in ``folder`` and its sub-folders one level down (not hidden ones)."""
    found = list(folder.glob(f"*{SEGMENTS_SUFFIX}")) + list(folder.glob(f"*/*{SEGMENTS_SUFFIX}"))
    return sorted(p for p in found if not any(part.startswith(".") for part in p.relative_to(folder).parts))


def find_timelines(data: "str | os.PathLike", warn: Warn = _stderr) -> tuple[list[tuple[Path, Path]], str]:
    """((video, segments file) pairs, which split) that ``data`` means.

    A video: itself (its ``<video>.segments.csv`` must exist). A folder: every
    video with a segments file beside it, in the folder and one level down;
    its ``val/`` only when it has timelines there (as ``vmf-eval`` evaluates
    ``val/`` of a split dataset). Videos without a segments file are left out
    with one warning; none with one is an error.
    """
    data = Path(data)
    hint = "window evaluation needs <video>.segments.csv (start_frame,end_frame,label) beside each video"
    if data.is_file():
        segments = Path(segments_path(data))
        if not segments.is_file():
            raise VmfError(f"{data} has no segments file {segments.name}: {hint}")
        return [(data, segments)], "all"
    if not data.is_dir():
        raise VmfError(f"no such video or folder: {data}")
    root, split = data, "all"
    if (data / "val").is_dir() and _segment_files(data / "val"):
        root, split = data / "val", "val"
    pairs = []
    for seg_file in _segment_files(root):
        video = seg_file.with_name(seg_file.name[: -len(SEGMENTS_SUFFIX)])
        if video.is_file():
            pairs.append((video, seg_file))
        else:
            warn(f"warning: {seg_file} has no video {video.name} beside it; ignored")
    folders = [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    without = [p for f in folders for p in videos_in(f) if not Path(segments_path(p)).is_file()]
    if not pairs:
        raise VmfError(f"no timeline videos in {root}: {hint}")
    if without:
        warn(f"warning: {len(without)} videos in {root} have no segments file and are not evaluated")
    return pairs, split


def load_segments(pairs: list[tuple[Path, Path]], labels: list[str]) -> list[list[Segment]]:
    """The segments of each video, checked: a malformed file or a label the model lacks is an error."""
    known = set(labels)
    out = []
    for _, seg_file in pairs:
        try:
            segments = read_segments(seg_file)
        except ValueError as exc:
            raise VmfError(str(exc)) from None
        unknown = sorted({s.label for s in segments} - known)
        if unknown:
            shown = ", ".join(labels[:8]) + (", ..." if len(labels) > 8 else "")
            hint = (
                "; the model's labels are placeholders (export with --labels)"
                if is_placeholder(labels)
                else ""
            )
            raise VmfError(
                f"{seg_file}: segment label {unknown[0]!r} is not one of the model's "
                f"{len(labels)} labels ({shown}){hint}"
            )
        out.append(segments)
    return out


# --------------------------------------------------------------------------- streaming


def stream_predictions(
    classifier, frames: Iterable[np.ndarray], fps: float, windows: list | None = None
) -> tuple[list[WindowPrediction], int]:
    """Push ``frames`` in order into ``classifier`` (a ``vmf.runtime.Classifier``), as ``vmf-stream``.

    Frame ``i`` arrives at ``i / fps`` seconds, as a file source stamps it, so
    the classifier's sampler keeps the frames ``kept_indices`` names. A frame
    the assembler kept moves its ring forward, which is how the kept indices
    are tracked here; a prediction's window is the last T of them. With
    ``windows`` (a list) each window's source indices are appended to it.
    Returns the predictions and the number of frames pushed.
    """
    (predictions,), count = stream_predictions_many(
        [classifier], frames, fps, None if windows is None else [windows]
    )
    return predictions, count


def stream_predictions_many(
    classifiers: list, frames: Iterable[np.ndarray], fps: float, windows: list | None = None
) -> tuple[list[list[WindowPrediction]], int]:
    """``stream_predictions`` for several classifiers at once: each frame is decoded once for all."""
    rings = [c.assembler.ring for c in classifiers]
    kept = [collections.deque(maxlen=c.assembler.frames) for c in classifiers]
    out: list[list[WindowPrediction]] = [[] for _ in classifiers]
    count = 0
    for index, frame in enumerate(frames):
        count = index + 1
        for k, classifier in enumerate(classifiers):
            before = rings[k].pushed
            prediction = classifier.push(frame, timestamp=index / fps)
            if rings[k].pushed != before:
                kept[k].append(index)
            if prediction is not None:
                out[k].append(WindowPrediction(kept[k][-1], kept[k][0], prediction.label, prediction.score))
                if windows is not None:
                    windows[k].append(np.array(kept[k], dtype=np.int64))
    return out, count


# --------------------------------------------------------------------------- the loop


def evaluate_timelines(
    model_path: "str | os.PathLike",
    data: "str | os.PathLike",
    *,
    backend: str | None = None,
    threads: int | None = None,
    device: str = "cpu",
    hop: int | None = None,
    smooth: float | None = None,
    hold: float | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    warn: Warn | None = None,
) -> dict:
    """Window top-1, switch latency and flicker of a model streaming over ``data``'s timelines.

    Each video goes through a ``vmf.runtime.Classifier`` (reset between
    videos) over the backend ``model_path`` loads, with ``hop`` (default the
    runtime's) and the model card's ``sample_fps``: what ``vmf-stream`` does
    with the file (``smooth`` and ``hold`` as its ``--smooth`` and ``--hold``). Undecodable
    videos are skipped with one warning each and counted in ``skipped``; when none can be
    decoded it is an error.
    """
    warn = warn or _stderr
    pairs, split = find_timelines(data, warn)
    pairs = take_spread(pairs, limit)
    from vmf.runtime.backends import load_backend  # the runtime only when used
    from vmf.runtime.classifier import Classifier
    from vmf.runtime.clip_assembler import HOP
    from vmf.runtime.scoring import check_hold

    hop = HOP if hop is None else int(hop)
    if hop < 1:
        raise VmfError(f"--hop must be >= 1, got {hop}")
    hold = check_hold(hold)  # before the model loads
    model = load_backend(model_path, backend=backend, threads=threads, device=device)
    labels = list(model.labels)
    frames_per_clip = int(model.meta["frames"])
    if hop > frames_per_clip:
        raise VmfError(
            f"--hop {hop} is larger than the model's clip of {frames_per_clip} frames: "
            "frames between clips would never be seen"
        )
    all_segments = load_segments(pairs, labels)
    classifier = Classifier(model, hop=hop, smooth=smooth, hold=hold)
    scored: list[VideoScore] = []
    skipped: list[str] = []
    seconds_of_video = 0.0
    started = time.perf_counter()
    for position, ((video, seg_file), segments) in enumerate(zip(pairs, all_segments)):
        classifier.reset()
        try:
            fps, frames = open_video(video)
            predictions, count = stream_predictions(classifier, frames, fps)
        except VideoReadError as exc:
            warn(f"skipped: {exc}")
            skipped.append(str(video))
        else:
            if segments[-1].end > count:
                warn(
                    f"warning: {seg_file.name} runs to frame {segments[-1].end} but {video.name} has "
                    f"{count} frames; segments past its end are ignored"
                )
            if not predictions:
                warn(
                    f"warning: {video.name}: no prediction ({count} frames keep fewer than the "
                    f"model's {frames_per_clip})"
                )
            scored.append(score_video(str(video), fps, count, predictions, segments))
            seconds_of_video += count / fps
        if progress is not None:
            progress(position + 1, len(pairs))
    seconds = time.perf_counter() - started
    if not scored:
        raise VmfError(f"none of the {len(pairs)} videos could be decoded")
    figures = summarise(scored, labels)
    sampler = classifier.assembler.sampler
    return {
        "mode": "timeline",
        "model": str(model_path),
        "backend": model.name,
        "device": model.device,
        "data": str(data),
        "split": split,
        "classes": labels,
        **figures,
        "n_videos": len(scored),
        "skipped": len(skipped),
        "skipped_videos": skipped,
        "minutes": round(seconds_of_video / 60, 3),
        "frames": frames_per_clip,
        "hop": hop,
        "smooth": smooth,
        "hold": hold,
        "sampling": sampler.describe(),
        "sample_fps": sampler.target_fps,
        "resolution": int(model.meta["resolution"]),
        "layout": str(model.meta["input_layout"]),
        "seconds": round(seconds, 3),
        "clips_per_s": round(figures["n_predictions"] / seconds, 3) if seconds > 0 else None,
        "videos": [v.summary() for v in scored],
        "switches": [{"video": v.video, **asdict(s)} for v in scored for s in v.switches],
        # every scored window, to find what the model misses (which frames, how sure)
        "window_predictions": [{"video": v.video, **w._asdict()} for v in scored for w in v.windows],
    }
