"""The processes of a run under ``torchrun``: their group, collectives, seeds, devices and stop signals.

Under ``torchrun`` ``vmf-train`` runs as DistributedDataParallel (gloo on CPU,
NCCL on CUDA); a plain run is one process and every collective here is then a
no-op. Every process must call a collective, in the same order.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass

import numpy as np
import torch

from vmf.model import VmfError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")  # where the tensors of a collective live

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def process_group_backend(device: torch.device) -> str:
    """NCCL for CUDA tensors (gradients, BatchNorm buffers) and gloo for CPU ones on a GPU run,
    gloo alone on a CPU run: every collective is valid whichever device its tensor is on."""
    return "cuda:nccl,cpu:gloo" if device.type == "cuda" else "gloo"


def init_distributed(device: torch.device) -> Dist:
    """Join the process group torchrun set up (env:// rendezvous), if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(device=device)
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":  # before the group: each process owns the GPU of its local rank
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(process_group_backend(device))
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank, device)


def collective_tensor(values, d: Dist) -> torch.Tensor:
    """``values`` as float64 on the run's device (NCCL takes CUDA tensors only)."""
    return torch.tensor(np.asarray(values, np.float64), dtype=torch.float64, device=d.device)


def all_reduce_sum(vector, d: Dist) -> np.ndarray:
    """The sum of ``vector`` over every process (every process must call it, in the same order)."""
    if not d.active:
        return np.asarray(vector, np.float64)
    import torch.distributed as dist

    t = collective_tensor(vector, d)
    dist.all_reduce(t)
    return t.cpu().numpy()


def step_seed(seed: int, rank: int, epoch: int, step: int) -> int:
    """The seed of torch's generator for one training step of one process (dropout masks).

    A function of the position alone: every process draws other masks, and a resumed run
    draws the same ones as an uninterrupted run, whatever happened before the step.
    """
    words = [seed % 2**64, rank, epoch, step]
    return int(np.random.SeedSequence(words).generate_state(1, np.uint64)[0] >> np.uint64(1))


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise VmfError("--device cuda: this torch sees no CUDA GPU")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise VmfError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device("cpu")


@contextlib.contextmanager
def stop_signals(on_signal):
    """``on_signal(signum, frame)`` on Ctrl-C and SIGTERM while the block runs; the previous
    handlers are put back after it."""
    handlers = {}
    for sig in (signal.SIGINT, signal.SIGTERM):  # every process: torchrun signals them all
        try:
            handlers[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not the main thread
            pass
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
