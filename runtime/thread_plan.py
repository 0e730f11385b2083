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
- Whether the pool may spin (ONNX Runtime ``session.intra_op.allow_spinning``)
  is chosen from the machine's measured load (``--spin auto``, the default), or
  as asked (``--spin on|off``). Spinning keeps the pool awake between the
  operators of a clip and a moment after it: on an otherwise idle machine that
  is what keeps a paced model (one clip per hop, idle cores in between) as fast
  as back to back (measured on 2 idle cores: inference p50 27.5 ms spinning,
  41-45 ms not, end-to-end p99 59 ms against 69-75 ms). On a busy machine a
  spinning pool burns the core the loop needs, and the clips after a busy moment
  come late (measured on 2 cores at load 7-10: end-to-end p99 2.5x the
  inference p50 spinning, 1.6x not). OpenVINO's pool does not spin, and LiteRT's
  XNNPACK, ExecuTorch's and PyTorch's pools have no switch from Python; for them
  the plan says so (``ThreadPlan.for_backend``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable

from .backend_base import check_threads

STREAM_THREADS = 2  # the capture thread and the loop (preprocessing) thread
SPIN_CHOICES = ("auto", "on", "off")  # --spin of vmf-stream and vmf-bench
DEFAULT_SPIN = "auto"
# --spin auto spins while the other work on the machine (``load_average``: busy CPUs)
# stays below this share of the cores: then a busy-waiting pool costs no core the
# capture and the loop need. The two measured cases it separates are in the module
# docstring (idle: load under 1 on 2 cores, spinning better; busy: load 7-10, worse).
AUTO_SPIN_MAX_LOAD_PER_CORE = 0.5


def available_cores() -> int:
    """CPUs this process may run on (the affinity mask, else the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


CPU_SAMPLE_S = 0.2  # how long --spin auto watches the CPUs at start-up


def _cpu_times() -> list[int] | None:
    """The machine's aggregate CPU times (the ``cpu`` line of /proc/stat); None where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    return [int(v) for v in fields[1:]]


def busy_cores(
    interval: float = CPU_SAMPLE_S,
    read: Callable[[], list[int] | None] = _cpu_times,
    sleep: Callable[[float], None] = time.sleep,
    cpus: int | None = None,
) -> float | None:
    """How many of the machine's CPUs were busy over the next ``interval`` seconds; None if unknown.

    The 1-minute load average lags: work started 20 s ago still reads as a fraction of
    it (docs/streaming.md, "Measured figures"). A short sample of /proc/stat sees it now.
    """
    first = read()
    if first is None:
        return None
    sleep(interval)
    second = read()
    if second is None or len(second) < 5:
        return None
    total = sum(second) - sum(first)
    idle = (second[3] + second[4]) - (first[3] + first[4])  # idle and iowait
    if total <= 0:
        return None
    return max(0.0, (total - idle) / total) * (cpus or os.cpu_count() or 1)


def load_average() -> float | None:
    """The machine's load in busy CPUs: the larger of the 1-minute load average (threads running
    or waiting for a CPU) and the CPUs busy over a short sample now; None where the OS has neither."""
    try:
        average = float(os.getloadavg()[0])
    except (AttributeError, OSError):
        average = None
    now = busy_cores()
    if average is None or now is None:
        return average if now is None else now
    return max(average, now)


def choose_spin(
    spin: "bool | str | None",
    *,
    inference: int,
    cores: int,
    load: Callable[[], float | None] | None = None,
) -> tuple[bool, str]:
    """(spin, why): as asked (``True``/``"on"``, ``False``/``"off"``), or, for ``None``/``"auto"``,
    on while the machine's load is under ``AUTO_SPIN_MAX_LOAD_PER_CORE`` of its cores.

    Where no load average can be read (Windows), auto falls back to the rule that
    needs no measurement: spin only when the pool and the stream threads fit the cores.
    """
    if spin is True or spin == "on":
        return True, "--spin on"
    if spin is False or spin == "off":
        return False, "--spin off"
    if spin not in (None, "auto"):
        raise ValueError(f"spin must be one of {', '.join(SPIN_CHOICES)} or a bool, got {spin!r}")
    measured = (load or load_average)()  # looked up now: a test may replace load_average
    if measured is None:
        fits = inference + STREAM_THREADS <= cores
        relation = "<=" if fits else ">"
        return fits, (
            f"auto: no load average here; {inference} inference + {STREAM_THREADS} stream threads "
            f"{relation} {cores} cores"
        )
    return measured < AUTO_SPIN_MAX_LOAD_PER_CORE * cores, f"auto: load {measured:.1f} of {cores} cores"


@dataclass(frozen=True)
class ThreadPlan:
    cores: int  # CPUs this process may use
    inference: int  # the backend's intra-op pool
    capture: int  # decoding thread
    preprocess: int  # the loop thread
    opencv: int  # cv2.setNumThreads: 1 = no pool of its own
    spin: bool  # may the inference pool busy-wait between operators
    spin_reason: str = ""  # why (auto: the load it saw; or as asked), and where it has no effect

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        why = f" ({self.spin_reason})" if self.spin_reason else ""
        return (
            f"threads: inference {self.inference} (spin-wait {'on' if self.spin else 'off'}{why}), "
            f"capture {self.capture}, preprocess {self.preprocess}, OpenCV pool "
            f"{'off' if self.opencv <= 1 else self.opencv}; {self.cores} cores"
        )

    def for_backend(self, backend) -> "ThreadPlan":
        """The plan as it applies to a loaded ``backend``: one whose pool has no spin switch
        (``Backend.spin_switch`` false) is said to ignore it, so the summary does not claim
        a setting that did nothing."""
        if getattr(backend, "spin_switch", False):
            return self
        note = f"no effect on {getattr(backend, 'name', 'this backend')}: its pool has no spin switch"
        reason = f"{self.spin_reason}; {note}" if self.spin_reason else note
        return dataclasses.replace(self, spin_reason=reason)


def plan_threads(
    inference: int | None = None,
    *,
    cores: int | None = None,
    spin: "bool | str | None" = None,
    load: Callable[[], float | None] | None = None,
) -> ThreadPlan:
    """The plan for a stream with ``inference`` backend threads (default: physical cores).

    ``spin``: ``None`` or ``"auto"`` chooses from ``load()`` (default
    ``load_average``; tests inject their own), ``"on"``/``True`` and ``"off"``/``False`` are kept.
    """
    cores = cores or available_cores()
    inference = check_threads(inference)
    on, reason = choose_spin(spin, inference=inference, cores=cores, load=load)
    return ThreadPlan(
        cores=cores, inference=inference, capture=1, preprocess=1, opencv=1, spin=on, spin_reason=reason
    )


def apply_opencv(plan: ThreadPlan) -> None:
    """Size OpenCV's pool as planned (process-wide; decoding and any cv2 call in the loop)."""
    import cv2

    cv2.setNumThreads(int(plan.opencv))
