"""Does ``vmf-stream`` keep up with a live 30 fps camera?

Runs the real streaming loop (capture thread, per-frame preprocessing into the
ring buffer, inference worker, hop skipping) on a synthetic live source that
delivers frames at a fixed rate and drops them when the loop lags, exactly as
a camera does, and prints what a user would want to know: frames read and
dropped, clips classified against the number the hop implies, hops skipped,
and end-to-end latency (newest frame captured -> prediction ready).

    python scripts/bench_stream.py                       # VMF-560M, 30 fps, hop 8, 2 threads
    python scripts/bench_stream.py --model vmf-560m_fp32.onnx --seconds 60 --json

Without ``--model`` it exports VMF-560M (random weights: latency does not
depend on them) to ONNX with ``vmf.export.export`` into ``--work-dir``, or,
where that API is missing, streams the PyTorch checkpoint's deployable form.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from vmf.model import VmfError
from vmf.runtime.backends import load_backend
from vmf.runtime.clip_assembler import expected_inferences
from vmf.runtime.sources import SyntheticLiveSource
from vmf.runtime.stream import StreamOptions, run_stream
from vmf.runtime.thread_plan import apply_opencv, plan_threads

SCENE_FRAMES = 16  # distinct frames cycled by the synthetic camera (generating each costs time)


def prepare_model(variant: str, work_dir: Path, log) -> Path:
    """An exported model of ``variant`` (ONNX via vmf.export), else a vmf checkpoint."""
    try:
        from vmf.export import export
    except ImportError:
        export = None
    if export is not None:
        report = export(
            variant, targets=("onnx",), precisions=("fp32",), out_dir=work_dir, verify=False, log=log
        )
        return next(a.path for a in report.artifacts if a.target == "onnx")
    from vmf.model import build_model, save_checkpoint

    log("vmf.export.export is not available: streaming the PyTorch checkpoint instead")
    return save_checkpoint(build_model(variant).eval(), work_dir / f"vmf-{variant.lower()}.pt")


def camera_frames(size: tuple[int, int], seed: int = 0):
    """A moving scene: random frames cycled, so preprocessing sees real pixel data."""
    rng = np.random.default_rng(seed)
    scene = rng.integers(0, 256, (SCENE_FRAMES, *size, 3), dtype=np.uint8)
    return lambda index: scene[index % SCENE_FRAMES]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--model", default=None, help="model file; default: export --variant")
    p.add_argument("--variant", default="560M")
    p.add_argument("--backend", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--fps", type=float, default=30.0, help="rate of the synthetic camera")
    p.add_argument("--seconds", type=float, default=20.0, help="how long the camera runs")
    p.add_argument("--hop", type=int, default=8)
    p.add_argument("--size", default="480x640", help="camera frame HxW")
    p.add_argument("--work-dir", default=None, help="where the exported model goes (default: temp)")
    p.add_argument(
        "--spin",
        choices=("auto", "on", "off"),
        default="auto",
        help="may the inference pool busy-wait (auto: the thread plan decides)",
    )
    p.add_argument(
        "--opencv-threads", type=int, default=None, help="OpenCV's pool (default: the thread plan's, 1 = off)"
    )
    p.add_argument(
        "--no-stem-reuse",
        action="store_true",
        help="run the full model every hop even when the card has split halves",
    )
    p.add_argument("--json", action="store_true", help="print the stream report as JSON last")
    args = p.parse_args(argv)
    log = lambda *a: print(*a, file=sys.stderr)  # noqa: E731
    try:
        height, width = (int(v) for v in args.size.lower().split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            work_dir = Path(args.work_dir or tmp)
            work_dir.mkdir(parents=True, exist_ok=True)
            model = Path(args.model) if args.model else prepare_model(args.variant, work_dir, log)
            plan = plan_threads(args.threads, spin=None if args.spin == "auto" else args.spin == "on")
            if args.opencv_threads is not None:
                plan = dataclasses.replace(plan, opencv=args.opencv_threads)
            apply_opencv(plan)
            backend = load_backend(model, backend=args.backend, threads=plan.inference, spin=plan.spin)
            frames = int(backend.meta["frames"])
            count = int(round(args.fps * args.seconds))
            source = SyntheticLiveSource(
                args.fps, count, (height, width), pattern=camera_frames((height, width))
            )
            log(
                f"streaming {count} frames of {width}x{height} at {args.fps:g} fps into "
                f"{model.name} ({backend.device}), hop {args.hop}"
            )
            report = run_stream(
                source,
                backend,
                StreamOptions(hop=args.hop, stem_reuse=not args.no_stem_reuse),
                thread_plan=plan,
            )
    except VmfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    d = report.to_dict()
    kept = report.frames_read - report.frames_dropped
    due = expected_inferences(report.frames_read, frames, args.hop)
    lat = d["latency_ms"]
    hop_ms = 1e3 * args.hop / args.fps
    print(
        f"model {model.name} | {d['device']} | {args.fps:g} fps camera, hop {args.hop} "
        f"({hop_ms:.0f} ms between clips), {frames}-frame clips"
    )
    print(plan.describe() + (f"; stem reuse {d['stem_reuse']['split']}" if d["stem_reuse"] else ""))
    print(
        f"frames read {report.frames_read}, dropped {report.frames_dropped}, "
        f"processed {kept} ({d['throughput']['frames_per_s']:.1f} frames/s)"
    )
    print(
        f"inferences {report.inferences} of {due} the hop implies, hops skipped "
        f"{report.hops_skipped} ({d['throughput']['clips_per_s']:.2f} clips/s)"
    )
    for name in ("preprocess", "inference", "end_to_end"):
        s = lat[name]
        if s["p50"] is not None:
            print(
                f"{name:>10} ms: p50 {s['p50']:.1f}  p90 {s['p90']:.1f}  p99 {s['p99']:.1f}  "
                f"mean {s['mean']:.1f}"
            )
    e2e = lat["end_to_end"]["p99"]
    keeps_up = report.frames_dropped == 0 and report.inferences == due and e2e is not None and e2e < hop_ms
    print(
        f"keeps up: {'yes' if keeps_up else 'no'} (criteria: no frame dropped, every hop classified, "
        f"end-to-end p99 under the {hop_ms:.0f} ms hop)"
    )
    if args.json:
        summary = {**d, "expected_inferences": due, "keeps_up": keeps_up, "model": model.name}
        summary.pop("predictions")
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
