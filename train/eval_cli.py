"""``vmf-eval``: how accurate a model is on labelled videos.

    vmf-eval --model runs/synth/best.pt --data data/synth            # every video of a class tree
    vmf-eval --model exports/onnx/vmf-560m_fp32.onnx --data data/k400 --json   # data/k400/val
    vmf-eval --model best.pt --data data/synth --shuffle-frames      # does it use frame order?
    vmf-eval --model best.pt --data data/timeline --timeline --json  # a stream over untrimmed videos

Any model the runtime loads works (checkpoint, ONNX, TFLite, ...), with the
clip contract of its own model card (``vmf.train.evaluate``). With
``--timeline`` (the default when ``--data`` holds ``*.segments.csv`` files
beside its videos) each untrimmed video is streamed through the runtime's
``Classifier`` as ``vmf-stream`` would, and windows, switches and flicker are
scored against its segments (``vmf.train.window_eval``). stdout holds
the report, or with ``--json`` only one JSON object (the report then goes to
stderr, with the progress and the warnings). A bad command line is one
``error: ...`` line on stderr and exit code 2, any other user error one line
and exit code 1 (``vmf.model.cli``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from vmf.contract import targets as registry
from vmf.model import VmfError
from vmf.model.cli import ERROR_EXIT, USAGE_EXIT, Parser, UsageError, print_error

PROG = "vmf-eval"
MAX_TEXT_CONFUSION = 20  # classes beyond which a text matrix is unreadable
PROGRESS_EVERY = 10  # videos between progress lines when stderr is not a terminal


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description="Evaluate a vmf model (checkpoint or export) on labelled "
        "videos: one uniform clip per video, the paper's protocol; or, with --timeline, "
        "as a stream over untrimmed videos with segments files.",
    )
    p.add_argument(
        "--model",
        required=True,
        help="a vmf checkpoint (.pt) or an exported model "
        f"({', '.join(t.suffix for t in registry.REGISTRY.values())}) with its sidecar",
    )
    p.add_argument(
        "--data",
        required=True,
        help="class folders (every video is evaluated), a folder with train/ and "
        "val/ (val/ is evaluated), or a 'path label' list file; with --timeline a video "
        "or a folder of videos with <video>.segments.csv beside them",
    )
    p.add_argument(
        "--timeline",
        action="store_true",
        help="window evaluation: stream each untrimmed video through the runtime as "
        "vmf-stream does and score windows, switch latency and label flicker against its "
        "segments (default when --data holds *.segments.csv files)",
    )
    p.add_argument(
        "--hop",
        type=int,
        default=None,
        help="with --timeline: kept frames between two classifications (default: vmf-stream's, 8)",
    )
    p.add_argument(
        "--smooth",
        type=float,
        default=None,
        help="with --timeline: EMA weight of the newest clip's probabilities, in (0, 1], as vmf-stream's",
    )
    p.add_argument(
        "--hold",
        type=float,
        default=None,
        metavar="SCORE",
        help="with --timeline: keep showing the last label until a window's top-1 scores at least "
        "SCORE, in (0, 1), as vmf-stream's; the figures are of the shown label",
    )
    p.add_argument("--backend", default=None, help="runtime backend (default: implied by the model's suffix)")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: cores)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument(
        "--shuffle-frames",
        action="store_true",
        help="feed each clip's frames in a random order (a fixed seed): a model that "
        "uses motion loses accuracy on direction classes",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --shuffle-frames (default 0)")
    p.add_argument(
        "--limit", type=int, default=None, help="evaluate at most N videos, evenly spread over the dataset"
    )
    p.add_argument(
        "--json", action="store_true", help="print only one JSON object on stdout (the report goes to stderr)"
    )
    p.add_argument(
        "--confusion",
        metavar="PNG",
        default=None,
        help="also draw the confusion matrix to this image (needs matplotlib)",
    )
    return p


# --------------------------------------------------------------------------- progress


class ProgressLines:
    """Progress on stderr: a tqdm bar on a terminal, else a line every few videos (for logs)."""

    def __init__(self):
        self.bar = None
        self.interactive = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.interactive:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="video", file=sys.stderr, desc=PROG)
            self.bar.update(done - self.bar.n)
        elif done % PROGRESS_EVERY == 0 or done == total:
            print(f"{PROG}: {done}/{total} videos", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def warn(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the report


def _pct(value) -> str:
    return "   -  " if value is None or value != value else f"{100 * value:5.1f} %"


def shown_classes(confusion: np.ndarray, max_classes: int = MAX_TEXT_CONFUSION) -> list[int] | None:
    """Which classes a confusion picture shows: all when few, else those that occur.

    A 400-class model evaluated on 10 classes has a 400 x 400 matrix that is
    almost all zeros; its rows and columns of classes that are a true class
    or a prediction hold every count. None when even those are too many.
    """
    if len(confusion) <= max_classes:
        return list(range(len(confusion)))
    active = np.flatnonzero(confusion.sum(0) + confusion.sum(1))
    return active.tolist() if len(active) <= max_classes else None


def confusion_text(confusion: np.ndarray, classes: list[str], shown: list[int]) -> list[str]:
    """The matrix as text: rows are true classes, columns predicted ones, by number."""
    width = max(3, len(str(int(confusion.max()))) + 1)
    name_w = max(len(classes[i]) for i in shown)
    lines = [
        "confusion matrix (rows: true class, columns: predicted, numbered as the rows)",
        " " * (name_w + 5) + "".join(f"{k:>{width}}" for k in range(len(shown))),
    ]
    for k, i in enumerate(shown):
        cells = "".join(f"{int(confusion[i, j]):>{width}}" for j in shown)
        lines.append(f"{k:>3} {classes[i]:<{name_w}} {cells}")
    return lines


def report_lines(result: dict) -> list[str]:
    """The human-readable report: headline numbers, a per-class table, the matrix."""
    confusion = np.asarray(result["confusion"])
    classes = result["classes"]
    counts = confusion.sum(1)
    order = "frames shuffled (seed %d)" % result["seed"] if result["shuffle_frames"] else "in order"
    lines = [
        f"model     {result['model']}  ({result['device']})",
        f"data      {result['data']}  [{result['split']}]: {result['n']} videos evaluated"
        + (f", {result['skipped']} skipped (undecodable)" if result["skipped"] else ""),
        f"clip      {result['frames']} frames uniformly over each video, "
        f"{result['resolution']} x {result['resolution']} {result['layout']}, {order}",
        f"speed     {result['clips_per_s']} clips/s (decoding + preprocessing + inference)",
        "",
        f"top-1                {_pct(result['top1'])}",
        f"top-5                {_pct(result['top5'])}",
        f"mean class accuracy  {_pct(result['mean_class_accuracy'])}",
        "",
    ]
    rows = [i for i in range(len(classes)) if counts[i]]
    name_w = max([len("class")] + [len(classes[i]) for i in rows])
    lines.append(f"{'class':<{name_w}}  {'videos':>6}  {'top-1':>7}")
    for i in rows:
        lines.append(
            f"{classes[i]:<{name_w}}  {int(counts[i]):>6}  {_pct(result['per_class'][classes[i]]):>7}"
        )
    shown = shown_classes(confusion)
    if shown:
        lines += [""] + confusion_text(confusion, classes, shown)
    return lines


def _score(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _latency(frames, seconds=None) -> str:
    """A switch latency quantile: frames (and seconds), or "missed" when it falls on a miss."""
    if frames is None:
        return "missed"
    return f"{frames:g} frames" + (f" ({seconds:.2f} s)" if seconds is not None else "")


def timeline_report_lines(result: dict) -> list[str]:
    """The window evaluation's report: headline figures, a per-class table, the window matrix."""
    confusion = np.asarray(result["confusion"])
    classes = result["classes"]
    counts = confusion.sum(1)
    lat, caught, lat_s = (
        result["switch_latency_frames"],
        result["switch_latency_caught_frames"],
        result["switch_latency_s"],
    )
    score = result["top1_score"]
    smooth = f", smoothed (EMA {result['smooth']:g})" if result["smooth"] else ""
    if result.get("hold"):
        smooth += f", label held until a top-1 scores {result['hold']:g}"
    lines = [
        f"model     {result['model']}  ({result['device']})",
        f"data      {result['data']}  [{result['split']}]: {result['n_videos']} timeline videos "
        f"({result['minutes']:.1f} min)"
        + (f", {result['skipped']} skipped (undecodable)" if result["skipped"] else ""),
        f"stream    clips of {result['frames']} kept frames ({result['sampling']}), every "
        f"{result['hop']} kept frames, {result['resolution']} x {result['resolution']} "
        f"{result['layout']}{smooth}: {result['n_predictions']} predictions",
        f"speed     {result['clips_per_s']} clips/s (decoding + preprocessing + inference)",
        "",
        f"window top-1         {_pct(result['window_top1'])}   "
        f"({result['n_windows']} windows wholly inside one segment)",
        f"mean class accuracy  {_pct(result['mean_class_accuracy'])}",
        f"top-1 score          p10 {_score(score['p10'])}  p50 {_score(score['p50'])}  "
        f"p90 {_score(score['p90'])}  mean {_score(score['mean'])} "
        f"(right {_score(score['mean_correct'])}, wrong {_score(score['mean_wrong'])})",
        f"switch latency       median {_latency(lat['median'], lat_s['median'])}, "
        f"p90 {_latency(lat['p90'], lat_s['p90'])}  "
        f"({result['n_boundaries']} boundaries, {result['missed_switches']} missed)",
        f"  caught only        median {_latency(caught['median'])}, p90 {_latency(caught['p90'])}",
        "label flicker        "
        + (
            f"{result['flips_per_minute']:.2f} flips per minute"
            if result["flips_per_minute"] is not None
            else "-"
        )
        + f" ({result['flips']} flips over {result['in_segment_minutes']:.1f} min inside segments)",
        "",
    ]
    rows = [i for i in range(len(classes)) if counts[i]]
    name_w = max([len("class")] + [len(classes[i]) for i in rows])
    lines.append(f"{'class':<{name_w}}  {'windows':>7}  {'top-1':>7}")
    for i in rows:
        lines.append(
            f"{classes[i]:<{name_w}}  {int(counts[i]):>7}  {_pct(result['per_class'][classes[i]]):>7}"
        )
    shown = shown_classes(confusion) if counts.sum() else None
    if shown:
        lines += [""] + confusion_text(confusion, classes, shown)
    return lines


