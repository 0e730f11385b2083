"""vmf-train as several processes (DistributedDataParallel over gloo, 2 CPU processes).

What is checked, at toy size (8 frames of 32 x 32, 3 steps an epoch): a run under
torchrun agrees across the processes and writes its files from rank 0 only; each
validation video is counted once although the set does not split evenly; Ctrl-C
sent to torchrun's whole process group (as a terminal does) stops every process
after the same step, ``last.pt`` is written once and exit code 130 comes from every
process, and resuming ends exactly where the uninterrupted run ended; a signal to
one process only (not rank 0) stops them all; a step in which one process's batch
holds no decodable video finishes on every process (no hang). And, without a
GPU, that a CUDA run would use NCCL for its CUDA tensors and gloo for its CPU ones.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from vmf.model import read_checkpoint, state_dict_sha256
from vmf.train import distributed
from vmf.train.datasets import load_splits
from vmf.train.video_io import write_video

pytestmark = pytest.mark.integration  # torchrun process groups


WORKER = Path(__file__).with_name("ddp_worker.py")
TINY = ["--frames", "8", "--resolution", "32", "--workers", "0", "--threads", "1"]
# 12 clips over 2 processes in batches of 2: 3 steps an epoch; 5 validation clips: 3 + 2.
SYNTH = [
    "synth",
    *TINY,
    "--epochs",
    "2",
    "--batch",
    "2",
    "--epoch-size",
    "12",
    "--val-size",
    "5",
    "--seed",
    "1",
]
RUN_FILES = {
    "args.json",
    "classes.txt",
    "results.csv",
    "results.png",
    "confusion_matrix.png",
    "weights/last.pt",
    "weights/best.pt",
}
TIMING = ("clips_per_s", "seconds")  # the only columns a resumed run may differ in
HANG = 240  # seconds: a run this small that takes longer is stuck in a collective


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def read_results(run: Path) -> list[dict]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def ranks(out: Path, world: int = 2) -> list[dict]:
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]


def env(**extra) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", **extra}


def torchrun(out: Path, argv: list[str], cwd: Path, **popen) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone"]
    return subprocess.Popen(
        [*cmd, str(WORKER), str(out), *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def spawn(out: Path, argv: list[str], cwd: Path, world: int = 2, **extra_env) -> list[tuple[int, str, str]]:
    """Start the processes ourselves with torchrun's environment: (exit code, stdout, stderr) of each."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs, logs = [], []
    for rank in range(world):
        log = (open(out / f"rank{rank}.out", "w+"), open(out / f"rank{rank}.err", "w+"))  # noqa: SIM115
        rank_env = env(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(world),
            LOCAL_WORLD_SIZE=str(world),
            **extra_env,
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(out), *argv],
                cwd=cwd,
                env=rank_env,
                stdout=log[0],
                stderr=log[1],
            )
        )
        logs.append(log)
    deadline = time.monotonic() + HANG
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        pytest.fail(f"the processes did not finish in {HANG} s (a hang in a collective?)")
    results = []
    for proc, (stdout, stderr) in zip(procs, logs):
        stdout.seek(0)
        stderr.seek(0)
        results.append((proc.returncode, stdout.read(), stderr.read()))
        stdout.close()
        stderr.close()
    return results


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted 2-process run under torchrun: {"tmp", "run", "out", "stdout", "stderr", "rc"}."""
    tmp = tmp_path_factory.mktemp("ddp-reference")
    out = tmp / "out"
    out.mkdir()
    proc = torchrun(out, [*SYNTH, "--out", str(tmp / "run"), "--json"], tmp, env=env())
    stdout, stderr = proc.communicate(timeout=HANG)
    return {
        "tmp": tmp,
        "run": tmp / "run",
        "out": out,
        "stdout": stdout,
        "stderr": stderr,
        "rc": proc.returncode,
    }


def test_a_torchrun_run_agrees_writes_from_rank0_and_counts_each_val_video_once(reference):
    assert reference["rc"] == 0, reference["stderr"][-3000:]
    run, records = reference["run"], ranks(reference["out"])
    assert [r["rc"] for r in records] == [0, 0]
    assert records[0]["sha256"] == records[1]["sha256"]
    last = read_checkpoint(run / "weights" / "last.pt")
    assert state_dict_sha256(last["state_dict"]) == records[0]["sha256"]  # what rank 0 wrote, both hold
    assert last["train_state"]["world"] == 2

    # Files from rank 0 only: the run folder and nothing else, one summary, one log.
    assert files_under(reference["tmp"]) == {f"run/{f}" for f in RUN_FILES} | {
        "out/rank0.json",
        "out/rank1.json",
    }
    assert len(read_results(run)) == 2
    json_lines = [line for line in reference["stdout"].splitlines() if line.startswith("{")]
    assert len(json_lines) == 1
    summary = json.loads(json_lines[0])
    assert summary["epochs"] == 2
    assert reference["stderr"].count("done: best val top-1") == 1
    # 5 validation clips over 2 processes: 3 + 2, each once (a padded sampler would count 6).
    assert summary["val"]["n"] == 5


def test_ctrl_c_to_torchrun_stops_every_process_at_one_step_and_resumes_exactly(reference, tmp_path):
    assert reference["rc"] == 0, reference["stderr"][-3000:]
    out, run = tmp_path / "out", tmp_path / "run"
    out.mkdir()
    # Each process pauses after step 1 until the signal has reached it: Ctrl-C in a terminal
    # signals torchrun and all its processes (one process group); torchrun passes it on too.
    proc = torchrun(
        out, [*SYNTH, "--out", str(run)], tmp_path, env=env(VMF_TEST_PAUSE="0:1"), start_new_session=True
    )
    deadline = time.monotonic() + HANG
    while not all((out / f"paused{r}").exists() for r in (0, 1)):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the processes never reached step 1"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=HANG)

    records = ranks(out)
    assert [r["rc"] for r in records] == [130, 130], stderr[-3000:]
    # The signal came during step 1's hook, so the all-reduced flag stops everyone after step 2.
    assert {(r["epoch"], r["step"]) for r in records} == {(0, 2)}
    assert records[0]["params_sha256"] == records[1]["params_sha256"]
    state = read_checkpoint(run / "weights" / "last.pt")["train_state"]
    assert (state["epoch"], state["step_in_epoch"]) == (0, 2)
    assert stderr.count("interrupted in epoch 1 at step 2") == 1  # written once, by rank 0
    assert files_under(run) == {"args.json", "classes.txt", "weights/last.pt"}

    proc = torchrun(out, ["--resume", str(run)], tmp_path, env=env())
    _, stderr = proc.communicate(timeout=HANG)
    assert [r["rc"] for r in ranks(out)] == [0, 0], stderr[-3000:]
    final = read_checkpoint(run / "weights" / "last.pt")
    expected = read_checkpoint(reference["run"] / "weights" / "last.pt")
    differ = [
        k
        for k in expected["state_dict"]
        if not torch.equal(final["state_dict"][k], expected["state_dict"][k])
    ]
    assert differ == []
    rows, expected_rows = read_results(run), read_results(reference["run"])
    assert len(rows) == len(expected_rows) == 2
    for row, expected_row in zip(rows, expected_rows):
        assert {k: v for k, v in row.items() if k not in TIMING} == {
            k: v for k, v in expected_row.items() if k not in TIMING
        }
    assert (
        read_checkpoint(run / "weights" / "best.pt")["sha256"]
        == read_checkpoint(reference["run"] / "weights" / "best.pt")["sha256"]
    )
    assert files_under(run) == RUN_FILES


def test_a_signal_to_one_process_stops_them_all(tmp_path):
    """SIGTERM to rank 1 only (a scheduler preempting one task): its handler's flag is
    all-reduced, so rank 0 stops after the same step, saves once, and both exit 130."""
    out, run = tmp_path / "out", tmp_path / "run"
    out.mkdir()
    results = spawn(out, [*SYNTH, "--out", str(run)], tmp_path, VMF_TEST_SIGNAL="1:0:1:SIGTERM")
    (rc0, _, err0), (rc1, _, err1) = results
    assert (rc0, rc1) == (130, 130), (err0[-2000:], err1[-2000:])
    records = ranks(out)
    assert {(r["epoch"], r["step"]) for r in records} == {(0, 2)}
    assert records[0]["params_sha256"] == records[1]["params_sha256"]
    state = read_checkpoint(run / "weights" / "last.pt")["train_state"]
    assert (state["epoch"], state["step_in_epoch"]) == (0, 2)
    assert err0.count("interrupted in epoch 1 at step 2") == 1
    assert "interrupted" not in err1  # files and messages: rank 0's
    assert files_under(run) == {"args.json", "classes.txt", "weights/last.pt"}


def truncated_mp4(path: Path) -> None:
    """An .mp4 cut in half: no moov atom (FFmpeg complains, neither decoder can read it)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def ramp(level: int) -> np.ndarray:
    x = np.linspace(40, 200, 48)[None, None, :, None]
    t = np.arange(12)[:, None, None, None] * (3 if level % 2 else -3)
    return np.clip(np.broadcast_to(x + t + level, (12, 32, 48, 3)), 0, 255).astype(np.uint8)


