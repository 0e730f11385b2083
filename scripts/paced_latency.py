"""Why a paced clip is slower than back to back: latency against the idle gap before it.

A stream classifies one clip per hop (every 267 ms at hop 8 and 30 fps) and the cores
sleep in between; `vmf-bench` runs clips back to back (`vmf-bench --paced` times both).
This probes what the idle time costs and what brings it back, in one process:

- ``--gaps``: the median latency after each idle gap (seconds, 0 = back to back), so
  the gap at which the slowdown appears says how long the lost state lasts;
- ``--pre-spin S``: the same gaps, with every core busy-waiting for the last S seconds
  before each clip (if the slowdown were thread pools parking or the CPU clocking down,
  this would remove it);
- ``--prewarm``: the same gaps, with an untimed run of the model right before each
  timed one (if the slowdown were caches losing the model's weights and buffers, this
  would remove it, at twice the compute).

docs/performance.md, "Paced runs", reports what this found.

    python scripts/paced_latency.py m.onnx --backend onnxruntime --pre-spin 0.03 --prewarm
    python scripts/paced_latency.py m.tflite --gaps 0 0.267
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time


def busy_until(deadline: float, cores: int) -> None:
    """Keep ``cores`` cores busy until ``deadline`` (perf_counter seconds)."""
    import numpy as np

    stop = threading.Event()

    def spin() -> None:  # numpy releases the GIL, so each thread holds a core
        a = np.ones(4096, np.float32)
        out = np.empty_like(a)
        while not stop.is_set():
            np.multiply(a, a, out=out)

    helpers = [threading.Thread(target=spin, daemon=True) for _ in range(cores - 1)]
    for helper in helpers:
        helper.start()
    while time.perf_counter() < deadline:
        pass
    stop.set()
    for helper in helpers:
        helper.join()


def timed_after_gap(run, gap: float, runs: int, pre_spin: float, cores: int, prewarm: bool) -> float:
    """Median ms of ``run()`` timed ``runs`` times, each after ``gap`` seconds idle."""
    times = []
    for _ in range(runs):
        due = time.perf_counter() + gap
        if pre_spin and gap:
            time.sleep(max(0.0, gap - pre_spin))
            busy_until(due, cores)
        elif gap:
            time.sleep(gap)
        if prewarm:
            run()
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="an exported model (its sidecar says what it is)")
    p.add_argument("--backend", default=None, help="default: the one the suffix implies")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--spin", choices=("on", "off"), default="on", help="ONNX Runtime spin-wait")
    p.add_argument(
        "--gaps",
        type=float,
        nargs="+",
        default=[0.0, 0.01, 0.03, 0.1, 0.267],
        help="idle seconds before each clip (default: 0 0.01 0.03 0.1 0.267)",
    )
    p.add_argument(
        "--pre-spin", type=float, default=0.0, help="also: busy-wait every core this long before each clip"
    )
    p.add_argument("--prewarm", action="store_true", help="also: an untimed run right before each timed one")
    p.add_argument("--runs", type=int, default=20, help="timed runs per gap and mode (default 20)")
    args = p.parse_args(argv)
    if args.runs < 1 or args.threads < 1 or any(g < 0 for g in args.gaps) or args.pre_spin < 0:
        print("error: --runs and --threads must be >= 1, --gaps and --pre-spin >= 0", file=sys.stderr)
        return 2

    import numpy as np

    from vmf.model import VmfError
    from vmf.runtime.backends import load_backend

    try:
        backend = load_backend(args.model, backend=args.backend, threads=args.threads, spin=args.spin == "on")
    except VmfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    clip = np.random.default_rng(0).standard_normal(backend.meta["input_shape"]).astype(np.float32)
    for _ in range(5):
        backend.run(clip)

    def run():
        backend.run(clip)

    modes = [("idle", 0.0, False)]
    if args.pre_spin:
        modes.append((f"cores busy {args.pre_spin * 1e3:.0f} ms before", args.pre_spin, False))
    if args.prewarm:
        modes.append(("untimed run before", 0.0, True))
    print(f"{args.model} | {backend.device} | {args.threads} threads | median of {args.runs} runs")
    base = timed_after_gap(run, 0.0, args.runs, 0.0, args.threads, False)
    print(f"  back to back: {base:7.2f} ms")
    for label, pre_spin, prewarm in modes:
        cells = []
        for gap in (g for g in args.gaps if g):
            ms = timed_after_gap(run, gap, args.runs, pre_spin, args.threads, prewarm)
            cells.append(f"{gap * 1e3:.0f} ms: {ms:.2f} ({ms / base:.2f}x)")
        print(f"  after a gap, {label}: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
