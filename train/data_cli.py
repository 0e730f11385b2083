"""``vmf-data``: make training data.

    vmf-data synth --out data/synth --per-class 200                  # 2000 videos, random sizes
    vmf-data synth --out tiny --per-class 2 --frames 16 --size 64x48 --json
    vmf-data left-right --out left_right.mp4                        # left for 4 s, then right
    vmf-data still --out still.mp4                                  # nothing moves (no_motion)
    vmf-data timeline --out data/timeline --videos 40               # untrimmed, with segments

``synth`` writes the procedural motion dataset of ``vmf.train.synth`` as a
class tree (``OUT/<class>/<class>_<k>.mp4``) with ``classes.txt`` (the label
order) and ``flip_map.txt`` (the classes a horizontal flip swaps), the layout
``vmf.train.datasets`` reads. ``timeline`` writes untrimmed videos in which
one scene passes through a random sequence of the classes
(``vmf.train.timeline``), each with ``<video>.segments.csv``; ``left-right``
and ``still`` write one video and its segments file. Progress goes to stderr;
stdout holds the summary, or with ``--json`` one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from vmf.model import VmfError
from vmf.model.cli import ERROR_EXIT, USAGE_EXIT, Parser, UsageError, print_error

from . import synth, timeline
from .timeline import Segment, segments_path, write_segments
from .video_io import LazyFrames, encoder_available, write_video

PROG = "vmf-data"
MIN_SIDE, MAX_SIDE = 16, 4096  # a scene needs room for its shapes; beyond 4K is a typo
MAX_FRAMES = 10_000


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description="Make training data for Video Mobile-Former.")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = commands.add_parser(
        "synth",
        help="write the procedural motion dataset (11 classes)",
        description="Write the procedural motion dataset as a class tree.",
    )
    s.add_argument("--out", required=True, help="folder to create (absent or empty)")
    s.add_argument("--per-class", type=int, required=True, help="videos per class (>= 1)")
    s.add_argument(
        "--frames",
        default="40-120",
        help="frames per video: N, or A-B for a random count in [A, B] (default 40-120)",
    )
    s.add_argument(
        "--size", default=None, help="frame size WxH (default: a random size per video, 96 to 320 px)"
    )
    s.add_argument(
        "--fps", type=float, default=None, help="frame rate (default: a random rate per video, 10 to 30)"
    )
    s.add_argument("--seed", type=int, default=0, help="seed (>= 0) of the whole dataset (default 0)")
    s.add_argument(
        "--classes",
        default=None,
        help="comma-separated classes to write (default: all); each video is the one a full run writes",
    )
    s.add_argument(
        "--codec",
        default=None,
        help="FFmpeg encoder, e.g. libx264, mpeg4, ffv1 (default: H.264, MPEG-4 Part 2 for odd sizes)",
    )
    s.add_argument("--json", action="store_true", help="print one JSON summary object as the last line")
    t = commands.add_parser(
        "left-right",
        help="write one video whose object moves left, then right",
        description="Write one video whose object moves left for its first "
        "half and right for its second (a streaming check).",
    )
    _one_video_arguments(t)
    still = commands.add_parser(
        "still",
        help="write one video in which nothing moves (no_motion)",
        description="Write one video of a still scene: camera jitter, sensor noise and "
        "small drifting distractors only (a streaming check for no_motion).",
    )
    _one_video_arguments(still)
    tl = commands.add_parser(
        "timeline",
        help="write untrimmed videos passing through random sequences of the classes",
        description="Write untrimmed videos: one scene each, passing through segments of 1-5 s, "
        "each one class (no_motion included), with <video>.segments.csv beside each video.",
    )
    tl.add_argument("--out", required=True, help="folder to create (absent or empty)")
    tl.add_argument("--videos", type=int, required=True, help="number of videos (>= 1)")
    tl.add_argument(
        "--seconds", default="10-60", help="length: S, or A-B for a random length in [A, B] s (default 10-60)"
    )
    tl.add_argument("--size", default=None, help="frame size WxH (default: a random size per video)")
    tl.add_argument(
        "--fps", type=float, default=None, help="frame rate (default: 15, 24, 25 or 30 per video)"
    )
    tl.add_argument("--seed", type=int, default=0, help="seed (>= 0) (default 0)")
    tl.add_argument("--codec", default=None, help="FFmpeg encoder (default: H.264)")
    tl.add_argument("--json", action="store_true", help="print one JSON summary object as the last line")
    return p


def _one_video_arguments(p) -> None:
    """The options of the commands that write one streaming-check video (left-right, still)."""
    p.add_argument("--out", required=True, help="video file to write (.mp4, .avi, .mkv, ...)")
    p.add_argument("--frames", type=int, default=200, help="frames (default 200: 8 s at 25 fps)")
    p.add_argument("--size", default="320x240", help="frame size WxH (default 320x240)")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate (default 25)")
    p.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON summary object as the last line")


def check_one_video_args(args, min_frames: int) -> tuple[int, int]:
    """The frame size of a one-video command, after checking its frames, rate and seed."""
    size = parse_size(args.size)
    if args.frames < min_frames or args.frames > MAX_FRAMES:
        raise UsageError(f"--frames must be in [{min_frames}, {MAX_FRAMES}], got {args.frames}")
    if not args.fps > 0:
        raise UsageError(f"--fps must be > 0, got {args.fps}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    return size


def run_left_right(args) -> dict:
    size = check_one_video_args(args, 16)
    started = time.perf_counter()
    try:
        video, turn = synth.render_left_then_right(
            args.seed, synth.VideoSpec(size[0], size[1], args.frames, args.fps)
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    write_video(args.out, video, args.fps)
    segments = [Segment(0, turn + 1, "moving_left"), Segment(turn + 1, args.frames, "moving_right")]
    write_segments(segments_path(args.out), segments)
    return {
        "out": str(args.out),
        "segments": segments_path(args.out),
        "frames": args.frames,
        "fps": args.fps,
        "left": [0, turn],
        "right": [turn + 1, args.frames - 1],
        "seconds": round(time.perf_counter() - started, 2),
    }


def run_still(args) -> dict:
    size = check_one_video_args(args, 1)
    started = time.perf_counter()
    video = synth.render_video(
        "no_motion", args.seed, synth.VideoSpec(size[0], size[1], args.frames, args.fps), plain=True
    )
    write_video(args.out, video, args.fps)
    write_segments(segments_path(args.out), [Segment(0, args.frames, "no_motion")])
    return {
        "out": str(args.out),
        "segments": segments_path(args.out),
        "frames": args.frames,
        "fps": args.fps,
        "seconds": round(time.perf_counter() - started, 2),
    }


def parse_seconds(text: str) -> tuple[float, float]:
    try:
        parts = [float(v) for v in text.split("-")] if text.count("-") <= 1 else []
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not 0 < parts[0] <= parts[1] <= 3600:
        raise UsageError(f"--seconds must be S or A-B with 0 < A <= B <= 3600, got {text!r}")
    return parts[0], parts[1]


def run_timeline(args) -> dict:
    seconds = parse_seconds(args.seconds)
    size = parse_size(args.size)
    if args.videos < 1:
        raise UsageError(f"--videos must be >= 1, got {args.videos}")
    if args.fps is not None and not 0 < args.fps <= 240:
        raise UsageError(f"--fps must be in (0, 240], got {args.fps}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if args.codec is not None and not encoder_available(args.codec):
        raise UsageError(f"--codec {args.codec}: no such encoder here")
    out = Path(args.out)
    scratch = scratch_folder(out)
    started = time.perf_counter()
    total_s, counts = 0.0, dict.fromkeys(synth.CLASSES, 0)
    width = len(str(args.videos - 1))
    try:
        for k in range(args.videos):
            rng = np.random.default_rng([args.seed, k])
            w, h = size or timeline.TIMELINE_SIZES[rng.integers(len(timeline.TIMELINE_SIZES))]
            fps = float(args.fps or timeline.TIMELINE_FPS[rng.integers(len(timeline.TIMELINE_FPS))])
            frames = max(1, int(round(rng.uniform(*seconds) * fps)))
            tl = timeline.Timeline(rng, w, h, frames, fps).build_scene(rng)
            name = scratch / f"timeline_{k:0{width}d}.mp4"
            # each frame's sensor noise from its own seed: the frames are a pure function of i
            lazy = LazyFrames(
                frames, h, w, lambda i, tl=tl, k=k: tl.frame(i, np.random.default_rng([args.seed, k, i]))
            )
            write_video(name, lazy, fps, args.codec)
            write_segments(segments_path(name), tl.segments)
            total_s += frames / fps
            for seg in tl.segments:
                counts[seg.label] += seg.end - seg.start
            print(
                f"{PROG}: {name.name}: {w}x{h}, {frames} frames at {fps:g} fps, {len(tl.segments)} segments "
                f"({k + 1}/{args.videos})",
                file=sys.stderr,
                flush=True,
            )
        (scratch / "classes.txt").write_text("\n".join(synth.CLASSES) + "\n", encoding="utf-8")
        if out.is_dir():
            out.rmdir()
        os.replace(scratch, out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return {
        "out": str(out),
        "videos": args.videos,
        "minutes": round(total_s / 60, 2),
        "frames_per_class": counts,
        "seconds": round(time.perf_counter() - started, 2),
    }


# --------------------------------------------------------------------------- argument checks


def parse_frames(text: str) -> tuple[int, int]:
    """``"N"`` or ``"A-B"`` -> (A, B) with 1 <= A <= B."""
    low, sep, high = text.partition("-")
    try:
        bounds = (int(low), int(high) if sep else int(low))
    except ValueError:
        raise UsageError(f"--frames {text!r} is not N or A-B") from None
    if not 1 <= bounds[0] <= bounds[1] <= MAX_FRAMES:
        raise UsageError(f"--frames {text!r}: need 1 <= A <= B <= {MAX_FRAMES}")
    return bounds


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"WxH"`` -> (W, H), each side in [MIN_SIDE, MAX_SIDE]."""
    if text is None:
        return None
    width, sep, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        raise UsageError(f"--size {text!r} is not WxH (e.g. 160x120)") from None
    if not sep or not all(MIN_SIDE <= side <= MAX_SIDE for side in size):
        raise UsageError(f"--size {text!r}: width and height must be {MIN_SIDE} to {MAX_SIDE}")
    return size


