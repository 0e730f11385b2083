"""Turn a finished ``vmf-train`` run into the committed demo model (``train/demo/``).

    python scripts/make_demo_model.py runs/demo-560m --command "vmf-train synth ..." \
        --seconds 4650 --machine "2-core ..."

Writes ``vmf-560m-motion.pt``: the run's ``weights/best.pt`` with its weights
stored in fp16 (half the size; ``vmf.model.load_checkpoint`` loads them back as
fp32) and the command, time and machine that trained it; and copies the run's
``results.csv``, ``args.json`` and plots beside it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from vmf.model import load_checkpoint, read_checkpoint, save_checkpoint
from vmf.train import DEMO_CHECKPOINT, DEMO_DIR


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a vmf-train run folder")
    p.add_argument("--command", required=True, help="the exact vmf-train command of the run")
    p.add_argument("--seconds", type=float, required=True, help="its wall-clock training time")
    p.add_argument("--machine", required=True, help="where it ran")
    args = p.parse_args(argv)
    run = Path(args.run)
    best = run / "weights" / "best.pt"
    model = load_checkpoint(best)
    record = read_checkpoint(best).get("training", {})
    record.update({"command": args.command, "seconds": args.seconds, "machine": args.machine})
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, DEMO_CHECKPOINT, half=True, extra={"training": record})
    for name in ("results.csv", "args.json", "results.png", "confusion_matrix.png"):
        if (run / name).exists():
            shutil.copyfile(run / name, DEMO_DIR / name)
    size = DEMO_CHECKPOINT.stat().st_size / 2**20
    print(f"wrote {DEMO_CHECKPOINT} ({size:.1f} MB) from {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
