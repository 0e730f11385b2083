"""``export()``: the Python API behind ``vmf-export`` (and what vmf-bench calls).

It checks every option before any work, loads the weights once, builds the
parity clips and the reference logits once, then runs each requested target's
function, found by name in ``TARGET_STEPS`` (no god-exporter
that knows every format). Everything is written under a hidden scratch folder inside
``out_dir`` and renamed into place only when verified (``steps.run_step``).
"""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple

from vmf.contract.labels import load_labels
from vmf.model import VARIANTS, CheckpointError, VariantConfig, VmfError, get_variant
from vmf.model.files import ordinary_mode, terminate_cleanly

from .quiet import conversion_log, converter_failed, record_exception
from .steps import Artifact, run_step

if TYPE_CHECKING:
    import numpy as np

# torch, numpy and the model code are imported where they are used, so that
# ``vmf-export --help`` and ``vmf-bench --help`` (which read the constants
# below) start in a fraction of a second.

TARGETS = ("onnx", "tflite", "coreml", "ort", "executorch")
ALL_TARGETS = ("onnx", "tflite", "coreml", "executorch")  # what --target all exports
DEFAULT_TARGET = "tflite"  # vmf-export and export() alike: the phone format
CONVERTERS = ("onnx2tf", "litert-torch")
# Chosen on measured parity and latency (VMF-560M fp32, 64 x 172 x 172, LiteRT
# interpreter, 2 threads, 4 x 150 interleaved runs): a tie within noise (median
# 21.8 ms litert-torch vs 21.4 ms onnx2tf; max rel err 1.7e-6 vs 1.4e-6). Then
# litert-torch: it converts 2.7x faster (31 s vs 84 s), leaves fewer TRANSPOSE
# ops (44 vs 70; they cost on GPU delegates), needs no ONNX detour or TF
# subprocess, and is the path Google maintains (onnx2tf's README points to it).
DEFAULT_CONVERTER = "litert-torch"
PRECISIONS = ("fp32", "fp16", "int8")
SUPPORTED_PRECISIONS = {
    "onnx": ("fp32", "int8"),
    "tflite": ("fp32", "fp16", "int8"),
    "coreml": ("fp16", "fp32"),
    "ort": ("fp32",),
    "executorch": ("fp32", "int8", "fp16"),
}
DEFAULT_PRECISIONS = {
    "onnx": ("fp32",),
    "tflite": ("fp32",),
    "coreml": ("fp16",),
    "ort": ("fp32",),
    "executorch": ("fp32",),
}
# ExecuTorch delegates: what each takes (the Core ML delegate computes in fp16 or fp32).
DELEGATES = ("xnnpack", "coreml")
DELEGATE_PRECISIONS = {"xnnpack": ("fp32", "int8"), "coreml": ("fp16", "fp32")}
FORMS = ("deployable", "naive")
SEED = 0  # seeded random weights when no --weights is given
ORT_AGREEMENT_ATOL = 1e-5  # .ort vs the mobile .onnx it comes from: the same kernels, same graph
EXTENSIONS = {
    "onnx": ".onnx",
    "tflite": ".tflite",
    "coreml": ".mlpackage",
    "ort": ".ort",
    "executorch": ".pte",
}


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


