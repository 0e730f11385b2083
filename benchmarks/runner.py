"""From a list of jobs to rows: get the artifact (cache or export), load it, time it.

Every job becomes exactly one row. Whatever goes wrong inside a job (a
missing package, a conversion the converter refuses, Core ML on Linux, an int8
export that fails its parity gate) is caught here and becomes a ``failed``
row with the one-line reason, so the rest of the table is still measured.

The exporter, the backend loader and the clock are passed in (``Tools``): the
CLI uses the real ones, the tests a counting fake exporter and a fake backend
on a fake clock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vmf.model import VARIANTS, VmfError

from .cache import ArtifactCache, CacheKey, project_version
from .memory import peak_rss_mb, reset_peak_rss
from .reference import model_name, paper_latency
from .rows import FAILED, OK, Row
from .timing import DEFAULT_MIN_TIME, DEFAULT_WARMUP, LatencyStats, time_calls

# What each backend times, and the artifact it needs: ``--backend`` choices.
BACKEND_TARGETS = {"onnxruntime": "onnx", "tflite": "tflite", "torch": "checkpoint",
                   "coreml": "coreml"}
PRECISIONS = ("fp32", "fp16", "int8")
DEVICES = ("cpu", "cuda")
CUDA_BACKENDS = ("onnxruntime", "torch")  # LiteRT's GPU delegate and Core ML are phone/Mac only
NAIVE_BACKENDS = ("onnxruntime", "tflite")  # the exporter's naive form exists for these targets
X3D_NAME = "X3D-S"
X3D_BACKENDS = ("onnxruntime",)  # exported naively to ONNX here (benchmarks/x3d.py)

# Forms: the rank-4 export, the reference 5-D graph exported as is, the PyTorch reference model.
DEPLOYABLE, NAIVE, REFERENCE = "deployable", "naive", "reference"


@dataclass(frozen=True)
class Job:
    variant: str  # a VARIANTS key, or X3D_NAME
    baseline: bool
    backend: str
    precision: str
    form: str  # DEPLOYABLE / NAIVE export; REFERENCE for torch (its backend may run deployable)
    threads: int
    device: str
    frames: int
    resolution: int
    converter: str | None = None  # TFLite converter; None = the exporter's default

    @property
    def model(self) -> str:
        return model_name(self.variant, self.baseline)


@dataclass(frozen=True)
class TimingOptions:
    warmup: int = DEFAULT_WARMUP
    runs: int | None = None
    min_time: float = DEFAULT_MIN_TIME


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Tools:
    """The outside world a run touches; the tests swap these for fakes."""

    export: Callable[..., Any] | None = None  # vmf.export.export
    load_backend: Callable[..., Any] | None = None  # vmf.runtime.backends.load_backend
    clock: Callable[[], float] = time.perf_counter
    log: Callable[[str], None] = _stderr
    counts: dict = field(default_factory=lambda: {"exported": 0, "cached": 0})
    # An export that failed once in this run fails the same way for the next thread count.
    failed_exports: dict = field(default_factory=dict)

    def exporter(self):
        if self.export is None:
            from vmf.export import export  # imported on first use: it pulls in the converters

            self.export = export
        return self.export

    def loader(self):
        if self.load_backend is None:
            from vmf.runtime.backends import load_backend

            self.load_backend = load_backend
        return self.load_backend


def plan_jobs(variants, backends, precisions, threads, *, baseline=False, naive=False, x3d=False,
              device="cpu", frames=None, resolution=None, converter=None) -> list[Job]:
    """Every row the options ask for, in table order: model, form, backend, precision, threads."""
    jobs = []
    models = [(v, False) for v in variants] + ([(v, True) for v in variants] if baseline else [])
    for variant, base in models:
        cfg = VARIANTS[variant]
        clip = (frames or cfg.frames, resolution or cfg.resolution)
        for backend in backends:
            forms = ([REFERENCE] if backend == "torch"
                     else [DEPLOYABLE] + ([NAIVE] if naive and backend in NAIVE_BACKENDS else []))
            for form in forms:
                for precision in precisions:
                    for t in threads:
                        jobs.append(Job(variant, base, backend, precision, form, t, device, *clip,
                                        converter if backend == "tflite" else None))
    if x3d:
        from .x3d import X3D_S

        clip = (frames or X3D_S.frames, resolution or X3D_S.resolution)
        for backend in (b for b in backends if b in X3D_BACKENDS):
            for t in threads:
                jobs.append(Job(X3D_NAME, False, backend, "fp32", NAIVE, t, device, *clip))
    return jobs


# --- model facts: counted once on the reference model, so GMAC/s compares forms fairly ----------

@functools.lru_cache(maxsize=None)
def model_facts(variant: str, baseline: bool, frames: int, resolution: int) -> tuple[int, int]:
    """(MACs, params) of the reference network on one ``frames x resolution`` clip."""
    from vmf.model import build_model, count_macs, count_params

    if variant == X3D_NAME:
        from .x3d import X3D_S, build_x3d

        model = build_x3d(dataclasses.replace(X3D_S, frames=frames, resolution=resolution))
    else:
        model = build_model(variant, baseline=baseline)
    return count_macs(model, frames, resolution), count_params(model)


# --- producing artifacts ------------------------------------------------------------------------

def cache_key(job: Job) -> CacheKey:
    target = BACKEND_TARGETS[job.backend]
    precision = "fp32" if target == "checkpoint" else job.precision
    return CacheKey(job.variant, job.baseline, job.form, job.frames, job.resolution, target,
                    precision, job.converter or "default", project_version())


def _export_producer(job: Job, tools: Tools) -> Callable[[Path], Path]:
    target = BACKEND_TARGETS[job.backend]

    def produce(folder: Path) -> Path:
        # Converters print progress on stdout; stdout is the table and the JSON line.
        with contextlib.redirect_stdout(sys.stderr):
            report = tools.exporter()(
                job.variant, targets=(target,), precisions=(job.precision,),
                converter=job.converter, out_dir=folder, baseline=job.baseline, frames=job.frames,
                resolution=job.resolution, verify=True, form=job.form, log=tools.log)
        made = [a for a in report.artifacts if a.target == target and a.precision == job.precision]
        if not made:
            raise VmfError(f"the exporter made no {target} {job.precision} artifact")
        return Path(made[0].path)

    return produce


def _checkpoint_producer(job: Job) -> Callable[[Path], Path]:
    """Seeded random weights for the PyTorch backend, with the job's clip in the config."""

    def produce(folder: Path) -> Path:
        import torch

        from vmf.model import VideoMobileFormer, save_checkpoint

        cfg = dataclasses.replace(VARIANTS[job.variant], frames=job.frames,
                                  resolution=job.resolution)
        torch.manual_seed(0)
        model = VideoMobileFormer(cfg, baseline=job.baseline).eval()
        return save_checkpoint(model, folder / f"{job.model.lower()}.pt")

    return produce


