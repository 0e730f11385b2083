"""Does a long file stay flat in memory through ``vmf-stream``?

Writes an N-frame video (a moving disc, small frames so decoding is cheap), exports a
short-clip model (seeded weights; the figure is about memory, not predictions), runs
``vmf-stream --source FILE --hop H`` in a child process without ``--json`` and samples the
child's RSS (``/proc/PID/status``, VmRSS) every 0.2 s. Reports the RSS a quarter of the way through the run (by
wall time), the highest RSS after that, and the growth between them (no ``--jsonl``: a run that writes
its predictions out keeps fewer of them): a file source keeps a bounded history (docs/streaming.md,
"Bounded memory"), so the growth should not scale with the number of predictions.

    python scripts/file_stream_memory.py --frames 8000 --hop 1 --clip-frames 16
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def write_video(path: Path, frames: int, size=(160, 120), fps=30.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    w, h = size
    for i in range(frames):
        frame = np.full((h, w, 3), 40, np.uint8)
        x = int((i * 3) % (w - 20)) + 10
        cv2.circle(frame, (x, h // 2), 8, (220, 200, 60), -1)
        writer.write(frame)
    writer.release()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=8000)
    p.add_argument("--hop", type=int, default=1)
    p.add_argument("--clip-frames", type=int, default=16)
    p.add_argument("--resolution", type=int, default=112)
    args = p.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="vmf-file-memory-") as tmp:
        tmp = Path(tmp)
        video = tmp / "long.mp4"
        write_video(video, args.frames)
        subprocess.run(
            [
                str(bin_dir / "vmf-export"),
                "--variant",
                "560M",
                "--target",
                "onnx",
                "--frames",
                str(args.clip_frames),
                "--resolution",
                str(args.resolution),
                "--out",
                str(tmp / "m"),
            ],
            check=True,
            capture_output=True,
        )
        model = next((tmp / "m").rglob("*.onnx"))
        child = subprocess.Popen(
            [
                str(bin_dir / "vmf-stream"),
                "--model",
                str(model),
                "--source",
                str(video),
                "--hop",
                str(args.hop),
                "--threads",
                "1",
            ],
            stdout=(tmp / "stdout.txt").open("w"),  # a pipe nobody reads would fill and block it
            stderr=subprocess.DEVNULL,
        )
        samples = []  # (seconds since start, rss MB)
        started = time.monotonic()
        while child.poll() is None:
            rss = rss_mb(child.pid)
            if rss is not None:
                samples.append((time.monotonic() - started, rss))
            time.sleep(0.2)
        if child.returncode != 0 or not samples:
            print(f"error: vmf-stream exited {child.returncode}", file=sys.stderr)
            return 1
        at_quarter = next(i for i, (t, _) in enumerate(samples) if t >= samples[-1][0] / 4)
        quarter = samples[at_quarter][1]
        # the highest RSS after it, not the last sample: that one may fall in the teardown
        later = max(rss for _, rss in samples[at_quarter:])
        growth = later - quarter
        print(
            f"{args.frames} frames, hop {args.hop}, {args.clip_frames}-frame model: "
            f"RSS {quarter:.1f} MB a quarter of the way through, at most {later:.1f} MB after that: "
            f"{growth:+.1f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