def check_synth_args(args) -> tuple[tuple[int, int], tuple[int, int] | None]:
    if args.per_class < 1:
        raise UsageError(f"--per-class {args.per_class}: need at least 1")
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed}: need 0 or more")
    if args.fps is not None and not 0 < args.fps <= 1000:
        raise UsageError(f"--fps {args.fps}: need a rate above 0 and up to 1000")
    if args.codec is not None and not encoder_available(args.codec):
        raise UsageError(f"--codec {args.codec}: no such encoder in this PyAV/OpenCV build")
    return parse_frames(args.frames), parse_size(args.size)


def parse_classes(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in synth.CLASSES]
    if not names or unknown:
        raise UsageError(
            f"--classes {text!r}: {'unknown ' + ', '.join(unknown) if unknown else 'no class named'} "
            f"(classes: {', '.join(synth.CLASSES)})"
        )
    return [n for n in synth.CLASSES if n in names]


def scratch_folder(out: Path) -> Path:
    """A hidden temporary folder beside ``out`` (same file system: the final rename is atomic)."""
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise UsageError(f"--out {out} exists and is not an empty folder")
    # mkdir rather than mkdtemp: the folder gets the user's usual permissions, not 0700.
    scratch = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.partial"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        scratch.mkdir()
        return scratch
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


