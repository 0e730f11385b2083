"""Time exported models in one process, interleaved, through the vmf runtime backends.

    python scripts/executorch_vs_litert.py --threads 2 --rounds 5 --runs 20 \\
        exports/executorch/vmf-560m_fp32.pte exports/tflite/vmf-560m_fp32.tflite ...

Each round runs every model ``--runs`` times in turn (after a warm-up), so
drift on a shared machine hits them alike; prints each model's median and
its ratio to the first model's, plus size and the model card's parity and
delegation figures (docs/executorch.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from vmf.contract.card import read_sidecar
from vmf.runtime.backends import load_backend


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    backends = [load_backend(m, threads=args.threads) for m in args.models]
    frames, _, side, _ = (
        read_sidecar(backends[0].path)["frames"],
        3,
        read_sidecar(backends[0].path)["resolution"],
        0,
    )
    clip = np.random.default_rng(0).standard_normal((frames, 3, side, side)).astype(np.float32)
    clips = {
        b.path: np.ascontiguousarray(clip if b.meta["input_layout"] == "TCHW" else clip.transpose(0, 2, 3, 1))
        for b in backends
    }
    times: dict[Path, list[float]] = {b.path: [] for b in backends}
    for b in backends:
        for _ in range(args.warmup):
            b.run(clips[b.path])
    for _ in range(args.rounds):
        for b in backends:
            for _ in range(args.runs):
                start = time.perf_counter()
                b.run(clips[b.path])
                times[b.path].append(time.perf_counter() - start)
    first = statistics.median(times[backends[0].path])
    rows = []
    for b in backends:
        meta = read_sidecar(b.path)
        lint = meta.get("lint") or {}
        p50 = statistics.median(times[b.path])
        size = b.path.stat().st_size / 1e6
        rows.append(
            {
                "model": b.path.name,
                "device": b.device,
                "p50_ms": round(p50 * 1e3, 2),
                "ratio": round(p50 / first, 3),
                "size_mb": round(size, 1),
                "runs": len(times[b.path]),
                "parity": meta.get("parity"),
                "partitions": lint.get("partitions"),
                "delegated_ops": lint.get("delegated_ops"),
                "ops": lint.get("ops"),
            }
        )
        print(
            f"{b.path.name:34s} p50 {p50 * 1e3:8.2f} ms  x{p50 / first:5.3f}  {size:5.1f} MB  "
            f"{b.device}"
            + (
                f"  {lint['partitions']} partition(s), {lint['delegated_ops']}/{lint['ops']} ops delegated"
                if "delegated_ops" in lint
                else ""
            )
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
