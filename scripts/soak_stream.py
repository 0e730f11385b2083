"""Soak test: does a live stream hold up for ``--minutes``? RSS, drops, skips and latency each minute.

Runs the real streaming loop (``run_stream``: capture thread, preprocessing,
inference worker, the thread plan, stem reuse when the model card has a split)
on a synthetic live camera of 640x480 at 30 fps that drops frames when the loop
lags, for as long as asked, and prints one line per minute:

    minute  RSS MB  (+ since minute 1)  frames  dropped  hops  skipped  inference p50/p99  end-to-end p50/p99

Memory must stay flat after the first minute (docs/streaming.md, "Bounded
memory"): the report keeps the newest predictions and fixed-size latency
statistics only. The last line says whether RSS grew by more than
``--max-growth-mb`` after minute 1 (exit status 1 if so).

    python scripts/soak_stream.py --minutes 30 --model exports/onnx/vmf-560m_fp32.onnx
    python scripts/soak_stream.py --minutes 2          # exports VMF-560M (random weights) first
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from vmf.model import VmfError
from vmf.runtime.backends import load_backend
from vmf.runtime.latency import summarize
from vmf.runtime.sources import SyntheticLiveSource
from vmf.runtime.stream import StreamOptions, StreamReport, run_stream
from vmf.runtime.thread_plan import apply_opencv, plan_threads

SCENE_FRAMES = 16  # distinct frames the synthetic camera cycles through


def prepare_model(variant: str, work_dir: Path, log) -> Path:
    from vmf.export import export

    report = export(
        variant, targets=("onnx",), precisions=("fp32",), out_dir=work_dir, verify=False, log=log, warn=log
    )
    return next(a.path for a in report.artifacts if a.target == "onnx")


class MinuteLog:
    """Collects per-prediction latencies for the current minute; prints one line per minute."""

    def __init__(self, report: StreamReport, source: SyntheticLiveSource, out=sys.stdout):
        self.report, self.source, self.out = report, source, out
        self.process = psutil.Process()
        self._lock = threading.Lock()
        self._inference: list[float] = []
        self._end_to_end: list[float] = []
        self.rows: list[dict] = []
        self._last = {"frames": 0, "dropped": 0, "hops": 0, "skipped": 0}

    def on_prediction(self, prediction) -> None:
        with self._lock:
            self._inference.append(prediction.inference_ms)
            self._end_to_end.append(prediction.end_to_end_ms)

    def tick(self, minute: int) -> dict:
        with self._lock:
            inference, self._inference = self._inference, []
            end_to_end, self._end_to_end = self._end_to_end, []
        now = {
            "frames": self.source.frames_read,
            "dropped": self.source.frames_dropped,
            "hops": self.report.hops_due,
            "skipped": self.report.hops_skipped,
        }
        delta = {k: now[k] - self._last[k] for k in now}
        self._last = now
        rss = self.process.memory_info().rss / 2**20
        row = {
            "minute": minute,
            "rss_mb": round(rss, 1),
            **delta,
            "inference": summarize(inference),
            "end_to_end": summarize(end_to_end),
        }
        self.rows.append(row)
        growth = rss - self.rows[0]["rss_mb"]
        fmt = lambda s: "n/a" if s["p50"] is None else f"{s['p50']:.1f}/{s['p99']:.1f}"  # noqa: E731
        print(
            f"{minute:6d}  {rss:7.1f}  ({growth:+5.1f})  {delta['frames']:6d}  {delta['dropped']:7d}  "
            f"{delta['hops']:4d}  {delta['skipped']:7d}  {fmt(row['inference']):>17}  "
            f"{fmt(row['end_to_end']):>18}",
            file=self.out,
            flush=True,
        )
        return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--minutes", type=float, required=True, help="how long to stream")
    p.add_argument("--model", default=None, help="model file; default: export --variant (random weights)")
    p.add_argument("--variant", default="560M")
    p.add_argument("--backend", default=None)
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: physical cores)")
    p.add_argument("--hop", type=int, default=8)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--size", default="480x640", help="camera frame HxW")
    p.add_argument(
        "--max-growth-mb",
        type=float,
        default=10.0,
        help="allowed RSS growth from the end of minute 1 to the end",
    )
    p.add_argument(
        "--json", action="store_true", help="print the per-minute rows and the report as JSON last"
    )
    args = p.parse_args(argv)
    log = lambda *a: print(*a, file=sys.stderr)  # noqa: E731
    if not args.minutes > 0:
        print("error: --minutes must be > 0", file=sys.stderr)
        return 1
    try:
        height, width = (int(v) for v in args.size.lower().split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(args.model) if args.model else prepare_model(args.variant, Path(tmp), log)
            plan = plan_threads(args.threads)
            apply_opencv(plan)
            backend = load_backend(model, backend=args.backend, threads=plan.inference, spin=plan.spin)
            rng = np.random.default_rng(0)
            scene = rng.integers(0, 256, (SCENE_FRAMES, height, width, 3), dtype=np.uint8)
            source = SyntheticLiveSource(
                args.fps, None, (height, width), pattern=lambda k: scene[k % SCENE_FRAMES]
            )
            report = StreamReport(backend=backend.name, device=backend.device)
            minutes = MinuteLog(report, source)
            stop = threading.Event()
            print(
                f"soak: {model.name} | {backend.device} | {width}x{height} at {args.fps:g} fps, "
                f"hop {args.hop}, {args.minutes:g} min | {plan.describe()}",
                flush=True,
            )
            print(
                "minute   RSS MB  (growth)  frames  dropped  hops  skipped  inference p50/p99  "
                "end-to-end p50/p99",
                flush=True,
            )

            def clock():
                started = time.perf_counter()
                total = int(np.ceil(args.minutes))
                for minute in range(1, total + 1):
                    end = started + 60.0 * min(minute, args.minutes)
                    if stop.wait(max(0.0, end - time.perf_counter())):
                        return
                    minutes.tick(minute)
                stop.set()

            ticker = threading.Thread(target=clock, name="soak-clock", daemon=True)
            ticker.start()
            run_stream(
                source,
                backend,
                StreamOptions(hop=args.hop),
                stop=stop,
                on_prediction=minutes.on_prediction,
                thread_plan=plan,
                report=report,
            )
            stop.set()
            ticker.join()
    except VmfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = minutes.rows
    growth = rows[-1]["rss_mb"] - rows[0]["rss_mb"] if rows else 0.0
    ok = growth <= args.max_growth_mb
    d = report.to_dict()
    lat = d["latency_ms"]
    print(
        f"total: {d['frames_read']} frames, {d['frames_dropped']} dropped, {d['inferences']} clips, "
        f"{d['hops_skipped']} hops skipped; inference p50 {lat['inference']['p50']} / p99 "
        f"{lat['inference']['p99']} ms, end-to-end p50 {lat['end_to_end']['p50']} / p99 "
        f"{lat['end_to_end']['p99']} ms"
    )
    if d["stem_reuse"]:
        print(
            f"stem reuse: {d['stem_reuse']['stem_frames_computed']} computed, "
            f"{d['stem_reuse']['stem_frames_reused']} reused"
        )
    print(
        f"RSS growth after minute 1: {growth:+.1f} MB ({'ok' if ok else 'FAILED'}: "
        f"limit {args.max_growth_mb:g} MB)"
    )
    if args.json:
        d.pop("predictions")
        print(json.dumps({"rows": rows, "report": d, "rss_growth_mb": round(growth, 1)}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
