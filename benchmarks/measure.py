"""Load one artifact on one backend and time it: here, or in a fresh process per row.

By default every row is timed in its own short-lived Python process
(``python -m vmf.benchmarks.measure SPEC``), for three reasons:
- peak RSS is then that backend's and model's, not the exporters' (TensorFlow
  and onnx2tf, loaded to convert, stay resident for the life of a process);
- no thread pool, allocator state or spinning worker of an earlier row
  (PyTorch's OpenMP pool, another ONNX Runtime session) runs beside this one;
- a runtime that crashes (a segfault in a delegate) fails its row, not the run.
``--in-process`` times in the calling process instead (faster to start; the
tests use it with a fake backend and a fake clock).
"""

from __future__ import annotations

import gc
import hashlib
import json
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from vmf.model import VmfError

from .memory import peak_rss_mb, reset_peak_rss
from .timing import TimingOptions, time_calls, time_paced


@dataclass
class Measurement:
    samples: list[float]  # seconds per timed call
    device: str  # the backend's own description of what ran ("onnxruntime CPU..., 2 threads")
    backend: str
    form: str | None  # which module the torch backend ran; None for exported files
    converter: str | None  # from the artifact's sidecar
    parity: dict | None  # from the artifact's sidecar
    peak_rss_mb: float
    paced: list[float] | None = None  # seconds per paced call (--paced), None when not paced
    spin: bool | None = None  # the pool's busy-wait as applied; None: the backend has no switch


def _sync_for(description: str) -> Callable[[], None] | None:
    if "cuda" not in description.lower() or "torch" not in sys.modules:
        return None
    import torch

    return torch.cuda.synchronize if torch.cuda.is_available() else None


def measure(
    path: "str | Path",
    backend: str | None,
    threads: int | None,
    device: str,
    timing: TimingOptions,
    *,
    load_backend: Callable | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], object] = time.sleep,
) -> Measurement:
    """Load ``path`` and time ``run`` on one random clip of its input shape (raises on failure):
    back to back, then, with ``timing.paced_ms``, once every ``paced_ms`` as a stream runs it."""
    if load_backend is None:
        from vmf.runtime.backends import load_backend
    gc.collect()  # an earlier row's session is garbage now: free it before this row's peak
    reset_peak_rss()  # the peak covers loading, warm-up and the timed runs
    loaded = load_backend(path, backend=backend, threads=threads, device=device, spin=timing.spin)
    meta = getattr(loaded, "meta", None) or {}
    description = str(getattr(loaded, "device", device))
    # The same clip for every run of this artifact: seeded by its path.
    seed = int.from_bytes(hashlib.sha256(str(path).encode()).digest()[:4], "little")
    clip = np.random.default_rng(seed).standard_normal(loaded.input_shape, dtype=np.float32)
    sync = _sync_for(description)
    samples = time_calls(
        lambda: loaded.run(clip),
        warmup=timing.warmup,
        runs=timing.runs,
        min_time=timing.min_time,
        sync=sync,
        clock=clock,
    )
    paced = None
    if timing.paced_ms is not None:  # after the back-to-back runs, which were its warm-up
        paced = time_paced(
            lambda: loaded.run(clip),
            timing.paced_ms / 1000.0,
            runs=timing.paced_runs,
            min_time=timing.min_time,
            sync=sync,
            clock=clock,
            sleep=sleep,
        )
    return Measurement(
        samples=samples,
        device=description,
        backend=getattr(loaded, "name", None) or backend or "",
        form=getattr(loaded, "form", None),
        converter=meta.get("converter"),
        parity=meta.get("parity"),
        peak_rss_mb=peak_rss_mb(),
        paced=paced,
        spin=bool(timing.spin) if getattr(loaded, "spin_switch", False) else None,
    )


def measure_isolated(
    path: "str | Path", backend: str | None, threads: int | None, device: str, timing: TimingOptions
) -> Measurement:
    """``measure`` in a fresh Python process; its errors come back as one-line ``VmfError``s."""
    spec = {
        "path": str(path),
        "backend": backend,
        "threads": threads,
        "device": device,
        "timing": asdict(timing),
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vmf.benchmarks.measure", json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timing.row_timeout,
        )
    except subprocess.TimeoutExpired:  # run() has killed it
        raise VmfError(
            f"the timing process did not finish in {timing.row_timeout:g} s and was stopped (--row-timeout)"
        ) from None
    lines = proc.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        answer = None
    if isinstance(answer, dict) and "error" in answer:
        raise VmfError(answer["error"])
    if proc.returncode != 0 or not isinstance(answer, dict):
        said = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise VmfError(
            f"the timing process {_exit(proc.returncode)}"
            + (f"; it said: {said[-1].strip()[:160]}" if said else "")
        )
    return Measurement(**answer)


def one_line(exc: BaseException, limit: int = 400) -> str:
    """A row's reason: the error's first line; the exception type too when it is not ours."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    if not isinstance(exc, VmfError):  # an unexpected failure: say what kind it was
        line = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code} and no result"


def _worker(argv: list[str]) -> int:
    """``python -m vmf.benchmarks.measure SPEC``: one JSON line on stdout, result or error."""
    spec = json.loads(argv[0])
    try:
        result = asdict(
            measure(
                spec["path"],
                spec["backend"],
                spec["threads"],
                spec["device"],
                TimingOptions(**spec["timing"]),
            )
        )
    except Exception as exc:  # reported to the parent, which makes it the row's reason
        result = {"error": one_line(exc)}
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