def _x3d_producer(job: Job) -> Callable[[Path], Path]:
    def produce(folder: Path) -> Path:
        from .x3d_export import export_x3d_onnx

        return export_x3d_onnx(folder, frames=job.frames, resolution=job.resolution)

    return produce


def artifact_for(job: Job, cache: ArtifactCache, tools: Tools) -> Path:
    if job.variant == X3D_NAME:
        produce = _x3d_producer(job)
    elif job.backend == "torch":
        produce = _checkpoint_producer(job)
    else:
        produce = _export_producer(job, tools)
    key = cache_key(job)
    found = cache.lookup(key)
    if found is not None:
        tools.counts["cached"] += 1
        return found
    if key in tools.failed_exports:
        raise VmfError(tools.failed_exports[key])
    tools.log(f"exporting {job.model} {job.form} {key.target} {key.precision} "
              f"({job.frames}x{job.resolution}) into {cache.root}")
    start = time.perf_counter()
    try:
        path = cache.fetch(key, produce).path
    except Exception as exc:
        tools.failed_exports[key] = f"export failed: {one_line(exc)}"
        raise VmfError(tools.failed_exports[key]) from None
    tools.counts["exported"] += 1
    tools.log(f"exported {path.name} in {time.perf_counter() - start:.1f}s")
    return path


