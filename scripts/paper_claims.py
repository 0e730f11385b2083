"""The paper's ablations at small scale, on the motion task, with one recipe and budget.

    python scripts/paper_claims.py --out runs/claims --resolution 80 --epochs 3 --epoch-size 1000

Trains, with identical data (same seed, same clips), recipe and number of
clips: VMF-560M; its Mobile3D baseline (Table 2: the Former and bridges add
accuracy for little compute); VMF-560M with plain ReLU instead of frame-level
DY-ReLU (Table 11); and VMF-560M with X3D's temporal stem kernel 5 instead of
8 (with stride 8, kernel 5 never reads 3 of every 8 frames: docs/architecture.md).
Reports val top-1, mean class accuracy and the accuracy on the appearing /
disappearing pair, whatever they show.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

from vmf.train import train_cli

RUNS = (
    ("VMF-560M", []),
    ("Mobile3D-560M", ["--baseline"]),
    ("VMF-560M, plain ReLU", ["--activation", "relu"]),
    ("VMF-560M, stem kernel 5 (X3D)", ["--stem-kernel", "5", "--stem-padding", "2"]),
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/claims")
    p.add_argument("--resolution", type=int, default=80)
    p.add_argument("--frames", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--epoch-size", type=int, default=1000)
    p.add_argument("--val-size", type=int, default=300)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", help="comma-separated run numbers (1-4) to do")
    args = p.parse_args(argv)
    chosen = {int(i) for i in args.only.split(",")} if args.only else set(range(1, len(RUNS) + 1))
    rows = []
    for number, (name, extra) in enumerate(RUNS, 1):
        if number not in chosen:
            continue
        out = Path(args.out) / f"run{number}"
        cmd = [
            "synth",
            "--variant",
            "560M",
            "--frames",
            str(args.frames),
            "--resolution",
            str(args.resolution),
            "--epochs",
            str(args.epochs),
            "--epoch-size",
            str(args.epoch_size),
            "--val-size",
            str(args.val_size),
            "--batch",
            str(args.batch),
            "--threads",
            str(args.threads),
            "--seed",
            "0",
            "--out",
            str(out),
            "--json",
            *extra,
        ]
        print(f"[{number}] {name}: vmf-train {' '.join(cmd)}", file=sys.stderr, flush=True)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = train_cli.main(cmd)
        if code:
            return code
        summary = json.loads(buffer.getvalue().strip().splitlines()[-1])
        val = summary["val"]
        pair = [val["per_class"][c] for c in ("appearing", "disappearing")]
        rows.append(
            {
                "name": name,
                "top1": val["top1"],
                "mean_class": val["mean_class_accuracy"],
                "appear_disappear": sum(pair) / 2,
                "seconds": summary["seconds"],
                "command": "vmf-train " + " ".join(cmd),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print("| model | val top-1 | mean class acc. | appearing/disappearing | train time |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['name']} | {r['top1']:.1%} | {r['mean_class']:.1%} | "
            f"{r['appear_disappear']:.1%} | {r['seconds'] / 60:.1f} min |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