def draw_confusion(result: dict, path: Path) -> None:
    """The matrix as a picture (the occurring classes when the model has many)."""
    from .plots import plot_confusion

    confusion = np.asarray(result["confusion"])
    shown = shown_classes(confusion, max_classes=60) or list(range(len(confusion)))
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_confusion(confusion[np.ix_(shown, shown)], [result["classes"][i] for i in shown], path, warn)


# --------------------------------------------------------------------------- main


def timeline_mode(args) -> bool:
    """Whether to run the window evaluation: ``--timeline``, or segments files found in ``--data``.

    Options of one mode given to the other are a usage error.
    """
    from .window_eval import has_timelines

    timeline = args.timeline or has_timelines(args.data)
    if timeline and args.shuffle_frames:
        raise UsageError("--shuffle-frames is for whole-video evaluation, not --timeline")
    if not timeline:
        for name in ("hop", "smooth", "hold"):
            if getattr(args, name) is not None:
                raise UsageError(f"--{name} is for window evaluation (--timeline)")
    if timeline and not args.timeline:
        warn(f"{args.data} holds segments files: window evaluation of its timelines (--timeline)")
    return timeline


def run(args) -> dict:
    from .evaluate import evaluate

    progress = ProgressLines()
    if args.timeline_mode:
        from .window_eval import evaluate_timelines

        try:
            return evaluate_timelines(
                args.model,
                args.data,
                backend=args.backend,
                threads=args.threads,
                device=args.device,
                hop=args.hop,
                smooth=args.smooth,
                hold=args.hold,
                limit=args.limit,
                progress=progress,
                warn=warn,
            )
        finally:
            progress.close()
    try:
        return evaluate(
            args.model,
            args.data,
            backend=args.backend,
            threads=args.threads,
            device=args.device,
            shuffle_frames=args.shuffle_frames,
            seed=args.seed,
            limit=args.limit,
            progress=progress,
            warn=warn,
        )
    finally:
        progress.close()


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.timeline_mode = timeline_mode(args)
        result = run(args)
        if args.confusion:
            draw_confusion(result, Path(args.confusion))
    except UsageError as exc:
        print_error(str(exc))
        return USAGE_EXIT
    except VmfError as exc:
        print_error(str(exc))
        return ERROR_EXIT
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print_error(f"{exc.strerror or exc}{where}")
        return ERROR_EXIT
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    report = "\n".join(timeline_report_lines(result) if args.timeline_mode else report_lines(result))
    if args.json:  # stdout holds the JSON alone, so it pipes into jq; the report goes beside it
        print(report, file=sys.stderr, flush=True)
        print(json.dumps(result), flush=True)
    else:
        print(report, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