# --------------------------------------------------------------------------- synth


def video_seed(seed: int, class_index: int, k: int) -> int:
    """A distinct seed per (dataset seed, class, k): an injective packing, not a hash.

    ``render_video`` feeds it to ``default_rng``, whose seeding hashes it, so
    neighbouring integers still give unrelated scenes. No two videos of a
    dataset share a seed, so no video is the exact time reversal of another
    (the reversed classes are rendered from their partner's scenes).
    """
    return ((seed * 64 + class_index) << 32) | k


def render_dataset(
    folder: Path,
    per_class: int,
    frames: tuple[int, int],
    size: tuple[int, int] | None,
    fps: float | None,
    seed: int,
    codec: str | None,
    progress,
    classes: list[str] | None = None,
) -> int:
    """Write every video into ``folder`` (a class tree) and its two text files; the video count.

    ``classes`` (default all) picks some classes; a video's seed is still its class's index
    in ``synth.CLASSES``, so it is the video a full run writes.
    """
    width = len(str(per_class - 1))
    chosen = list(classes or synth.CLASSES)
    for ci, name in enumerate(synth.CLASSES):
        if name not in chosen:
            continue
        (folder / name).mkdir()
        for k in range(per_class):
            spec = synth.random_spec(np.random.default_rng([seed, ci, k]), frames, size, fps)
            video = synth.render_video(name, video_seed(seed, ci, k), spec)
            write_video(folder / name / f"{name}_{k:0{width}d}.mp4", video, spec.fps, codec)
        progress(f"{PROG}: {name}: {per_class} video(s) ({chosen.index(name) + 1}/{len(chosen)} classes)")
    from .datasets import CLASSES_FILE, FLIP_MAP_FILE  # imports torch: not needed for --help

    (folder / CLASSES_FILE).write_text("\n".join(chosen) + "\n", encoding="utf-8")
    kept_pairs = [pair for pair in synth.FLIP_PAIRS if all(name in chosen for name in pair)]
    (folder / FLIP_MAP_FILE).write_text(",".join(f"{a}:{b}" for a, b in kept_pairs) + "\n", encoding="utf-8")
    return per_class * len(chosen)


