"""The thread plan of a stream: who gets which cores, decided once and printed in the summary.

A stream runs three kinds of work on the same cores: the capture thread
(decoding), the loop thread (per-frame preprocessing, numpy, which releases the
GIL in its array passes) and the inference worker, whose backend runs its own
pool of ``inference`` threads. Left alone they fight: OpenCV starts a pool of
one thread per core for every resize and decode, and ONNX Runtime's intra-op
threads spin (busy-wait) between operators, taking a core from the capture and
the preprocessing that the next clip needs. So (docs/streaming.md, "Thread plan"):

- OpenCV's own pool is switched off (``cv2.setNumThreads(1)``: one thread per
  call, the caller's). The capture and loop threads are the parallelism.
- The inference pool keeps the thread count asked for (default: the physical
  cores, as ``vmf-bench`` measures it), so a stream is compared with the
  benchmark at the same count.
- When the inference pool and the two stream threads together exceed the
  cores, the pool does not spin (ONNX Runtime ``session.intra_op.allow_spinning``
  = 0): a spinning pool burns the core the loop needs, and the clips after a
  busy moment come late (measured on 2 cores: end-to-end p99 2.5x the
  inference p50 with spinning, 1.6x without). OpenVINO's pool does not spin
  and LiteRT's XNNPACK pool has no such switch; both keep their defaults.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from .backend_base import check_threads

STREAM_THREADS = 2  # the capture thread and the loop (preprocessing) thread


def available_cores() -> int:
    """CPUs this process may run on (the affinity mask, else the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ThreadPlan:
    cores: int  # CPUs this process may use
    inference: int  # the backend's intra-op pool
    capture: int  # decoding thread
    preprocess: int  # the loop thread
    opencv: int  # cv2.setNumThreads: 1 = no pool of its own
    spin: bool  # may the inference pool busy-wait between operators

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return (
            f"threads: inference {self.inference} (spin-wait {'on' if self.spin else 'off'}), "
            f"capture {self.capture}, preprocess {self.preprocess}, OpenCV pool "
            f"{'off' if self.opencv <= 1 else self.opencv}; {self.cores} cores"
        )


def plan_threads(
    inference: int | None = None, *, cores: int | None = None, spin: bool | None = None
) -> ThreadPlan:
    """The plan for a stream with ``inference`` backend threads (default: physical cores)."""
    cores = cores or available_cores()
    inference = check_threads(inference)
    if spin is None:
        spin = inference + STREAM_THREADS <= cores
    return ThreadPlan(cores=cores, inference=inference, capture=1, preprocess=1, opencv=1, spin=bool(spin))


def apply_opencv(plan: ThreadPlan) -> None:
    """Size OpenCV's pool as planned (process-wide; decoding and any cv2 call in the loop)."""
    import cv2

    cv2.setNumThreads(int(plan.opencv))
