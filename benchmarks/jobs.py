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

from vmf.model import VARIANTS

from .reference import model_name

# What each backend times, and the artifact it needs: ``--backend`` choices.
# OpenVINO runs the same .onnx files as ONNX Runtime (one cached export serves both).
BACKEND_TARGETS = {
    "onnxruntime": "onnx",
    "tflite": "tflite",
    "torch": "checkpoint",
    "coreml": "coreml",
    "openvino": "onnx",
    "executorch": "executorch",
}
PRECISIONS = ("fp32", "fp16", "int8")
DEVICES = ("cpu", "cuda")
CUDA_BACKENDS = ("onnxruntime", "torch")
NO_CUDA = {
    "tflite": "its GPU delegate runs on phones",
    "coreml": "it runs on Apple devices",
    "openvino": "its GPU plugin is for Intel GPUs",
    "executorch": "its Python runtime runs .pte models on the CPU",
}
NAIVE_BACKENDS = ("onnxruntime", "tflite", "openvino")  # the exporter's naive form has these targets
X3D_NAME = "X3D-S"
X3D_BACKENDS = ("onnxruntime", "openvino")  # exported naively to ONNX here (benchmarks/x3d.py)

# Forms: the rank-4 export, the reference 5-D graph exported as is, the PyTorch reference model.
DEPLOYABLE, NAIVE, REFERENCE = "deployable", "naive", "reference"


@dataclass(frozen=True)
class Job:
    variant: str  # a VARIANTS key, or X3D_NAME
    baseline: bool
    backend: str
    precision: str
    form: str  # DEPLOYABLE / NAIVE export; REFERENCE for torch (the reference network, eagerly)
    threads: int
    device: str
    frames: int
    resolution: int
    converter: str | None = None  # the TFLite converter; None for the other backends

    @property
    def model(self) -> str:
        return model_name(self.variant, self.baseline)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def check_with_exporter(target: str, precision: str, converter: str | None, form: str) -> None:
    """Raise the exporter's own ``VmfError`` for a combination it does not export (no work)."""
    from vmf.export.api import plan

    plan((target,), (precision,), converter, form, None)


@dataclass
class Tools:
    """The outside world a run touches; the tests swap these for fakes."""

    export: Callable[..., Any] | None = None  # vmf.export.export
    # Refuses what ``export`` cannot make (target, precision, converter, form), before any work.
    check_export: Callable[[str, str, str | None, str], None] = check_with_exporter
    load_backend: Callable[..., Any] | None = None  # vmf.runtime.backends.load_backend
    clock: Callable[[], float] = time.perf_counter  # used when timing in-process
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
    from vmf.export.api import DEFAULT_CONVERTER

    converter = converter or DEFAULT_CONVERTER  # named, so the default and its name share a cache
    jobs = []
    models = [(v, False) for v in variants] + ([(v, True) for v in variants] if baseline else [])
    for variant, base in models:
        cfg = VARIANTS[variant]
        clip = (frames or cfg.frames, resolution or cfg.resolution)
        for backend in backends:
            forms = (
                [REFERENCE]
                if backend == "torch"
                else [DEPLOYABLE] + ([NAIVE] if naive and backend in NAIVE_BACKENDS else [])
            )
            for form in forms:
                # The exporter converts the naive (rank-5) form to TFLite through onnx2tf only.
                conv = None if backend != "tflite" else "onnx2tf" if form == NAIVE else converter
                for precision in precisions:
                    for t in threads:
                        jobs.append(Job(variant, base, backend, precision, form, t, device, *clip, conv))
    if x3d:
        from .x3d import X3D_S

        clip = (frames or X3D_S.frames, resolution or X3D_S.resolution)
        for backend in (b for b in backends if b in X3D_BACKENDS):
            for t in threads:
                jobs.append(Job(X3D_NAME, False, backend, "fp32", NAIVE, t, device, *clip))
    return jobs


def refused(job: Job) -> str | None:
    """Combinations that cannot run, said before any export is attempted."""
    if job.device == "cuda" and job.backend not in CUDA_BACKENDS:
        return f"{job.backend} has no CUDA path here ({NO_CUDA[job.backend]})"
    if job.backend == "torch" and job.precision != "fp32":
        return "the torch backend times fp32 only"
    return None
