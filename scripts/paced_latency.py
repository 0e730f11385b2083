"""Latency of a model run back to back vs once every GAP seconds, as a stream runs it.

A stream classifies one clip per hop (every 267 ms at hop 8 and 30 fps) and the cores
sleep in between; `vmf-bench` runs clips back to back. This shows what that idle time
costs on a machine (docs/streaming.md, "Measured figures").

python scripts/paced_latency.py exports/tflite/vmf-560m_r112_fp32.tflite --backend tflite
python scripts/paced_latency.py m.onnx --backend onnxruntime --spin off --gap 0.24
"""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--backend", default=None, help="default: the one the suffix implies")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--spin", choices=("on", "off"), default="on", help="ONNX Runtime spin-wait")
    p.add_argument("--gap", type=float, default=0.24, help="seconds between paced runs")
    p.add_argument("--runs", type=int, default=40, help="timed runs per block")
    p.add_argument("--blocks", type=int, default=2, help="alternating back-to-back/paced pairs")
    args = p.parse_args(argv)

    import numpy as np

    from vmf.runtime.backends import load_backend

    backend = load_backend(args.model, backend=args.backend, threads=args.threads, spin=args.spin == "on")
    clip = np.random.default_rng(0).standard_normal(backend.meta["input_shape"]).astype(np.float32)
    for _ in range(5):
        backend.run(clip)

    def block(gap: float) -> float:
        times = []
        for _ in range(args.runs):
            if gap:
                time.sleep(gap)
            start = time.perf_counter()
            backend.run(clip)
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)

    print(f"{args.model} | {backend.device}")
    for _ in range(args.blocks):
        for gap in (0.0, args.gap):
            label = "back to back" if not gap else f"every {gap * 1e3:.0f} ms"
            print(f"  {label:>14}: p50 {block(gap):7.2f} ms ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
