"""One rank of the 2-process test in test_train_loop.py (launched by torchrun).

    torchrun --nproc-per-node 2 --standalone ddp_worker.py SHA_DIR VMF_TRAIN_ARGS...

Runs ``vmf-train`` through ``train_cli.main`` with the given arguments and then
writes the sha256 of this rank's final model weights to ``SHA_DIR/rank<R>.sha``,
so the test can check that every rank ends with the same parameters.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vmf.model import state_dict_sha256
from vmf.train import train_cli


def main() -> int:
    sha_dir, argv = Path(sys.argv[1]), sys.argv[2:]
    runs = []

    def keep(run):  # the Run object, to hash its model after training
        if not runs:
            runs.append(run)

    rc = train_cli.main(argv, on_step=keep)
    if rc == 0:
        rank = int(os.environ["RANK"])
        (sha_dir / f"rank{rank}.sha").write_text(state_dict_sha256(runs[0].model.state_dict()) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