def test_a_batch_with_no_decodable_video_on_one_process_does_not_hang(tmp_path):
    """8 training videos, 2 processes, batches of 2: rank 1's first batch is both of its
    undecodable videos. The step is skipped on both processes, the second one trains, and
    the 3 validation videos (2 + 1 over the processes) are each counted once."""
    root = tmp_path / "data"
    for split, count in (("train", 4), ("val", 2)):
        for ci, name in enumerate(("down", "up")):
            (root / split / name).mkdir(parents=True)
            for k in range(count if split == "train" or ci == 0 else 1):
                write_video(root / split / name / f"{name}{k}.mp4", ramp(2 * k + ci), 12.0)
    items = load_splits(root).train
    sampler = torch.utils.data.DistributedSampler(
        range(len(items)), num_replicas=2, rank=1, shuffle=True, seed=0
    )
    sampler.set_epoch(0)
    bad = [items[i][0] for i in list(sampler)[:2]]  # rank 1's first batch
    for path in bad:
        truncated_mp4(path)

    out, run = tmp_path / "out", tmp_path / "run"
    out.mkdir()
    argv = [str(root), *TINY, "--epochs", "1", "--batch", "2", "--seed", "0", "--out", str(run), "--json"]
    (rc0, stdout, err0), (rc1, _, err1) = spawn(out, argv, tmp_path)
    assert (rc0, rc1) == (0, 0), (err0[-2000:], err1[-2000:])
    records = ranks(out)
    assert records[0]["sha256"] == records[1]["sha256"]
    assert err0.count("step 1: skipped on every process") == 1
    # vmf's one warning per undecodable video, from the process that read it; no FFmpeg lines.
    warned = [line for line in err1.splitlines() if line.startswith("skipped: cannot read video")]
    assert len(warned) == 2 and all(any(str(p) in line for line in warned) for p in bad)
    assert "skipped:" not in err0
    assert "moov atom" not in err0 + err1
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["skipped"] == 2 and summary["epochs"] == 1
    assert summary["val"]["n"] == 3  # 2 + 1 over the processes, each once
    state = read_checkpoint(run / "weights" / "last.pt")["train_state"]
    assert state["decoded"] == 6  # 2 of step 1 (unused: rank 1 had none) + 4 of step 2
    assert int(read_results(run)[0]["epoch"]) == 1


