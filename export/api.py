"""``export()``: the Python API behind ``vmf-export`` (and what vmf-bench calls).

It checks every option before any work (``vmf.contract.targets.plan``), loads
the weights once, measures the model's facts once (``metadata.ModelFacts``),
builds the parity clips and the reference logits once (``session.ExportSession``),
then runs each requested target's step, named by its record in the target
registry (``Target.writer``: ``onnx.export_onnx``, ``tflite.export_tflite``, ...;
no god-exporter that knows every format). Everything is written under a hidden
scratch folder inside ``out_dir`` and renamed into place only when verified
(``steps.run_step``).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vmf.contract import targets as registry
from vmf.contract.labels import load_labels
from vmf.contract.targets import DEFAULT_TARGET, plan
from vmf.model import CheckpointError, VmfError, get_variant
from vmf.model.files import ordinary_mode, terminate_cleanly

from .metadata import ModelFacts
from .quiet import conversion_log, converter_failed, record_exception
from .session import ExportOptions, ExportSession, checkpoint_config, load_model, prepare_out_dir, writer_of
from .steps import Artifact

# torch, numpy and the model code are imported where they are used, so that
# ``vmf-export --help`` and ``vmf-bench --help`` start in a fraction of a second.

__all__ = ["DEFAULT_TARGET", "ExportReport", "export", "load_model"]


@dataclass
class ExportReport:
    """What ``export`` produced: the artifacts and the facts they share."""

    variant: str
    baseline: bool
    frames: int
    resolution: int
    out_dir: Path
    untrained: bool
    weights_sha256: str
    macs: int
    params: int
    artifacts: list[Artifact] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def of(cls, facts: ModelFacts, out_dir: Path) -> "ExportReport":
        """An empty report of an export of the model ``facts`` describe."""
        return cls(
            facts.variant,
            facts.baseline,
            facts.frames,
            facts.resolution,
            out_dir,
            facts.untrained,
            facts.weights_sha256,
            facts.macs,
            facts.params,
        )

    def to_dict(self) -> dict:
        return {
            "variant": self.variant,
            "baseline": self.baseline,
            "frames": self.frames,
            "resolution": self.resolution,
            "out_dir": str(self.out_dir),
            "untrained": self.untrained,
            "weights_sha256": self.weights_sha256,
            "macs": self.macs,
            "params": self.params,
            "seconds": round(self.seconds, 2),
            "artifacts": [a.to_dict() for a in self.artifacts],
        }


def export(
    variant: "str | None",
    targets=(DEFAULT_TARGET,),
    precisions=None,
    *,
    converter=None,
    out_dir="exports",
    weights=None,
    baseline=False,
    frames=None,
    resolution=None,
    num_classes=None,
    labels=None,
    calibration=None,
    verify=True,
    form="deployable",
    verbose=False,
    allow_partitions=False,
    delegate=None,
    allow_portable=False,
    split=False,
    ort_web=None,
    log: Callable[[str], None] = print,
    warn: Callable[[str], None] | None = None,
) -> ExportReport:
    """Export ``variant`` to each of ``targets`` at each of ``precisions``; verified artifacts.

    The defaults are ``vmf-export``'s: target tflite, and ``precisions=None``
    takes each target's default (onnx fp32, tflite fp32, coreml fp16).
    Converter output goes to a log that is kept under ``out_dir`` (and named in
    the error) when the export fails; ``verbose=True`` lets it print to the
    console instead (``vmf.export.quiet``). ``num_classes`` defaults to the checkpoint's with ``weights``,
    else 400. ``form="naive"`` exports the reference 5-D model unrewritten (onnx,
    tflite through onnx2tf; files suffixed ``_naive``; no lint gate).
    ``allow_partitions`` keeps a phone form (``ort``, deployable ``tflite``)
    that its accelerators would cut into more partitions than its budget
    (docs/mobile-accelerators.md). Raises
    ``VmfError`` (one clear sentence) on any user error or failed check; then
    nothing is left half-written in ``out_dir``. ``delegate`` ("xnnpack", the
    default, or "coreml") and ``allow_portable`` (keep a ``.pte`` with ops left on
    ExecuTorch's portable kernels) apply to the executorch target. ``split``
    also writes stem + body halves of every fp32 artifact of a splittable target
    (``vmf.export.split``; docs/streaming.md), inside the same cleanup and log.
    ``ort_web`` is where the web target takes the ONNX Runtime Web files from (an
    ``onnxruntime-web`` package or its ``dist`` folder; default: ``web_demo/node_modules``,
    else a cache npm fills; ``vmf.export.web``).
    """
    warn = warn or (lambda message: print(message, file=sys.stderr))
    started = time.perf_counter()
    if weights is not None and not Path(weights).is_file():
        raise CheckpointError(f"--weights {weights}: no such file")
    trained = checkpoint_config(weights) if weights is not None else None
    if variant is None:
        if trained is None:
            raise VmfError("say which variant to export (--variant), or give --weights a vmf checkpoint")
        variant = trained.name
    cfg = get_variant(variant)
    if trained is not None and trained.name == cfg.name:
        # A trained checkpoint is deployed at the clip it learned (frames,
        # resolution) unless told otherwise, with its own stem.
        cfg = trained
    jobs = plan(targets, precisions, converter, form, calibration, delegate)
    if split:
        _check_split(jobs, form)
    frames = cfg.frames if frames is None else frames
    resolution = cfg.resolution if resolution is None else resolution
    for name, value in (("frames", frames), ("resolution", resolution)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise VmfError(f"--{name} must be a positive integer, got {value!r}")
    if frames % cfg.temporal_stride:
        raise VmfError(
            f"--frames {frames} is not a multiple of variant {cfg.name}'s temporal "
            f"stride {cfg.temporal_stride} (e.g. {max(1, frames // cfg.temporal_stride) * cfg.temporal_stride})"
        )
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 1):
        raise VmfError(f"--num-classes must be a positive integer, got {num_classes!r}")
    if calibration is not None and not Path(calibration).is_dir():
        raise VmfError(f"--calibration {calibration} is not a directory of videos")
    options = ExportOptions(
        form=form,
        verify=verify,
        calibration=calibration,
        allow_partitions=allow_partitions,
        allow_portable=allow_portable,
        ort_web=ort_web,
    )
    out = prepare_out_dir(out_dir)
    model, untrained = load_model(cfg.name, weights, baseline, num_classes, warn)
    trained_classes = getattr(model, "classes", None)
    class_names = (
        list(trained_classes)
        if labels is None and trained_classes
        else load_labels(model.num_classes, labels)
    )
    scratch = Path(tempfile.mkdtemp(prefix=".vmf-export-", dir=out))
    conversion = scratch / "conversion.log"
    try:
        with terminate_cleanly(), conversion_log(conversion, show=verbose):
            facts = ModelFacts.of(
                model, untrained=untrained, frames=frames, resolution=resolution, labels=class_names
            )
            session = ExportSession(model, facts, options, out=out, scratch=scratch, log=log, warn=warn)
            report = ExportReport.of(facts, out)
            for job in jobs:
                try:
                    report.artifacts += writer_of(job.target)(session, job)
                except Exception as exc:  # noqa: BLE001 -- every failure gets its log kept
                    record_exception(exc)
                    raise _failed(exc, job.target, conversion, out, verbose) from None
            if split:
                try:
                    _add_split(report, model, log)
                except Exception as exc:  # noqa: BLE001 -- as a target's failure
                    record_exception(exc)
                    raise _failed(exc, "split", conversion, out, verbose) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _splittable(target: str, precision: str, form: str) -> bool:
    return registry.get(target).splittable and precision == "fp32" and form == "deployable"


def _check_split(jobs: list[registry.Job], form: str) -> None:
    """``split=True`` needs an fp32 artifact of a splittable target: said before any work."""
    if not any(_splittable(j.target, p, form) for j in jobs for p in j.precisions):
        kinds = " and ".join(t.suffix for t in registry.REGISTRY.values() if t.splittable)
        raise VmfError(f"--split writes halves of fp32 {kinds} exports; this export has none")


def _add_split(report: "ExportReport", model, log: Callable[[str], None]) -> None:
    """Stem + body halves beside every splittable artifact of ``report`` (``split.add_split``)."""
    from .split import add_split

    for artifact in report.artifacts:
        if _splittable(artifact.target, artifact.precision, artifact.form):
            add_split(artifact.path, model, log=log)


def _failed(exc: Exception, target: str, conversion: Path, out: Path, verbose: bool) -> VmfError:
    """One line for a failed target: the reason, and where the converter output was kept."""
    if isinstance(exc, VmfError):
        reason = str(exc)
    else:  # a converter's own exception: long and multi-line; the log has all of it
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        reason = f"{target} export failed: {type(exc).__name__}" + (f": {first}" if first else "")
    if verbose or not conversion.is_file() or (isinstance(exc, VmfError) and not converter_failed()):
        # our own checks (parity, lint) say all there is to say in one line
        return type(exc)(reason) if isinstance(exc, VmfError) else VmfError(reason)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = out / f"vmf-export-{target}-{stamp}.log"
    try:
        shutil.move(str(conversion), kept)
        kept.chmod(ordinary_mode())
    except OSError:
        return VmfError(reason)
    message = f"{reason} (converter output: {kept})"
    return type(exc)(message) if isinstance(exc, VmfError) else VmfError(message)
