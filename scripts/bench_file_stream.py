"""Is a whole video file classified as fast as its parts allow?

Measures, in one process and one sitting:

1. decode + preprocess alone: every frame of the file read with OpenCV and
   preprocessed into a clip slot, on one thread, nothing else running;
2. inference alone: the model on one clip, p50 over ``--runs`` calls (what
   ``vmf-bench`` times);
3. the stream: ``run_stream`` over the file (capture thread, loop, inference
   worker, the thread plan), wall time.

"Parts allow" is ``inferences x inference p50 + frames x (decode + preprocess)``:
the time the work takes done one piece after the other. The stream overlaps
decoding with inference, so it may beat that; the ratio printed is
``parts time / stream time`` (>= 1: at least as fast as the parts allow).

    python scripts/bench_file_stream.py --model exports/onnx/vmf-560m_fp32.onnx --video clip.mp4
    python scripts/bench_file_stream.py --model m.onnx          # writes a 640x480 test video first
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vmf.contract.preprocess import FramePreprocessor
from vmf.model import VmfError
from vmf.runtime.backends import load_backend
from vmf.runtime.sources import open_source
from vmf.runtime.stream import StreamOptions, run_stream
from vmf.runtime.thread_plan import apply_opencv, plan_threads


def write_test_video(path: Path, frames: int, size=(480, 640), fps: float = 30.0) -> Path:
    """A moving random texture (real decode work, unlike flat grey frames)."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (size[0] + frames, size[1] + frames, 3), dtype=np.uint8)
    texture = cv2.GaussianBlur(texture, (7, 7), 0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size[1], size[0]))
    if not writer.isOpened():
        raise VmfError(f"OpenCV cannot write {path}")
    for k in range(frames):
        writer.write(np.ascontiguousarray(texture[k : k + size[0], k : k + size[1]]))
    writer.release()
    return path


def decode_and_preprocess_s(video: Path, meta: dict) -> tuple[float, int]:
    pre = FramePreprocessor(meta["resolution"], meta["mean"], meta["std"], meta["input_layout"])
    slot = np.empty(pre.slot_shape, np.float32)
    capture = cv2.VideoCapture(str(video))
    count, started = 0, time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        pre(frame, out=slot)
        count += 1
    elapsed = time.perf_counter() - started
    capture.release()
    if not count:
        raise VmfError(f"{video} has no frames OpenCV can read")
    return elapsed / count, count


def inference_p50_s(backend, runs: int) -> float:
    clip = np.random.default_rng(0).standard_normal(backend.input_shape).astype(np.float32)
    for _ in range(3):
        backend.run(clip)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        backend.run(clip)
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--backend", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--video", default=None, help="default: a 640x480 30 fps test video written here")
    p.add_argument("--frames", type=int, default=600, help="length of the test video")
    p.add_argument("--hop", type=int, default=8)
    p.add_argument("--runs", type=int, default=30, help="inference calls timed alone")
    p.add_argument(
        "--stem-reuse",
        action="store_true",
        help="let the stream use the card's split halves (the parts are the full model)",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            video = Path(args.video) if args.video else write_test_video(Path(tmp) / "test.mp4", args.frames)
            plan = plan_threads(args.threads)
            apply_opencv(plan)
            backend = load_backend(args.model, backend=args.backend, threads=plan.inference, spin=plan.spin)
            per_frame, frames = decode_and_preprocess_s(video, backend.meta)
            infer = inference_p50_s(backend, args.runs)
            report = run_stream(
                open_source(video),
                backend,
                StreamOptions(hop=args.hop, stem_reuse=args.stem_reuse),
                thread_plan=plan,
            )
    except VmfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    parts = report.inferences * infer + frames * per_frame
    ratio = parts / report.wall_s
    print(f"{Path(args.model).name} | {backend.device} | {plan.describe()}")
    print(
        f"decode + preprocess alone: {per_frame * 1e3:.2f} ms/frame x {frames} frames; "
        f"inference alone p50 {infer * 1e3:.2f} ms x {report.inferences} clips"
    )
    print(
        f"parts allow {parts:.2f} s; the stream took {report.wall_s:.2f} s: "
        f"{ratio:.2f}x the throughput the parts allow"
        + (f" (stem reuse: {report.stem_reuse['split']})" if report.stem_reuse else "")
    )
    if args.json:
        print(
            json.dumps(
                {
                    "decode_preprocess_ms": per_frame * 1e3,
                    "frames": frames,
                    "inference_p50_ms": infer * 1e3,
                    "inferences": report.inferences,
                    "parts_s": parts,
                    "stream_s": report.wall_s,
                    "ratio": ratio,
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
