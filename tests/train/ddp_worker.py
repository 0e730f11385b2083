"""One process of the multi-process tests in test_train_ddp.py.

    torchrun --nproc-per-node 2 --standalone ddp_worker.py OUT_DIR VMF_TRAIN_ARGS...

(or started by the test itself with torchrun's environment: RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Runs ``vmf-train`` through
``train_cli.main`` with the given arguments, then writes ``OUT_DIR/rank<R>.json``:
its exit code, the position its run stopped at (``epoch``, ``step``) and the
sha256 of its model's state dict and of its parameters alone, so the test can
check that every process ends at the same step with the same parameters.

Two environment variables make a test's interruption happen at a known point:

- ``VMF_TEST_SIGNAL=RANK:EPOCH:STEP:NAME``: that process sends itself the signal
  NAME (SIGINT, SIGTERM) right after step STEP (1-based) of epoch EPOCH (0-based).
- ``VMF_TEST_PAUSE=EPOCH:STEP``: every process, right after that step, writes
  ``OUT_DIR/paused<R>`` and waits (at most 120 s) until a signal reaches it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from vmf.model import state_dict_sha256
from vmf.train import train_cli


def main() -> int:
    out, argv = Path(sys.argv[1]), sys.argv[2:]
    rank = int(os.environ["RANK"])
    runs = []
    send = os.environ.get("VMF_TEST_SIGNAL", "")
    pause = os.environ.get("VMF_TEST_PAUSE", "")

    def on_step(run):  # keeps the Run object, to hash its model after training
        if not runs:
            runs.append(run)
        position = (run.epoch, run.step_in_epoch)
        if send:
            who, epoch, step, name = send.split(":")
            if int(who) == rank and position == (int(epoch), int(step)):
                os.kill(os.getpid(), getattr(signal, name))
        if pause and position == tuple(int(v) for v in pause.split(":")):
            (out / f"paused{rank}").write_text("")
            deadline = time.monotonic() + 120
            while run.stop_signal is None and time.monotonic() < deadline:
                time.sleep(0.05)

    rc = train_cli.main(argv, on_step=on_step)
    record = {"rc": rc}
    if runs:
        run = runs[0]
        params = {name: p.detach() for name, p in run.model.named_parameters()}
        record.update(
            epoch=run.epoch,
            step=run.step_in_epoch,
            sha256=state_dict_sha256(run.model.state_dict()),
            # BatchNorm statistics are rank 0's only at an epoch's end (DDP copies them
            # before each forward): mid-epoch, the parameters are what every process shares
            params_sha256=state_dict_sha256(params),
        )
    (out / f"rank{rank}.json").write_text(json.dumps(record) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