def did_you_mean(value: str, choices: Iterable[str], what: str) -> VmfError:
    """An error naming the valid choices, with the closest one suggested."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(str(value).lower(), list(lowered), n=1, cutoff=0.5)
    hint = f"; did you mean {lowered[close[0]]!r}?" if close else ""
    return VmfError(f"unknown {what} {value!r}{hint} (valid: {', '.join(choices)})")


def artifact_name(
    cfg: VariantConfig,
    *,
    baseline: bool,
    frames: int,
    resolution: int,
    target: str,
    precision: str,
    converter: str | None,
    form: str,
) -> str:
    """``vmf-560m_fp32.tflite``; ``mobile3d-1g_...`` for baselines.

    Artifacts are written to ``<out>/<target>/<name>`` with ``<stem>.json``
    beside each: one folder per target, because ``vmf-560m_fp32.onnx`` and
    ``vmf-560m_fp32.tflite`` would otherwise share the sidecar ``vmf-560m_fp32.json``.

    Suffixes, in order, only where they differ from the defaults: ``_t16``
    (frames), ``_r112`` (resolution), ``_onnx2tf`` / ``_litert-torch`` (a TFLite
    converter other than the default), ``_coreml`` (an ExecuTorch delegate other than
    XNNPACK), ``_naive`` (the unrewritten 5-D model).
    """
    stem = f"{'mobile3d' if baseline else 'vmf'}-{cfg.name.lower()}"
    if cfg.name in VARIANTS:  # a trained checkpoint's clip differs from the table's: say so
        cfg = VARIANTS[cfg.name]
    if frames != cfg.frames:
        stem += f"_t{frames}"
    if resolution != cfg.resolution:
        stem += f"_r{resolution}"
    stem += f"_{precision}"
    if target == "tflite" and converter != DEFAULT_CONVERTER:
        stem += f"_{converter}"
    if target == "executorch" and converter not in (None, "xnnpack"):
        stem += f"_{converter}"  # the delegate
    if form == "naive":
        stem += "_naive"
    return stem + EXTENSIONS[target]


@dataclass
class Job:
    target: str
    precisions: tuple[str, ...]
    converter: str | None


def plan(targets, precisions, converter, form, calibration, delegate=None) -> list[Job]:
    """Check the target/precision/converter/form/delegate options together; the jobs to run."""
    if isinstance(targets, str):
        targets = (targets,)
    targets = list(targets)
    for t in targets:
        if t not in TARGETS + ("all",):
            raise did_you_mean(t, TARGETS + ("all",), "target")
    lenient = "all" in targets
    if lenient:
        targets = list(ALL_TARGETS)
    if form not in FORMS:
        raise did_you_mean(form, FORMS, "form")
    if precisions is not None:
        if isinstance(precisions, str):
            precisions = (precisions,)
        for p in precisions:
            if p not in PRECISIONS:
                raise did_you_mean(p, PRECISIONS, "precision")
    if converter is not None and converter not in CONVERTERS:
        raise did_you_mean(converter, CONVERTERS, "converter")
    if converter is not None and "tflite" not in targets:
        raise VmfError("--converter applies to --target tflite only")
    if form == "naive" and "coreml" in targets and not lenient:
        raise VmfError("the naive form exports to onnx and tflite only (Core ML takes the deployable form)")
    if form == "naive" and "ort" in targets:
        raise VmfError(
            "the naive form exports to onnx and tflite only (ONNX Runtime Mobile takes the deployable form)"
        )
    if form == "naive" and converter == "litert-torch":
        raise VmfError("the naive form converts to TFLite through onnx2tf only")
    if delegate is not None and delegate not in DELEGATES:
        raise did_you_mean(delegate, DELEGATES, "delegate")
    if delegate is not None and "executorch" not in targets:
        raise VmfError("--delegate applies to --target executorch only")
    if form == "naive" and "executorch" in targets and not lenient:
        raise VmfError(
            "the naive form exports to onnx and tflite only (ExecuTorch takes the deployable form)"
        )
    delegate = delegate or "xnnpack"
    jobs = []
    for t in targets:
        if form == "naive" and t in ("coreml", "executorch"):
            continue
        supported = DELEGATE_PRECISIONS[delegate] if t == "executorch" else SUPPORTED_PRECISIONS[t]
        default = (DELEGATE_PRECISIONS[delegate][0],) if t == "executorch" else DEFAULT_PRECISIONS[t]
        wanted = default if precisions is None else tuple(dict.fromkeys(precisions))
        ok = tuple(p for p in wanted if p in supported)
        refused = [p for p in wanted if p not in supported]
        if refused and not lenient:
            which = f"--target {t}" + (f" --delegate {delegate}" if t == "executorch" else "")
            raise VmfError(
                f"{which} does not support --precision {refused[0]} (supported: {', '.join(supported)})"
            )
        if ok:
            conv = (
                converter or ("onnx2tf" if form == "naive" else DEFAULT_CONVERTER)
                if t == "tflite"
                else delegate
                if t == "executorch"
                else None
            )
            jobs.append(Job(t, ok, conv))
    if not jobs:
        raise VmfError(f"no target supports --precision {', '.join(precisions or ())}")
    if calibration is not None and not any("int8" in j.precisions for j in jobs):
        raise VmfError("--calibration is used for int8 only; add --precision int8")
    return jobs


def prepare_out_dir(out_dir: "str | os.PathLike") -> Path:
    """Create ``out_dir`` if needed and prove it writable; one clear error if not."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".vmf-write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise VmfError(f"cannot write to --out {out} ({exc.strerror or exc.__class__.__name__})") from None
    return out