# --------------------------------------------------------------------------- no GPU needed


def test_a_cuda_run_binds_its_gpu_first_and_uses_nccl_and_gloo(monkeypatch):
    calls = []
    import torch.distributed as dist

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: calls.append(("set_device", device)))
    monkeypatch.setattr(dist, "is_initialized", lambda: bool([c for c in calls if c[0] == "init"]))
    monkeypatch.setattr(dist, "init_process_group", lambda backend: calls.append(("init", backend)))
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)

    d = distributed.init_distributed(torch.device("cuda", 1))
    assert calls == [("set_device", torch.device("cuda", 1)), ("init", "cuda:nccl,cpu:gloo")]
    assert (d.rank, d.world, d.local_rank, d.device) == (1, 2, 1, torch.device("cuda", 1))

    calls.clear()
    d = distributed.init_distributed(torch.device("cpu"))
    assert calls == [("init", "gloo")]  # and no GPU is touched
    assert d.device == torch.device("cpu")


def test_collective_tensors_live_on_the_runs_device(monkeypatch):
    """NCCL refuses CPU tensors: the counts, the stop flag and the metrics are all-reduced
    on the run's device (here the meta device stands in for a GPU)."""
    import torch.distributed as dist

    seen = []

    class Sent(Exception):
        pass

    def all_reduce(t):
        seen.append((t.device.type, t.dtype, tuple(t.shape)))
        raise Sent

    monkeypatch.setattr(dist, "all_reduce", all_reduce)
    d = distributed.Dist(rank=0, world=2, device=torch.device("meta"))
    with pytest.raises(Sent):
        distributed.all_reduce_sum([1.0, 0.0, 3.0], d)
    assert seen == [("meta", torch.float64, (3,))]

    # On the CPU the sum comes back as numpy.
    monkeypatch.setattr(dist, "all_reduce", lambda t: t.mul_(2))
    assert distributed.all_reduce_sum([1.0, 2.5], distributed.Dist(world=2)).tolist() == [2.0, 5.0]
    # one process: no-op
    assert distributed.all_reduce_sum([1.0, 2.5], distributed.Dist()).tolist() == [1.0, 2.5]


def test_each_process_and_step_draws_its_own_dropout_masks():
    seeds = {
        distributed.step_seed(0, rank, epoch, step)
        for rank in range(4)
        for epoch in range(3)
        for step in range(5)
    }
    assert len(seeds) == 4 * 3 * 5
    # a function of the position
    assert distributed.step_seed(7, 1, 2, 3) == distributed.step_seed(7, 1, 2, 3)
    assert all(0 <= s < 2**63 for s in seeds)