def run_synth(args) -> dict:
    frames, size = check_synth_args(args)
    classes = parse_classes(args.classes)
    out = Path(args.out)
    scratch = scratch_folder(out)
    started = time.perf_counter()
    try:
        count = render_dataset(
            scratch,
            args.per_class,
            frames,
            size,
            args.fps,
            args.seed,
            args.codec,
            lambda line: print(line, file=sys.stderr, flush=True),
            classes,
        )
        if out.is_dir():
            out.rmdir()  # empty (checked above); only POSIX renames onto an empty folder
        os.replace(scratch, out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return {
        "out": str(out),
        "videos": count,
        "classes": classes or list(synth.CLASSES),
        "flip_map": synth.FLIP_MAP,
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        run = {"synth": run_synth, "left-right": run_left_right, "still": run_still, "timeline": run_timeline}
        summary = run[args.command](args)
    except UsageError as exc:
        print_error(str(exc))
        return USAGE_EXIT
    except VmfError as exc:
        print_error(str(exc))
        return ERROR_EXIT
    except KeyboardInterrupt:
        print_error("interrupted; nothing written")
        return 130
    if args.command == "synth":
        line = (
            f"{PROG}: wrote {summary['videos']} videos of {len(summary['classes'])} classes "
            f"to {summary['out']} in {summary['seconds']:.1f} s"
        )
    elif args.command == "timeline":
        line = (
            f"{PROG}: wrote {summary['videos']} timeline videos ({summary['minutes']:.1f} min) "
            f"to {summary['out']} in {summary['seconds']:.1f} s"
        )
    elif args.command == "still":
        line = f"{PROG}: wrote {summary['out']}: {summary['frames']} frames of a still scene"
    else:
        line = (
            f"{PROG}: wrote {summary['out']}: moving left in frames {summary['left'][0]}-"
            f"{summary['left'][1]}, right in {summary['right'][0]}-{summary['right'][1]}"
        )
    if args.json:
        print(line, file=sys.stderr)
        print(json.dumps(summary), flush=True)
    else:
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