def checkpoint_config(weights) -> "VariantConfig | None":
    """The config a vmf checkpoint records (its variant, trained clip and stem); None for a state dict."""
    from vmf.model import read_checkpoint

    ckpt = read_checkpoint(weights)
    if ckpt.get("format") is None:
        return None
    try:
        return VariantConfig.from_dict(ckpt["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{weights} has a malformed config ({exc})") from None


def load_model(variant: str, weights, baseline: bool, num_classes: int | None, warn: Callable[[str], None]):
    """(reference model in eval mode, untrained?)."""
    import torch

    from vmf.model import build_model, load_weights

    cfg = get_variant(variant)
    if weights is not None:
        model = load_weights(weights, cfg, baseline=True if baseline else None, num_classes=num_classes)
        return model.eval(), False
    warn(
        f"warning: no --weights given; exporting seeded random weights (seed {SEED}): "
        "the model runs but its predictions mean nothing"
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = build_model(cfg, baseline=baseline, num_classes=num_classes or 400)
    return model.eval(), True


class Calibration(NamedTuple):
    """What int8 is calibrated and judged on (``ExportSession.calibration``)."""

    calib: "np.ndarray"  # clips to calibrate on
    held: "np.ndarray"  # held-out clips, never calibrated on
    references: "np.ndarray"  # the reference model's logits on ``held``
    source: str
    held_labels: "np.ndarray | None"  # label index per held-out clip (labelled folder), else None


def _run_all(predict, clips, name: str) -> "np.ndarray":
    """``predict_all``, with a runtime's refusal to run the artifact as one clear error."""
    from .parity import predict_all

    try:
        return predict_all(predict, clips)
    except (RuntimeError, ValueError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise VmfError(f"{name} was written but does not run ({reason}); nothing was kept") from None


class ExportSession:
    """State shared by the steps of one ``export`` call (model, clips, references, scratch)."""

    def __init__(
        self,
        *,
        model,
        untrained,
        cfg,
        baseline,
        frames,
        resolution,
        labels,
        out,
        scratch,
        verify,
        form,
        calibration,
        log,
        warn,
        allow_partitions=False,
        allow_portable=False,
    ):
        self.model, self.untrained, self.cfg = model, untrained, cfg
        self.baseline, self.frames, self.resolution = baseline, frames, resolution
        self.labels, self.out, self.scratch = labels, out, scratch
        self.verify, self.form, self.calibration_dir = verify, form, calibration
        self.log, self.warn = log, warn
        self.allow_partitions = allow_partitions
        self.allow_portable = allow_portable
        from vmf.model import count_macs, count_params, state_dict_sha256

        from .parity import PARITY_CLIPS, structured_clips

        self.num_classes = model.num_classes
        self.sha = state_dict_sha256(model.state_dict())
        self.macs = count_macs(model, frames, resolution)
        self.params = count_params(model)
        self.clips = structured_clips(PARITY_CLIPS, frames, resolution, seed=SEED)
        self.references = self.reference_logits(self.clips)
        self._modules: dict = {}
        self._calibration = None

    # -- shared inputs ----------------------------------------------------------------
    def reference_logits(self, clips: "np.ndarray") -> "np.ndarray":
        import numpy as np
        import torch

        with torch.no_grad():
            return np.concatenate(
                [self.model(torch.from_numpy(c).permute(1, 0, 2, 3)[None]).numpy() for c in clips]
            )

    def module(self, layout: str, spelling: str = "default"):
        """The form being exported, taking one ``layout`` clip (built once per layout and spelling)."""
        key = layout if spelling == "default" else f"{layout}/{spelling}"
        if key not in self._modules:
            if self.form == "naive":
                if layout != "TCHW" or spelling != "default":
                    raise VmfError("the naive form takes TCHW clips only")
                from .naive import NaiveClipModel

                self._modules[key] = NaiveClipModel(self.model).eval()
            else:
                from .deployable import make_deployable

                self._modules[key] = make_deployable(
                    self.model,
                    frames=self.frames,
                    layout=layout,
                    resolution=self.resolution,
                    spelling=spelling,
                )
        return self._modules[key]

    def example(self, layout: str):
        import torch

        from .parity import to_layout

        return torch.from_numpy(to_layout(self.clips[0], layout))

    def calibration(self) -> "Calibration":
        """(calibration clips, held-out clips, held-out reference logits, source, held-out labels)."""
        if self._calibration is None:
            from .calibration import calibration_sets

            sets = calibration_sets(
                self.frames, self.resolution, self.calibration_dir, labels=self.labels, warn=self.warn
            )
            self._calibration = Calibration(
                sets.calib, sets.held, self.reference_logits(sets.held), sets.source, sets.held_labels
            )
        return self._calibration

    # -- checks and metadata ------------------------------------------------------------
    def parity(self, predict, target: str, precision: str, name: str) -> dict:
        """Measure, gate, and (unless verify is off) fail on a miss."""
        from .parity import compare, gate, labelled_accuracy

        if precision == "int8":
            data = self.calibration()
            outputs = _run_all(predict, data.held, name)
            figures = compare(outputs, data.references)
            figures["heldout"] = data.source
            if data.held_labels is not None:  # reported, not gated: the gate is the cosine
                figures.update(labelled_accuracy(outputs, data.references, data.held_labels))
        else:
            figures = compare(_run_all(predict, self.clips, name), self.references)
        figures = gate(figures, target, precision)
        figures["checked"] = True
        if not figures["passed"]:
            miss = (
                f"cosine median {figures['cosine_median']:.4f} (>= {figures['threshold']}), "
                f"min {figures['cosine_min']:.4f} (>= {figures['floor']})"
                if figures["metric"] == "cosine_median"
                else f"max rel err {figures['max_rel_err']:.2e} > {figures['threshold']:.0e}"
            )
            if self.verify:
                raise VmfError(
                    f"parity check failed for {name}: {miss}; nothing was written (--no-verify keeps it)"
                )
            self.warn(f"warning: parity check failed for {name}: {miss} (kept: --no-verify)")
        return figures

    def metadata(
        self, *, target, precision, converter, input_name, layout, parity, lint=None, partitions=None
    ):
        from .metadata import build_metadata

        return build_metadata(
            cfg=self.cfg,
            baseline=self.baseline,
            frames=self.frames,
            resolution=self.resolution,
            num_classes=self.num_classes,
            target=target,
            form=self.form,
            precision=precision,
            converter=converter,
            input_name=input_name,
            layout=layout,
            labels=self.labels,
            weights_sha256=self.sha,
            untrained=self.untrained,
            parity=parity,
            macs=self.macs,
            params=self.params,
            lint=lint,
            sample_fps=getattr(self.model, "sample_fps", None),
            clip_sampling=getattr(self.model, "clip_sampling", None),
            partitions=partitions,
        )

    def partitions(self, counts: dict, form: str | None, name: str) -> dict:
        """The card's ``partitions`` object; a phone ``form`` over its budget fails unless allowed."""
        from .partitions import check_budget, partitions_card, summary

        card = partitions_card(counts, form)
        self.log(f"{name}: partitions {summary(counts)}")
        if form is not None and not card["within_budget"]:
            if not self.allow_partitions:
                check_budget(counts, form, name)
            self.warn(f"warning: {name} exceeds its partition budget (kept: --allow-partitions)")
        return card

    def final_path(self, target: str, precision: str, converter: str | None) -> Path:
        # One folder per target: the sidecar of x.onnx and of x.tflite would both be x.json.
        return (
            self.out
            / target
            / artifact_name(
                self.cfg,
                baseline=self.baseline,
                frames=self.frames,
                resolution=self.resolution,
                target=target,
                precision=precision,
                converter=converter,
                form=self.form,
            )
        )

    def step(self, target, precision, converter, build, final: Path | None = None) -> Artifact:
        what = f"{target} {precision}" + (f" ({converter})" if converter else "")
        final = final or self.final_path(target, precision, converter)
        return run_step(
            what,
            final,
            build,
            log=self.log,
            target=target,
            precision=precision,
            converter=converter,
            form=self.form,
        )


# -- one function per target, found by name ---------------------------------------------
def export_onnx(s: ExportSession, job: Job) -> list[Artifact]:
    from .onnx import INPUT_NAME, onnx_predictor, quantize_onnx, torch2onnx
    from .partitions import ort_partitions

    fp32 = s.scratch / "deployable_fp32.onnx"  # exported once; int8 is a QDQ copy of it
    start = time.perf_counter()
    torch2onnx(s.module("TCHW"), s.example("TCHW"), fp32)
    s.log(f"onnx: torch.onnx exported the graph in {time.perf_counter() - start:.1f} s")

    def build_for(precision: str):
        def build(tmp: Path) -> dict:
            if precision == "int8":
                quantize_onnx(fp32, tmp, s.calibration()[0])
                converter = "torch.onnx+onnxruntime.quantization"
            else:
                shutil.copyfile(fp32, tmp)
                converter = "torch.onnx"
            parity = s.parity(onnx_predictor(tmp), "onnx", precision, tmp.name)
            # The server form: counted for the record, no phone budget (--target ort is that).
            partitions = s.partitions(ort_partitions(tmp), None, s.final_path("onnx", precision, None).name)
            return s.metadata(
                target="onnx",
                precision=precision,
                converter=converter,
                input_name=INPUT_NAME,
                layout="TCHW",
                parity=parity,
                partitions=partitions,
            )

        return build

    return [s.step("onnx", p, None, build_for(p)) for p in job.precisions]


def export_tflite(s: ExportSession, job: Job) -> list[Artifact]:
    from .lint import check_tflite, lint_tflite
    from .partitions import gpu_partitions, xnnpack_partitions
    from .tflite import input_name, onnx2tflite, quantize_tflite, tflite_predictor, torch2tflite

    fp32 = s.scratch / f"{job.converter}_fp32.tflite"
    s.log(f"tflite: converting with {job.converter} ...")
    start = time.perf_counter()
    if job.converter == "onnx2tf":
        from .onnx import torch2onnx

        onnx_file = torch2onnx(s.module("TCHW"), s.example("TCHW"), s.scratch / "for_onnx2tf.onnx")
        try:
            onnx2tflite(onnx_file, fp32, sample=s.example("THWC").numpy())
        except VmfError as exc:
            if s.form != "naive" or s.baseline:
                raise
            # Measured: onnx2tf's layout inference breaks on the 5-D bridges' MatMul,
            # and litert-torch crashes on a grouped Conv3d.
            reason = str(exc).split("; try")[0]
            raise VmfError(
                f"{reason}: onnx2tf cannot convert the naive 5-D {s.cfg.name}; that is "
                "what the deployable form fixes. The naive Mobile3D baseline converts "
                "(--baseline)"
            ) from None
    else:
        torch2tflite(s.module("THWC"), s.example("THWC"), fp32)
    s.log(f"tflite: {job.converter} converted in {time.perf_counter() - start:.1f} s")
    gated = s.verify and s.form == "deployable"  # the naive form is rank 5 by design

    def build_for(precision: str):
        def build(tmp: Path) -> dict:
            calibration = s.calibration()[0] if precision == "int8" else None
            quantize_tflite(fp32, tmp, precision, calibration, layout="THWC")
            lint = (check_tflite(tmp) if gated else lint_tflite(tmp)).to_dict()
            counts = {"xnnpack": xnnpack_partitions(tmp), "gpu": gpu_partitions(tmp)}
            lint["partitions"] = {k: None if v is None else v.partitions for k, v in counts.items()}
            # The budget binds the deployable form through the default converter: the naive
            # form is rank 5 by design, and onnx2tf's int8 graph still leaves ops XNNPACK has
            # no int8 kernel for on the CPU (docs/mobile-accelerators.md); it is counted only.
            name = s.final_path("tflite", precision, job.converter).name
            phone = gated and job.converter == DEFAULT_CONVERTER
            partitions = s.partitions(counts, "tflite" if phone else None, name)
            if gated and not phone and counts["xnnpack"].partitions > 1:
                s.warn(
                    f"warning: {name}: XNNPACK takes it in {counts['xnnpack'].partitions} "
                    f"partitions; --converter {DEFAULT_CONVERTER} makes one"
                )
            parity = s.parity(tflite_predictor(tmp, "THWC"), "tflite", precision, tmp.name)
            return s.metadata(
                target="tflite",
                precision=precision,
                converter=job.converter,
                input_name=input_name(tmp),
                layout="THWC",
                parity=parity,
                lint=lint,
                partitions=partitions,
            )

        return build

    return [s.step("tflite", p, job.converter, build_for(p)) for p in job.precisions]


def export_coreml(s: ExportSession, job: Job) -> list[Artifact]:
    from .coreml import INPUT_NAME, check_spec, coreml_predictor, torch2coreml

    def build_for(precision: str):
        def build(tmp: Path) -> dict:
            torch2coreml(
                s.module("TCHW"),
                s.example("TCHW"),
                tmp,
                precision=precision,
                labels=s.labels,
                description=f"{s.cfg.name} video classifier (vmf)",
            )
            spec = check_spec(tmp, [s.frames, 3, s.resolution, s.resolution], s.num_classes)
            if sys.platform == "darwin":
                parity = s.parity(coreml_predictor(tmp), "coreml", precision, tmp.name)
            else:
                parity = {
                    "checked": False,
                    "reason": "Core ML runs on macOS only; "
                    "the spec (input/output names and shapes, rank <= 4) was checked",
                }
            lint = {
                "passed": True,
                "ops": sum(spec["op_counts"].values()),
                "op_counts": spec["op_counts"],
                "max_rank": spec["max_rank"],
            }
            return s.metadata(
                target="coreml",
                precision=precision,
                converter="coremltools",
                input_name=INPUT_NAME,
                layout="TCHW",
                parity=parity,
                lint=lint,
            )

        return build

    return [s.step("coreml", p, None, build_for(p)) for p in job.precisions]


def export_ort(s: ExportSession, job: Job) -> list[Artifact]:
    """ONNX Runtime Mobile: the mobile ONNX, its ``.ort`` and the operators a minimal build needs.

    Written to ``ort/``: ``<name>_mobile.onnx`` (the deployable form spelled
    for the Core ML and NNAPI EPs, deployable/ort_mobile_spelling.py), ``<name>.ort`` (what an
    app ships) and ``<name>.required_operators.config``, each with the model
    card (embedded in both models, a sidecar beside each, named in the
    config's header). Fails when ONNX Runtime's checker finds more partitions
    than ``partitions.PHONE_BUDGETS["ort"]`` allows, unless allow_partitions.
    """
    from vmf.model.files import write_text

    from .metadata import embed
    from .onnx import INPUT_NAME, onnx_predictor, torch2onnx
    from .ort_format import config_path, onnx_to_ort
    from .parity import compare
    from .partitions import ort_partitions
    from .sidecar import sidecar_path

    mobile = s.scratch / "mobile_fp32.onnx"
    start = time.perf_counter()
    torch2onnx(s.module("TCHW", "ort_mobile"), s.example("TCHW"), mobile)
    s.log(f"ort: torch.onnx exported the mobile graph in {time.perf_counter() - start:.1f} s")
    (precision,) = job.precisions  # fp32 only (SUPPORTED_PRECISIONS["ort"])
    ort_final = s.final_path("ort", precision, None)
    onnx_final = ort_final.with_name(ort_final.stem + "_mobile.onnx")
    counts = ort_partitions(mobile)
    partitions = s.partitions(counts, "ort", ort_final.name)

    def build_onnx(tmp: Path) -> dict:
        shutil.copyfile(mobile, tmp)
        parity = s.parity(onnx_predictor(tmp), "ort", precision, tmp.name)
        return s.metadata(
            target="ort",
            precision=precision,
            converter="torch.onnx",
            input_name=INPUT_NAME,
            layout="TCHW",
            parity=parity,
            partitions=partitions,
        )

    def build_ort(tmp: Path) -> dict:
        config = config_path(ort_final)
        header = [
            f"Operators ONNX Runtime needs to run {ort_final.name} ({s.cfg.name}, "
            f"model card {sidecar_path(ort_final).name}).",
            "Build a minimal ONNX Runtime with: ./build.sh --minimal_build extended "
            f"--include_ops_by_config {config.name} --use_nnapi | --use_coreml",
            "(docs/mobile-accelerators.md).",
        ]
        trial = s.scratch / "trial.ort"
        onnx_to_ort(mobile, trial, s.scratch / config.name, header=header)
        agreement = compare(
            _run_all(onnx_predictor(trial), s.clips, tmp.name),
            _run_all(onnx_predictor(mobile), s.clips, onnx_final.name),
        )
        if agreement["max_abs_err"] > ORT_AGREEMENT_ATOL:
            raise VmfError(
                f"{tmp.name} disagrees with {onnx_final.name} "
                f"(max abs {agreement['max_abs_err']:.1e}); nothing was kept"
            )
        parity = s.parity(onnx_predictor(trial), "ort", precision, tmp.name)
        parity["ort_vs_onnx_max_abs_err"] = agreement["max_abs_err"]
        meta = s.metadata(
            target="ort",
            precision=precision,
            converter="onnxruntime.tools",
            input_name=INPUT_NAME,
            layout="TCHW",
            parity=parity,
            partitions=partitions,
        )
        meta["ort_config"] = config.name
        # A .ort cannot be edited: convert again from an ONNX that carries the final card.
        carded = s.scratch / "carded.onnx"
        shutil.copyfile(mobile, carded)
        embed(carded, meta)
        onnx_to_ort(carded, tmp, s.scratch / config.name, header=header)
        return meta

    onnx_artifact = s.step("ort", precision, None, build_onnx, final=onnx_final)
    ort_artifact = s.step("ort", precision, "onnxruntime.tools", build_ort, final=ort_final)
    config = config_path(ort_final)
    write_text(config, (s.scratch / config.name).read_text())
    return [onnx_artifact, ort_artifact]


def export_executorch(s: ExportSession, job: Job) -> list[Artifact]:
    from .executorch import COREML_MIN_TARGET, check_coreml_program, lower, pte_predictor, require_executorch

    require_executorch()
    delegate = job.converter
    # XNNPACK takes the form spelled for it (deployable/xnnpack_spelling.py); Core ML takes the TCHW form
    # Core ML exports use.
    spelling = "xnnpack" if delegate == "xnnpack" else "default"

    def build_for(precision: str):
        def build(tmp: Path) -> dict:
            calibration = s.calibration()[0] if precision == "int8" else None
            start = time.perf_counter()
            report = lower(
                s.module("TCHW", spelling),
                s.example("TCHW"),
                tmp,
                delegate=delegate,
                precision=precision,
                calibration=calibration,
                allow_portable=s.allow_portable,
            )
            s.log(
                f"executorch {precision}: lowered in {time.perf_counter() - start:.1f} s; {report.summary()}"
            )
            lint = report.to_dict()
            if delegate == "coreml":
                lint["coreml"] = check_coreml_program(
                    tmp, [s.frames, 3, s.resolution, s.resolution], s.num_classes
                )
                lint["coreml"]["minimum_deployment_target"] = COREML_MIN_TARGET
                parity = {
                    "checked": False,
                    "reason": "the Core ML delegate runs on Apple "
                    "platforms only; the lowered program (one Core ML partition, its "
                    "input/output shapes) was checked",
                }
            else:
                parity = s.parity(pte_predictor(tmp), "executorch", precision, tmp.name)
            return s.metadata(
                target="executorch",
                precision=precision,
                converter=f"executorch+{delegate}",
                input_name="clip",
                layout="TCHW",
                parity=parity,
                lint=lint,
            )

        return build

    return [s.step("executorch", p, delegate, build_for(p)) for p in job.precisions]


TARGET_STEPS: dict[str, Callable[[ExportSession, Job], list[Artifact]]] = {
    "onnx": export_onnx,
    "tflite": export_tflite,
    "coreml": export_coreml,
    "ort": export_ort,
    "executorch": export_executorch,
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
    ExecuTorch's portable kernels) apply to the executorch target.
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
            session = ExportSession(
                model=model,
                untrained=untrained,
                cfg=model.cfg,
                baseline=bool(model.baseline),
                frames=frames,
                resolution=resolution,
                labels=class_names,
                out=out,
                scratch=scratch,
                verify=verify,
                form=form,
                calibration=calibration,
                log=log,
                warn=warn,
                allow_partitions=allow_partitions,
                allow_portable=allow_portable,
            )
            report = ExportReport(
                cfg.name,
                session.baseline,
                frames,
                resolution,
                out,
                untrained,
                session.sha,
                session.macs,
                session.params,
            )
            for job in jobs:
                try:
                    report.artifacts += TARGET_STEPS[job.target](session, job)
                except Exception as exc:  # noqa: BLE001 -- every failure gets its log kept
                    record_exception(exc)
                    raise _failed(exc, job.target, conversion, out, verbose) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


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
