"""``vmf-stream``: classify a camera, video file or stream with an exported model.

    vmf-stream --model vmf-560m_fp32.onnx --source 0                 # camera 0
    vmf-stream --model m.tflite --source clip.mp4 --hop 8 --json     # whole file, JSON summary last
    vmf-stream --model m.onnx --source clip.mp4 --realtime --output overlay.mp4

A status line (fps, last top-1, latency) goes to stderr while it runs, so
stdout holds only the predictions, or with ``--json`` one object on its last line.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import sys
import threading
import time

from vmf.model import VmfError
from vmf.model.cli import Parser, run_main

from .backends import BACKENDS, DEVICES, load_backend
from .clip_assembler import HOP
from .overlay import Display, OverlayWriter, draw_overlay
from .sources import open_source
from .stream import StreamOptions, StreamReport, run_stream

STATUS_INTERVAL_S = 0.5  # status line refresh on a terminal
STATUS_INTERVAL_PIPE_S = 5.0  # ... and when stderr is a file or a pipe (one line each)
FPS_WINDOW_FRAMES = 30  # the status fps is measured over the last second or so of a camera


def build_parser() -> argparse.ArgumentParser:
    # Defaults are spelled out in the help texts: several are "decided later" (sidecar, suffix).
    p = Parser(
        prog="vmf-stream",
        description="Classify a live or recorded video with an exported Video Mobile-Former.")
    p.add_argument("--model", required=True,
                   help="model file (.onnx, .tflite, .mlpackage, .pte with its .json sidecar, "
                        "or a vmf checkpoint .pt)")
    p.add_argument("--source", required=True, help="camera index, video file or URL (rtsp://...)")
    p.add_argument("--hop", type=int, default=HOP, help=f"kept frames between two classifications (default {HOP})")
    p.add_argument("--backend", choices=list(BACKENDS), default=None,
                   help="inference backend (default: from the model file's suffix)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for the backend (default: physical cores)")
    p.add_argument("--device", choices=DEVICES, default="cpu", help="cpu (default) or cuda")
    p.add_argument("--realtime", action="store_true",
                   help="play a video file at its frame rate, as a camera would deliver it "
                        "(frames are dropped when the loop falls behind)")
    sampling = p.add_mutually_exclusive_group()
    sampling.add_argument("--sample-fps", type=float, default=None,
                          help="keep frames at this rate (default: the sidecar's sample_fps, "
                               "else every frame)")
    sampling.add_argument("--sample-every", type=int, default=None, help="keep every n-th frame")
    p.add_argument("--smooth", type=float, default=None,
                   help="EMA weight of the newest clip's probabilities, in (0, 1]")
    p.add_argument("--max-frames", type=int, default=None, help="stop after reading this many frames")
    p.add_argument("--output", default=None, help="write the video with the top-5 drawn on it (.mp4/.avi)")
    p.add_argument("--display", action="store_true", help="show the annotated video in a window")
    p.add_argument("--json", action="store_true", help="print one JSON summary object as the last line")
    return p


class StatusLine:
    """fps, last top-1 and latency on stderr; rewritten in place on a terminal."""

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
        return (f"{rate} | frame {prediction.frame_index} | {prediction.label} {prediction.score:.1%}"
                f" | inference {prediction.inference_ms:.0f} ms, end-to-end {prediction.end_to_end_ms:.0f} ms")

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
    print(f"frame {prediction.frame_index} ({prediction.timestamp_s:.2f} s): {top}", flush=True)


def _print_summary(report: StreamReport) -> None:
    d = report.to_dict()
    lat = d["latency_ms"]

    def fmt(stats):
        if stats["p50"] is None:
            return "n/a"
        return f"p50 {stats['p50']:.1f} / p90 {stats['p90']:.1f} / p99 {stats['p99']:.1f} / mean {stats['mean']:.1f} ms"

    left = f", {d['frames_unprocessed']} left unprocessed at stop" if d["frames_unprocessed"] else ""
    print(f"{d['device']}: {d['frames_read']} frames read, {d['frames_dropped']} dropped{left}, "
          f"{d['inferences']} clips classified ({d['hops_skipped']} hops skipped)")
    print(f"preprocess {fmt(lat['preprocess'])}; inference {fmt(lat['inference'])}; "
          f"end-to-end {fmt(lat['end_to_end'])}")
    tp = d["throughput"]
    if tp["clips_per_s"] is not None:
        print(f"{tp['clips_per_s']:.2f} clips/s, {tp['frames_per_s']:.1f} frames/s")


def run(args: argparse.Namespace) -> StreamReport:
    _quiet_opencv()
    options = StreamOptions(hop=args.hop, sample_every=args.sample_every,
                            sample_fps=args.sample_fps, smooth=args.smooth)
    if args.max_frames is not None and args.max_frames < 1:
        raise VmfError(f"--max-frames must be >= 1, got {args.max_frames}")
    backend = load_backend(args.model, backend=args.backend, threads=args.threads, device=args.device)
    display = Display() if args.display else None
    source = open_source(args.source, realtime=args.realtime, max_frames=args.max_frames)
    writer = OverlayWriter(args.output, source.fps) if args.output else None
    status = StatusLine()
    stop = threading.Event()

    def on_frame(frame, prediction):
        status.update(prediction)
        if writer is None and display is None:
            return
        canvas = draw_overlay(frame.image, prediction, status.text(status.fps, prediction))
        if writer is not None:
            writer.write(canvas)
        if display is not None and not display.show(canvas):
            stop.set()

    previous = signal.signal(signal.SIGINT, lambda *_: stop.set()) \
        if threading.current_thread() is threading.main_thread() else None
    ok = False
    try:
        report = run_stream(source, backend, options, on_frame=on_frame, stop=stop,
                            on_prediction=None if args.json else _print_prediction)
        ok = True
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        status.finish()
        if writer is not None:
            writer.close(keep=ok)
        if display is not None:
            display.close()
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
    report = run(args)
    if args.json:
        print(json.dumps(report.to_dict()), flush=True)
    else:
        _print_summary(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