# --- timing one job ----------------------------------------------------------------------------

def size_mb(path: Path) -> float:
    if path.is_dir():  # .mlpackage
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
    return path.stat().st_size / 2**20


def device_kind(description: str) -> str:
    """``cpu`` or ``cuda`` from a backend's own description of what ran."""
    lower = str(description).lower()
    if "cuda" in lower:
        return "cuda"
    if "gpu" in lower or "neural engine" in lower or "ane" in lower.split():
        return "gpu"
    return "cpu"


def format_parity(parity) -> str | None:
    """The exporter's own phrase for its parity record, else a short ``k=v, ...`` line."""
    if parity in (None, {}, []):
        return None
    if not isinstance(parity, dict):
        return str(parity)
    if "metric" in parity or parity.get("checked") is False:
        try:
            from vmf.export.parity import describe

            return describe(parity)
        except (ImportError, KeyError, TypeError, ValueError):
            pass  # a record from another version of the exporter: fall back to k=v
    parts = []
    for k, v in parity.items():
        if isinstance(v, dict):
            inner = format_parity(v)
            if inner:
                parts.append(f"{k}: {inner}")
        elif isinstance(v, float):
            parts.append(f"{k}={v:.3g}")
        elif isinstance(v, (int, str, bool)):
            parts.append(f"{k}={v}")
    return ", ".join(parts) or None


def _sync_for(device: str) -> Callable[[], None] | None:
    if device != "cuda" or "torch" not in sys.modules:
        return None
    import torch

    return torch.cuda.synchronize if torch.cuda.is_available() else None


def one_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    if not isinstance(exc, VmfError):  # an unexpected failure: say what kind it was
        line = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return line[:limit]


def base_row(job: Job) -> Row:
    paper = paper_latency(job.model, job.frames)
    return Row(variant=job.variant, baseline=job.baseline, backend=job.backend,
               precision=job.precision, converter=job.converter, threads=job.threads,
               device=job.device, frames=job.frames, resolution=job.resolution,
               model=job.model, form=job.form,
               paper_gpu_ms=paper.gpu_ms if paper else None,
               paper_cpu_ms=paper.cpu_ms if paper else None)


def _refuse(job: Job) -> str | None:
    """Combinations that cannot run, said before any export is attempted."""
    if job.device == "cuda" and job.backend not in CUDA_BACKENDS:
        return f"{job.backend} has no CUDA path here (its GPU runs are on phones/Macs)"
    if job.backend == "torch" and job.precision != "fp32":
        return "the torch backend times the fp32 reference model only"
    return None


def prepare_job(job: Job, cache: ArtifactCache, tools: Tools) -> tuple[Row, Path | None]:
    """The job's row and artifact (cached or exported); no artifact when the row failed."""
    row = base_row(job)
    refusal = _refuse(job)
    if refusal:
        row.status, row.reason = FAILED, refusal
        return row, None
    try:
        row.macs, row.params = model_facts(job.variant, job.baseline, job.frames, job.resolution)
        return row, artifact_for(job, cache, tools)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # every failure of one job is that row's status, not the run's end
        return _failed(row, exc, tools), None


def measure_job(job: Job, row: Row, path: Path, tools: Tools, timing: TimingOptions) -> Row:
    """Time a prepared job into its row, or fail the row with the one-line reason."""
    try:
        return time_artifact(path, row, tools, timing, job.backend, job.threads, job.device)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        return _failed(row, exc, tools)


def _failed(row: Row, exc: BaseException, tools: Tools) -> Row:
    row.status, row.reason = FAILED, one_line(exc)
    tools.log(f"{row.model} {row.form} {row.backend} {row.precision}: failed: {row.reason}")
    return row


