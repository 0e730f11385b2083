"""``vmf-stream``: classify a camera, video file or stream with an exported model.

    vmf-stream --model vmf-560m_fp32.onnx --source 0                 # camera 0
    vmf-stream --model m.tflite --source clip.mp4 --hop 8 --json     # whole file, JSON summary last
    vmf-stream --model m.onnx --source clip.mp4 --realtime --output overlay.mp4
    vmf-stream --model m.onnx --source rtsp://cam/1 --reconnect --jsonl preds.jsonl   # for hours

A status line (fps, the label shown, latency) goes to stderr while it runs, so
stdout holds only the predictions, or with ``--json`` one object on its last line.
Ctrl-C or SIGTERM stops within a second and prints the summary; a second
Ctrl-C exits at once. See docs/streaming.md.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import signal
import sys
import threading
import time

from vmf.model import VmfError
from vmf.contract import targets as registry
from vmf.model.cli import Parser, print_error, run_main

from .backends import BACKENDS, DEVICES, load_backend
from .clip_assembler import HOP, training_note
from .overlay import Display, OverlayWriter, draw_overlay
from .sources import SOURCE_TIMEOUT_S, open_source
from .stream import KEEP_PREDICTIONS, StreamOptions, StreamReport, run_stream
from .stem_reuse import open_stem_reuse
from .thread_plan import DEFAULT_SPIN, SPIN_CHOICES, apply_opencv, plan_threads

STATUS_INTERVAL_S = 0.5  # status line refresh on a terminal
STATUS_INTERVAL_PIPE_S = 5.0  # ... and when stderr is a file or a pipe (one line each)
FPS_WINDOW_FRAMES = 30  # the status fps is measured over the last second or so of a camera


def build_parser() -> argparse.ArgumentParser:
    # Defaults are spelled out in the help texts: several are "decided later" (sidecar, suffix).
    p = Parser(
        prog="vmf-stream",
        description="Classify a live or recorded video with an exported Video Mobile-Former.",
    )
    p.add_argument(
        "--model",
        required=True,
        help=f"model file ({', '.join(t.suffix for t in registry.REGISTRY.values())} with its "
        ".json sidecar, or a vmf checkpoint .pt)",
    )
    p.add_argument("--source", required=True, help="camera index, video file or URL (rtsp://...)")
    p.add_argument(
        "--hop", type=int, default=HOP, help=f"kept frames between two classifications (default {HOP})"
    )
    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default=None,
        help="inference backend (default: from the model file's suffix)",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="CPU threads for the backend (default: physical cores)"
    )
    p.add_argument("--device", choices=DEVICES, default="cpu", help="cpu (default) or cuda")
    p.add_argument(
        "--spin",
        choices=SPIN_CHOICES,
        default=DEFAULT_SPIN,
        help="may the inference pool busy-wait between operators (ONNX Runtime): on keeps a "
        "paced model fast on an idle machine, off leaves the cores to the capture on a busy one; "
        f"auto chooses from the machine's load (default {DEFAULT_SPIN}; docs/streaming.md)",
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="play a video file at its frame rate, as a camera would deliver it "
        "(frames are dropped when the loop falls behind)",
    )
    sampling = p.add_mutually_exclusive_group()
    sampling.add_argument(
        "--sample-fps",
        type=float,
        default=None,
        help="keep frames at this rate (default: the sidecar's sample_fps, else every frame)",
    )
    sampling.add_argument("--sample-every", type=int, default=None, help="keep every n-th frame")
    p.add_argument(
        "--smooth", type=float, default=None, help="EMA weight of the newest clip's probabilities, in (0, 1]"
    )
    p.add_argument(
        "--hold",
        type=float,
        default=None,
        metavar="SCORE",
        help="keep showing the last label until a clip's top-1 scores at least SCORE, in (0, 1): "
        "less flicker between labels (docs/runtime.md); the top-5 stay the clip's own",
    )
    p.add_argument("--max-frames", type=int, default=None, help="stop after reading this many frames")
    p.add_argument("--output", default=None, help="write the video with the top-5 drawn on it (.mp4/.avi)")
    p.add_argument("--display", action="store_true", help="show the annotated video in a window")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON summary object as the last line; on a file read whole it lists every "
        "prediction (spooled to a temporary file meanwhile, not held in memory), on a live "
        f"source the newest {KEEP_PREDICTIONS}",
    )
    p.add_argument(
        "--jsonl",
        metavar="FILE",
        default=None,
        help="write each prediction (and source event) as one JSON line as it happens, "
        "to FILE or - (stdout); the summary keeps only the newest "
        f"{KEEP_PREDICTIONS} predictions then",
    )
    p.add_argument(
        "--source-timeout",
        type=float,
        default=SOURCE_TIMEOUT_S,
        metavar="S",
        help=f"report a camera/URL that delivers no frame for S seconds (default {SOURCE_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--reconnect",
        action="store_true",
        help="reopen a lost camera/URL with backoff (0.5 s doubling to 10 s) instead of ending",
    )
    p.add_argument(
        "--no-stem-reuse",
        action="store_true",
        help="run the full model every hop even when the model card has split halves",
    )
    return p


class StatusLine:
    """fps, the label shown (the last top-1, or under --hold the held one) and latency on stderr;
    rewritten in place on a terminal."""

    def __init__(self, stream=None):
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._interval = STATUS_INTERVAL_S if self._tty else STATUS_INTERVAL_PIPE_S
        self._last_write = time.perf_counter()
        self._arrivals: collections.deque[float] = collections.deque(maxlen=FPS_WINDOW_FRAMES)
        self._written = False

    @staticmethod
    def text(fps: float | None, prediction) -> str:
        rate = f"{fps:5.1f} fps" if fps is not None else "  --  fps"
        if prediction is None:
            return f"{rate} | filling the clip buffer"
        held = " (held)" if prediction.held else ""  # --hold: the shown label is an earlier clip's
        return (
            f"{rate} | frame {prediction.frame_index} | {prediction.label} {prediction.score:.1%}{held}"
            f" | inference {prediction.inference_ms:.0f} ms, end-to-end {prediction.end_to_end_ms:.0f} ms"
        )

    @property
    def fps(self) -> float | None:
        """Frames per second over the last ``FPS_WINDOW_FRAMES`` frames."""
        if len(self._arrivals) < 2 or self._arrivals[-1] <= self._arrivals[0]:
            return None
        return (len(self._arrivals) - 1) / (self._arrivals[-1] - self._arrivals[0])

    def update(self, prediction) -> None:
        now = time.perf_counter()
        self._arrivals.append(now)
        if now - self._last_write < self._interval:
            return
        self._last_write = now
        line = self.text(self.fps, prediction)
        self._stream.write(f"\r\x1b[2K{line}" if self._tty else line + "\n")
        self._stream.flush()
        self._written = True

    def finish(self) -> None:
        if self._written and self._tty:
            self._stream.write("\n")
            self._stream.flush()


def _print_prediction(prediction) -> None:
    top = ", ".join(f"{label} {score:.3f}" for label, score in prediction.top)
    if prediction.shown is not None:  # --hold: the shown label first, then the clip's own top-5
        held = " (held)" if prediction.held else ""
        top = f"shown {prediction.label} {prediction.score:.3f}{held} | {top}"
    print(f"frame {prediction.frame_index} ({prediction.timestamp_s:.2f} s): {top}", flush=True)


def _print_summary(report: StreamReport, out=None) -> None:
    out = out or sys.stdout
    d = report.to_dict()
    lat = d["latency_ms"]

    def fmt(stats):
        if stats["p50"] is None:
            return "n/a"
        return f"p50 {stats['p50']:.1f} / p90 {stats['p90']:.1f} / p99 {stats['p99']:.1f} / mean {stats['mean']:.1f} ms"

    left = f", {d['frames_unprocessed']} left unprocessed at stop" if d["frames_unprocessed"] else ""
    print(
        f"{d['device']}: {d['frames_read']} frames read, {d['frames_dropped']} dropped{left}, "
        f"{d['inferences']} clips classified ({d['hops_skipped']} hops skipped)",
        file=out,
    )
    print(
        f"preprocess {fmt(lat['preprocess'])}; inference {fmt(lat['inference'])}; "
        f"end-to-end {fmt(lat['end_to_end'])}",
        file=out,
    )
    tp = d["throughput"]
    if tp["clips_per_s"] is not None:
        print(f"{tp['clips_per_s']:.2f} clips/s, {tp['frames_per_s']:.1f} frames/s", file=out)
    if report.thread_plan is not None:
        from .thread_plan import ThreadPlan

        print(ThreadPlan(**report.thread_plan).describe(), file=out)
    if report.stem_reuse is not None:
        r = report.stem_reuse
        print(
            f"stem reuse ({r['split']}): {r['stem_frames_computed']} stem frames computed, "
            f"{r['stem_frames_reused']} reused",
            file=out,
        )
    src = d["source"]
    if src["stalls"] or src["reconnects"] or src["lost"] or d["buffer_restarts"]:
        print(
            f"source: {src['stalls']} stalls, {src['reconnects']} reconnects, "
            f"{d['buffer_restarts']} clip restarts{', lost at the end' if src['lost'] else ''}",
            file=out,
        )
    if d["stopped"]:
        print(
            "stopped on request"
            + ("" if d["capture_released"] else "; the capture is released when its blocked read returns"),
            file=out,
        )


class _JsonLines:
    """Predictions and source events as JSON lines, written (and flushed) as they happen."""

    def __init__(self, target: str):
        self._lock = threading.Lock()
        self._file = sys.stdout if target == "-" else self._open(target)
        self._owned = target != "-"

    @staticmethod
    def _open(target: str):
        try:
            return open(target, "a", buffering=1)
        except OSError as exc:
            raise VmfError(f"cannot write --jsonl {target} ({exc.strerror})") from None

    def write(self, record: dict) -> None:
        with self._lock:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def prediction(self, prediction) -> None:
        self.write(
            {
                "type": "prediction",
                **prediction.to_dict(),
                "inference_ms": round(prediction.inference_ms, 3),
                "end_to_end_ms": round(prediction.end_to_end_ms, 3),
            }
        )

    def close(self) -> None:
        if self._owned:
            self._file.close()


class _StopSignals:
    """SIGINT/SIGTERM set ``stop`` (the stream ends within a second, summary printed);
    a second SIGINT exits at once. Before the stream runs (loading the model, opening
    the source) they interrupt at once (KeyboardInterrupt)."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.streaming = False
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if not self.streaming:
            raise KeyboardInterrupt
        if self.stop.is_set() and signum == signal.SIGINT:
            sys.stderr.write("\ninterrupted again: exiting now\n")
            sys.stderr.flush()
            os._exit(130)
        self.stop.set()

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


