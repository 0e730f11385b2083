"""What a run is made of: the jobs the options ask for, and the tools a run uses.

A job is one row of the table: a model (variant, baseline or X3D-S), a form,
a backend, a precision, a thread count, a device and a clip. ``plan_jobs``
expands the command-line options into them in table order.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from vmf.contract import targets as registry
from vmf.contract.targets import PRECISIONS  # noqa: F401  (the --precision choices)
from vmf.model import VARIANTS

from .reference import model_name

TORCH = "torch"  # the backend that also runs a checkpoint: the reference network (--naive)
CHECKPOINT = "checkpoint"  # what a reference row needs instead of an export target
DEVICES = ("cpu", "cuda")
CUDA_BACKENDS = ("onnxruntime", "torch")
NO_CUDA = {
    "tflite": "its GPU delegate runs on phones",
    "coreml": "it runs on Apple devices",
    "openvino": "its GPU plugin is for Intel GPUs",
    "executorch": "its Python runtime runs .pte models on the CPU",
}
X3D_NAME = "X3D-S"
X3D_TARGET = "onnx"  # X3D-S is exported naively to ONNX here (benchmarks/x3d.py)

# Forms: the rank-4 export, the reference 5-D graph exported as is, the PyTorch reference model.
DEPLOYABLE, NAIVE, REFERENCE = "deployable", "naive", "reference"


def backend_targets() -> dict[str, str]:
    """``--backend`` choices -> what their rows export and time, from the target registry.

    A benchmarked target's backend and the others that run its files (OpenVINO runs
    the same .onnx as ONNX Runtime: one cached export serves both; torch runs the .pt2).
    """
    found: dict[str, str] = {}
    for target in registry.REGISTRY.values():
        if target.benchmarked:
            for backend in target.backends:
                found.setdefault(backend, target.name)
    return found


def target_of(backend: str, form: str = DEPLOYABLE) -> str:
    """The export target a row on ``backend`` times; ``CHECKPOINT`` for a reference row."""
    return CHECKPOINT if form == REFERENCE else backend_targets()[backend]


def naive_backends() -> tuple[str, ...]:
    """The backends whose target the exporter also writes in the naive (5-D) form."""
    return tuple(b for b, t in backend_targets().items() if t != CHECKPOINT and registry.get(t).naive)


def x3d_backends() -> tuple[str, ...]:
    """The backends that time X3D-S's ONNX export."""
    return registry.get(X3D_TARGET).backends


@dataclass(frozen=True)
class Job:
    variant: str  # a VARIANTS key, or X3D_NAME
    baseline: bool
    backend: str
    precision: str
    form: str  # DEPLOYABLE / NAIVE export; REFERENCE: torch running a checkpoint's reference network
    threads: int
    device: str
    frames: int
    resolution: int
    converter: str | None = None  # the --converter of its target (TFLite's); None for the others

    @property
    def model(self) -> str:
        return model_name(self.variant, self.baseline)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def check_with_exporter(target: str, precision: str, converter: str | None, form: str) -> None:
    """Raise the exporter's own ``VmfError`` for a combination it does not export (no work)."""
    registry.plan((target,), (precision,), converter, form, None)


@dataclass
class Tools:
    """The outside world a run touches; the tests swap these for fakes."""

    export: Callable[..., Any] | None = None  # vmf.export.export
    # Refuses what ``export`` cannot make (target, precision, converter, form), before any work.
    check_export: Callable[[str, str, str | None, str], None] = check_with_exporter
    load_backend: Callable[..., Any] | None = None  # vmf.runtime.backends.load_backend
    clock: Callable[[], float] = time.perf_counter  # used when timing in-process
    sleep: Callable[[float], Any] = time.sleep  # paced runs (--paced) wait with it, in-process
    log: Callable[[str], None] = _stderr
    isolate: bool | None = None  # one fresh process per timed row; None: the CLI decides
    exported: set = field(default_factory=set)  # cache keys exported by this run
    cached: set = field(default_factory=set)  # cache keys an earlier run had exported
    # An export that failed once in this run fails the same way for the next thread count.
    failed_exports: dict = field(default_factory=dict)

    def export_counts(self) -> dict:
        return {"exported": len(self.exported), "cached": len(self.cached - self.exported)}

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


def plan_jobs(
    variants,
    backends,
    precisions,
    threads,
    *,
    baseline=False,
    naive=False,
    x3d=False,
    device="cpu",
    frames=None,
    resolution=None,
    converter=None,
) -> list[Job]:
    """Every row the options ask for, in table order: model, form, backend, precision, threads."""
    jobs = []
    models = [(v, False) for v in variants] + ([(v, True) for v in variants] if baseline else [])
    for variant, base in models:
        cfg = VARIANTS[variant]
        clip = (frames or cfg.frames, resolution or cfg.resolution)
        for backend in backends:
            # --naive: what the deployable form saves; on torch that is the reference network
            # a checkpoint runs (docs/runtime.md), as no naive .pt2 is exported.
            unrewritten = REFERENCE if backend == TORCH else NAIVE
            forms = [DEPLOYABLE] + (
                [unrewritten] if naive and (backend == TORCH or backend in naive_backends()) else []
            )
            for form in forms:
                conv = _converter(backend, form, converter)
                for precision in precisions:
                    for t in threads:
                        jobs.append(Job(variant, base, backend, precision, form, t, device, *clip, conv))
    if x3d:
        from .x3d import X3D_S

        clip = (frames or X3D_S.frames, resolution or X3D_S.resolution)
        for backend in (b for b in backends if b in x3d_backends()):
            for t in threads:
                jobs.append(Job(X3D_NAME, False, backend, "fp32", NAIVE, t, device, *clip))
    return jobs


def _converter(backend: str, form: str, converter: str | None) -> str | None:
    """The ``--converter`` a row exports with, named (so the default and its name share a cache)."""
    target = target_of(backend, form)
    if target == CHECKPOINT or registry.get(target).converter_option != "converter":
        return None
    record = registry.get(target)
    if form == NAIVE and record.naive_converter:
        return record.naive_converter  # e.g. the naive (rank-5) form converts to TFLite through onnx2tf only
    return converter or record.default_converter


def refused(job: Job) -> str | None:
    """Combinations that cannot run, said before any export is attempted."""
    if job.device == "cuda" and job.backend not in CUDA_BACKENDS:
        return f"{job.backend} has no CUDA path here ({NO_CUDA[job.backend]})"
    if job.backend == TORCH and job.precision != "fp32":
        return "the torch backend times fp32 only"
    return None