def time_artifact(path: Path, row: Row, tools: Tools, timing: TimingOptions, backend: str | None,
                  threads: int | None, device: str) -> Row:
    """Load ``path`` on ``backend`` and time it into ``row`` (raises on failure)."""
    gc.collect()  # the previous row's session is garbage now: free it before this row's peak
    reset_peak_rss()  # the row's peak covers loading, warm-up and the timed runs
    loaded = tools.loader()(path, backend=backend, threads=threads, device=device)
    meta = getattr(loaded, "meta", None) or {}
    row.backend = getattr(loaded, "name", backend) or backend
    row.form = getattr(loaded, "form", None) or row.form  # torch says which module it runs
    row.device = device_kind(getattr(loaded, "device", device))
    row.size_mb = size_mb(Path(path))
    if meta.get("converter") and row.backend != "torch":
        row.converter = meta["converter"]
    row.parity = format_parity(meta.get("parity"))
    seed = int.from_bytes(hashlib.sha256(str(path).encode()).digest()[:4], "little")
    clip = np.random.default_rng(seed).standard_normal(loaded.input_shape, dtype=np.float32)
    samples = time_calls(lambda: loaded.run(clip), warmup=timing.warmup, runs=timing.runs,
                         min_time=timing.min_time, sync=_sync_for(row.device), clock=tools.clock)
    stats = LatencyStats.from_seconds(samples)
    row.peak_rss_mb = peak_rss_mb()
    row.runs = stats.runs
    row.p50_ms, row.p90_ms, row.p99_ms = stats.p50_ms, stats.p90_ms, stats.p99_ms
    row.mean_ms, row.std_ms = stats.mean_ms, stats.std_ms
    row.clips_per_s = stats.clips_per_s
    # Throughput in the reference model's MACs: the same numerator for every form, so a faster
    # form shows as a higher rate, not as "fewer MACs".
    row.gmacs_per_s = row.macs * row.clips_per_s / 1e9 if row.macs else None
    row.status = OK
    tools.log(f"{row.model} {row.form} {row.backend} {row.precision} {threads}t: "
              f"p50 {row.p50_ms:.2f} ms over {row.runs} runs on "
              f"{getattr(loaded, 'device', device)}")
    return row


def run_jobs(jobs: list[Job], cache: ArtifactCache, tools: Tools,
             timing: TimingOptions) -> list[Row]:
    """Every export first, then every timing, so no converter work overlaps a timed run."""
    prepared = [prepare_job(job, cache, tools) for job in jobs]
    return [measure_job(job, row, path, tools, timing) if path is not None else row
            for job, (row, path) in zip(jobs, prepared)]


def run_model_file(path: "str | os.PathLike", backends: list[str] | None, threads: list[int],
                   device: str, tools: Tools, timing: TimingOptions) -> list[Row]:
    """Rows for a given ``--model``: its sidecar says what it is. A load error is the user's."""
    from vmf.export.sidecar import read_sidecar

    path = Path(path)
    if not path.exists():
        raise VmfError(f"--model {path}: no such file")
    meta = read_sidecar(path) if path.suffix != ".pt" else _checkpoint_meta(path)
    rows = []
    for backend in backends or [None]:
        for t in threads:
            variant, baseline = str(meta.get("variant", "?")), bool(meta.get("baseline", False))
            frames, res = int(meta["frames"]), int(meta["resolution"])
            paper = paper_latency(model_name(variant, baseline), frames)
            row = Row(variant=variant, baseline=baseline, backend=backend or "", device=device,
                      precision=str(meta.get("precision", "fp32")), converter=meta.get("converter"),
                      threads=t, frames=frames, resolution=res, macs=meta.get("macs"),
                      params=meta.get("params"), model=model_name(variant, baseline),
                      form=str(meta.get("form", "")), paper_gpu_ms=paper.gpu_ms if paper else None,
                      paper_cpu_ms=paper.cpu_ms if paper else None)
            rows.append(time_artifact(path, row, tools, timing, backend, t, device))
    return rows


def _checkpoint_meta(path: Path) -> dict:
    from vmf.model import count_macs, count_params, load_checkpoint

    model = load_checkpoint(path)
    cfg = model.cfg
    return {"variant": cfg.name, "baseline": model.baseline, "frames": cfg.frames,
            "resolution": cfg.resolution, "precision": "fp32", "form": REFERENCE,
            "macs": count_macs(model), "params": count_params(model)}