def run(args: argparse.Namespace) -> StreamReport:
    stop = threading.Event()
    with _StopSignals(stop) as signals:
        return _run(args, stop, signals)


def _run(args: argparse.Namespace, stop: threading.Event, signals: "_StopSignals") -> StreamReport:
    _quiet_opencv()
    options = StreamOptions(
        hop=args.hop,
        sample_every=args.sample_every,
        sample_fps=args.sample_fps,
        smooth=args.smooth,
        hold=args.hold,
        stem_reuse=False,
    )  # opened below, before the source
    if args.max_frames is not None and args.max_frames < 1:
        raise VmfError(f"--max-frames must be >= 1, got {args.max_frames}")
    if args.source_timeout is not None and not args.source_timeout > 0:
        raise VmfError(f"--source-timeout must be > 0 seconds, got {args.source_timeout}")
    if args.jsonl == "-" and args.json:
        raise VmfError("--jsonl - and --json both want stdout; write the lines to a file")
    plan = plan_threads(args.threads, spin=args.spin)
    apply_opencv(plan)
    backend = load_backend(
        args.model, backend=args.backend, threads=plan.inference, device=args.device, spin=plan.spin
    )
    plan = plan.for_backend(backend)  # the summary says where the spin setting did nothing
    # Before the source is opened: a broken split artifact is reported without touching a camera.
    stem_reuse = None if args.no_stem_reuse else open_stem_reuse(backend)
    if args.hop > int(backend.meta["frames"]):
        raise VmfError(
            f"--hop {args.hop} is larger than the model's clip of "
            f"{backend.meta['frames']} frames: frames between clips would never be seen"
        )
    note = training_note(backend.meta)  # once, before the stream: what the model was trained on
    if note is not None:
        print(note, file=sys.stderr, flush=True)
    lines = _JsonLines(args.jsonl) if args.jsonl else None

    def on_event(event):
        print(
            f"source: {event['event']} ({', '.join(f'{k} {v}' for k, v in event.items() if k not in ('event', 'source'))})",
            file=sys.stderr,
            flush=True,
        )
        if lines is not None:
            lines.write({"type": "source_event", **event})

    display = Display() if args.display else None
    try:
        source = open_source(
            args.source,
            realtime=args.realtime,
            max_frames=args.max_frames,
            reconnect=args.reconnect,
            source_timeout=args.source_timeout,
            on_event=on_event,
        )
    except BaseException:  # VmfError, or Ctrl-C while a URL does not answer
        if lines is not None:
            lines.close()
        raise
    if args.json and not args.jsonl and not source.live:
        # --json on a file lists every prediction, as it always did; spooled, not held.
        options = dataclasses.replace(options, all_predictions=True)
    writer = OverlayWriter(args.output, source.fps) if args.output else None
    status = StatusLine()

    def on_frame(frame, prediction):
        status.update(prediction)
        if writer is None and display is None:
            return
        canvas = draw_overlay(frame.image, prediction, status.text(status.fps, prediction))
        if writer is not None:
            writer.write(canvas)
        if display is not None and not display.show(canvas):
            stop.set()

    if lines is not None:
        on_prediction = lines.prediction
    else:
        on_prediction = None if args.json else _print_prediction
    ok = False
    try:
        signals.streaming = True
        report = run_stream(
            source,
            backend,
            options,
            on_frame=on_frame,
            stop=stop,
            on_prediction=on_prediction,
            thread_plan=plan,
            stem_reuse=stem_reuse,
        )
        ok = True
    finally:
        status.finish()
        if writer is not None:
            writer.close(keep=ok)
        if display is not None:
            display.close()
    if lines is not None:
        if args.jsonl == "-":
            lines.write({"type": "summary", **report.to_dict()})
        lines.close()
    return report


def _quiet_opencv() -> None:
    """OpenCV logs its own warnings on stderr (e.g. V4L2 probing); errors reach the user as VmfError."""
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # builds without the utils.logging binding
        pass


def main(argv=None) -> int:
    return run_main(lambda: _main(argv))


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = run(args)
    except KeyboardInterrupt:  # before the stream started (loading, opening the source)
        print_error("interrupted before the stream started")
        return 130
    if args.json:
        report.write_json(sys.stdout)
    elif args.jsonl == "-":
        _print_summary(report, sys.stderr)  # stdout is JSON lines only
    else:
        _print_summary(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
