"""How long ``--help`` takes for every vmf command line (goal: under 1 s, no torch import).

    python benchmarks/help_time.py              # 5 runs each, median and max
    python benchmarks/help_time.py --runs 10 --json

Each run is a fresh process, timed from spawn to exit, so it includes the
interpreter's start-up, as a user typing ``vmf-bench --help`` sees it. Exit
status 1 when any median is over ``--limit`` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CLIS = ("vmf-export", "vmf-bench", "vmf-stream", "vmf-train", "vmf-eval", "vmf-data")


def command(prog: str) -> list[str]:
    """The installed entry point beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name(prog)
    found = str(beside) if beside.is_file() else shutil.which(prog)
    if found is None:
        raise SystemExit(f"error: {prog} is not installed (pip install -e .)")
    return [found, "--help"]


def time_help(prog: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            command(prog),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
        )
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    p.add_argument("--limit", type=float, default=1.0, help="seconds allowed (default 1.0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    for prog in CLIS:  # warm the file cache once, untimed
        subprocess.run(command(prog), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {}
    for prog in CLIS:
        times = time_help(prog, args.runs)
        results[prog] = {
            "median_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3),
            "runs": args.runs,
        }
    slow = [prog for prog, r in results.items() if r["median_s"] > args.limit]
    if args.json:
        print(json.dumps({"limit_s": args.limit, "results": results, "over_limit": slow}))
    else:
        for prog, r in results.items():
            mark = "OVER" if prog in slow else "ok"
            print(f"{prog:<11} --help  median {r['median_s']:.3f} s  max {r['max_s']:.3f} s  {mark}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
