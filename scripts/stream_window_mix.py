"""How mixed are the stream windows ``vmf-train --clip-sampling stream`` trains on?

    python scripts/stream_window_mix.py                    # 5500 windows, the demo's clip
    python scripts/stream_window_mix.py --frames 16 --windows 2200 --json

Draws the training set's stream windows exactly as ``vmf.train.synth_clips``
does (its ``plan_stream_window``: a timeline plan, a window of the index's class
by its majority segment), without rendering a frame, and reports how many lie
wholly inside one segment and how the share of the majority segment is spread
over the rest. A window whose majority holds little more than half its frames
is labelled by a near tie: that share says how much of the training signal is
label noise (docs/training.md, "Retraining for streams").
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

SHARE_BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def majority_share(segments, window) -> float:
    """The fraction of ``window``'s frames that lie in its largest segment."""
    starts = np.array([s.start for s in segments])
    owner = np.searchsorted(starts, np.asarray(window), side="right") - 1
    return float(np.bincount(owner).max() / len(window))


def measure(frames: int, windows: int, seed: int, sample_fps: float | None) -> dict:
    from vmf.model import MEAN, STD
    from vmf.train.synth_clips import SynthClipDataset

    data = SynthClipDataset(
        windows, frames, 32, MEAN, STD, train=True, seed=seed, clip_sampling="stream", sample_fps=sample_fps
    )
    shares = []
    for index in range(windows):
        rng = np.random.default_rng([seed, 0, index, 1])
        timeline, window, _ = data.plan_stream_window(rng, index % len(data.classes))
        shares.append(majority_share(timeline.segments, window))
    shares = np.array(shares)
    below = {f"{b:.1f}": float(np.mean(shares < b)) for b in SHARE_BINS[1:-1]}
    return {
        "frames": frames,
        "sample_fps": sample_fps,
        "windows": windows,
        "seed": seed,
        "inside_one_segment": float(np.mean(shares >= 1.0)),
        "majority_share_below": below,
        "majority_share_p10": float(np.percentile(shares, 10)),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=64, help="window length T (default 64, the demo's)")
    p.add_argument("--windows", type=int, default=5500, help="windows drawn (default 5500, 500 a class)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample-fps", type=float, help="as vmf-train --sample-fps (default: each video's rate)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    if args.frames < 1 or args.windows < 1:
        p.error("--frames and --windows must be >= 1")
    if args.sample_fps is not None and not args.sample_fps > 0:
        p.error("--sample-fps must be > 0")
    r = measure(args.frames, args.windows, args.seed, args.sample_fps)
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"{r['windows']} training windows of {r['frames']} frames (seed {r['seed']}):")
    print(f"- wholly inside one segment: {r['inside_one_segment']:.1%}")
    for b, share in r["majority_share_below"].items():
        print(f"- majority segment under {float(b):.0%} of the window: {share:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
