"""The export targets: one frozen record per target, and the rules that read them.

A target is what ``vmf-export --target`` names: a file format, the tool chain
that writes it, how its artifacts are checked and which runtime backend runs
them. Every fact about a target is a field of its ``Target`` record in
``REGISTRY`` below, and every package reads it from there:

- the exporter: ``plan`` (the options checked together, the jobs to run),
  ``artifact_name``, ``vmf-export --help``'s choices and texts, the parity
  gate's tolerances (``vmf.export.parity``), the phone partition budgets
  (``vmf.export.partitions``), where the model card goes inside a file
  (``vmf.export.metadata``) and the step that writes it (``Target.writer``);
- the benchmark: which target a backend's rows export (``timed_by``) and the
  suffix of what was exported;
- the runtime: the backend a model file's suffix implies (``by_suffix``).

Adding a target is one ``Target(...)`` in ``REGISTRY`` and its writer step
(CONTRIBUTING.md, "Where to add a target, a backend, a spelling, a CLI").
Torch-free and light, like the whole contract, so ``--help`` reads it at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping

from .card import LAYOUTS, PRECISIONS
from .errors import VmfError

__all__ = [
    "CARD_PLACES",
    "DEFAULT_TARGET",
    "FORMS",
    "OPTIONS",
    "PRECISIONS",
    "REGISTRY",
    "Job",
    "Target",
    "all_names",
    "artifact_name",
    "by_suffix",
    "choices",
    "did_you_mean",
    "get",
    "listed",
    "names",
    "plan",
    "register",
    "timed_by",
    "unregister",
]

DEFAULT_TARGET = "tflite"  # vmf-export and export() alike: the phone format
FORMS = ("deployable", "naive")  # the rank-4 rewrite, or the reference 5-D model as written
# The options that pick a target's converter: each is a vmf-export flag and an export() argument.
OPTIONS = ("converter", "delegate")
# Where the exporter puts the model card inside the file (vmf.export.metadata):
# ONNX metadata_props, a zip archive appended to a flatbuffer, the Core ML spec's
# user-defined metadata, carried over from the ONNX the file is converted from (.ort), or
# an extra file of a torch.export archive (.pt2), or a web export's model/card.json beside
# its model.onnx (vmf.contract.web_layout).
CARD_PLACES = ("onnx-metadata", "appended-zip", "coreml-metadata", "from-onnx", "pt2-extra-file", "web-site")


@dataclass(frozen=True)
class Target:
    """Everything the project knows about one export target."""

    name: str  # --target NAME; also the folder its artifacts go to (<out>/<name>/)
    title: str  # for people: "Core ML"
    suffixes: tuple[str, ...]  # [0] is what the exporter writes; the runtime reads them all
    layout: str  # the exported graph's input layout (card.LAYOUTS)
    writer: str  # "module:function", the export step: (ExportSession, Job) -> [Artifact]
    backend: str  # the runtime backend its suffix implies (vmf.runtime.backends)
    card_in: str  # where the model card goes inside the file (CARD_PLACES)
    # Parity gate per float precision: max abs error / max |logit| (int8 is judged on
    # the cosine of the logits, the same for every target: vmf.export.parity).
    tolerances: Mapping[str, float]
    # What it exports, in the order errors list them, and the default; where a
    # converter narrows them (converter_precisions) they follow from those.
    precisions: tuple[str, ...] = ()
    default_precision: str | None = None
    converters: tuple[str, ...] = ()  # the tool chains (or delegates) it can be written with
    default_converter: str | None = None
    converter_option: str | None = None  # the option that picks one (OPTIONS)
    option_note: str = ""  # said after the default in that option's --help
    # Converter -> the precisions it takes (the first its default), where they differ.
    converter_precisions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    naive: bool = False  # takes the naive (5-D) form too
    naive_converter: str | None = None  # the one converter the naive form goes through
    # A form meant for phones: the partitions each accelerator may cut it into
    # (docs/mobile-accelerators.md); None: counted for the record, no budget.
    partition_budget: Mapping[str, int] | None = None
    other_backends: tuple[str, ...] = ()  # runtime backends that run its files when named
    benchmarked: bool = True  # vmf-bench's rows for its backends export and time it here
    in_all: bool = True  # exported by --target all
    splittable: bool = False  # --split writes stem + body halves of its fp32 artifacts
    note: str = ""  # what --help says the name means, where the title is not enough

    def __post_init__(self):
        if self.converter_precisions:
            union = tuple(dict.fromkeys(p for ps in self.converter_precisions.values() for p in ps))
            first = self.converter_precisions[self.default_converter][0]
            object.__setattr__(self, "precisions", self.precisions or union)
            object.__setattr__(self, "default_precision", self.default_precision or first)
        object.__setattr__(self, "tolerances", MappingProxyType(dict(self.tolerances)))
        object.__setattr__(self, "converter_precisions", MappingProxyType(dict(self.converter_precisions)))
        if self.partition_budget is not None:
            object.__setattr__(self, "partition_budget", MappingProxyType(dict(self.partition_budget)))
        _check(self)

    @property
    def suffix(self) -> str:
        """The suffix of the files the exporter writes."""
        return self.suffixes[0]

    @property
    def backends(self) -> tuple[str, ...]:
        """Every runtime backend that runs its files, the one its suffix implies first."""
        return (self.backend, *self.other_backends)

    def supported(self, converter: str | None = None) -> tuple[str, ...]:
        """The precisions it exports through ``converter``."""
        return self.converter_precisions.get(converter, self.precisions)

    def default_precisions(self, converter: str | None = None) -> tuple[str, ...]:
        """What ``precisions=None`` exports through ``converter``."""
        if converter in self.converter_precisions:
            return self.converter_precisions[converter][:1]
        return (self.default_precision,)


def _check(t: Target) -> None:
    """A record that contradicts itself is a programming error: say which field."""
    problems = []
    if not t.suffixes or not all(s.startswith(".") and s == s.lower() for s in t.suffixes):
        problems.append(f"suffixes {t.suffixes} (lower case, each with its dot)")
    if t.layout not in LAYOUTS:
        problems.append(f"layout {t.layout!r} (one of {', '.join(LAYOUTS)})")
    if not t.precisions or not set(t.precisions) <= set(PRECISIONS):
        problems.append(f"precisions {t.precisions} (of {', '.join(PRECISIONS)})")
    if t.default_precision not in t.precisions:
        problems.append(f"default_precision {t.default_precision!r} (one of its precisions)")
    floats = {p for p in t.precisions if p != "int8"}
    if set(t.tolerances) != floats:
        problems.append(f"tolerances for {sorted(t.tolerances)} (one per float precision: {sorted(floats)})")
    if t.converters and (t.default_converter not in t.converters or t.converter_option not in OPTIONS):
        problems.append("converters need a default_converter among them and a converter_option in OPTIONS")
    if not t.converters and (t.default_converter or t.converter_option or t.naive_converter):
        problems.append("a converter option without converters")
    if not set(t.converter_precisions) <= set(t.converters):
        problems.append("converter_precisions for converters it does not have")
    if t.naive_converter is not None and t.naive_converter not in t.converters:
        problems.append(f"naive_converter {t.naive_converter!r} is not one of its converters")
    if t.card_in not in CARD_PLACES:
        problems.append(f"card_in {t.card_in!r} (one of {', '.join(CARD_PLACES)})")
    if ":" not in t.writer:
        problems.append(f"writer {t.writer!r} ('module:function')")
    if problems:
        raise ValueError(f"target {t.name!r}: " + "; ".join(problems))


# -- the registry: every target, in the order --help and --target all list them ------------
# Tolerances: fp32 through ONNX Runtime and ExecuTorch is the same arithmetic up to
# rounding (1e-4); LiteRT and Core ML fuse and reorder more (1e-3); fp16 weights or
# compute 1e-2. Budgets: the goals in docs/mobile-accelerators.md.
REGISTRY: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            name="onnx",
            title="ONNX",
            suffixes=(".onnx",),
            layout="TCHW",
            writer="vmf.export.onnx:export_onnx",
            backend="onnxruntime",
            other_backends=("openvino",),  # the same .onnx, chosen by name
            card_in="onnx-metadata",
            precisions=("fp32", "int8"),
            default_precision="fp32",
            tolerances={"fp32": 1e-4},
            naive=True,
            splittable=True,
        ),
        Target(
            name="tflite",
            title="TFLite",
            suffixes=(".tflite",),
            layout="THWC",
            writer="vmf.export.tflite:export_tflite",
            backend="tflite",
            card_in="appended-zip",
            precisions=("fp32", "fp16", "int8"),
            default_precision="fp32",
            tolerances={"fp32": 1e-3, "fp16": 1e-2},
            converters=("onnx2tf", "litert-torch"),
            # Chosen on measured parity and latency (VMF-560M fp32, 64 x 172 x 172, LiteRT
            # interpreter, 2 threads, 4 x 150 interleaved runs): a tie within noise (median
            # 21.8 ms litert-torch vs 21.4 ms onnx2tf; max rel err 1.7e-6 vs 1.4e-6). Then
            # litert-torch: it converts 2.7x faster (31 s vs 84 s), leaves fewer TRANSPOSE
            # ops (44 vs 70; they cost on GPU delegates), needs no ONNX detour or TF
            # subprocess, and is the path Google maintains (onnx2tf's README points to it).
            default_converter="litert-torch",
            converter_option="converter",
            naive=True,
            # Measured: litert-torch crashes on the naive form's grouped Conv3d.
            naive_converter="onnx2tf",
            partition_budget={"xnnpack": 1},
            splittable=True,
        ),
        Target(
            name="coreml",
            title="Core ML",
            suffixes=(".mlpackage", ".mlmodel"),
            layout="TCHW",
            writer="vmf.export.coreml:export_coreml",
            backend="coreml",
            card_in="coreml-metadata",
            precisions=("fp16", "fp32"),
            default_precision="fp16",
            tolerances={"fp32": 1e-3, "fp16": 1e-2},
        ),
        Target(
            name="ort",
            title="ONNX Runtime Mobile",
            note="ONNX Runtime Mobile (.ort, its mobile .onnx and required_operators.config)",
            suffixes=(".ort",),
            layout="TCHW",
            writer="vmf.export.ort_format:export_ort",
            backend="onnxruntime",
            card_in="from-onnx",
            precisions=("fp32",),
            default_precision="fp32",
            # the mobile spellings are exact up to rounding (deployable/ort_mobile_spelling.py)
            tolerances={"fp32": 1e-4},
            partition_budget={"coreml_mlprogram": 1, "nnapi": 3},
            benchmarked=False,  # timed on phones; its mobile .onnx runs on the onnxruntime rows
            in_all=False,
        ),
        Target(
            name="executorch",
            title="ExecuTorch",
            suffixes=(".pte",),
            layout="TCHW",
            writer="vmf.export.executorch:export_executorch",
            backend="executorch",
            card_in="appended-zip",
            tolerances={"fp32": 1e-4, "fp16": 1e-2},
            converters=("xnnpack", "coreml"),
            default_converter="xnnpack",
            converter_option="delegate",
            option_note="coreml: fp16, iOS 16+, runs on Apple platforms only",
            # The Core ML delegate computes in fp16 or fp32; XNNPACK takes fp32 and int8.
            converter_precisions={"xnnpack": ("fp32", "int8"), "coreml": ("fp16", "fp32")},
        ),
        Target(
            name="torch",
            title="PyTorch",
            note="a torch.export program (.pt2) of the deployable form, for the torch backend",
            suffixes=(".pt2",),
            layout="TCHW",
            writer="vmf.export.torch_program:export_torch",
            backend="torch",
            card_in="pt2-extra-file",
            precisions=("fp32",),
            default_precision="fp32",
            # the deployable module's own ATen ops, run by PyTorch: exact up to rounding
            tolerances={"fp32": 1e-4},
        ),
        Target(
            name="web",
            title="ONNX Runtime Web",
            note="a static web site that classifies the camera in a browser with ONNX Runtime Web "
            "(docs/web.md)",
            # A folder: the page, the runtime files, model/model.onnx (the onnx target's
            # graph) with its card (vmf.contract.web_layout).
            suffixes=(".web",),
            layout="TCHW",
            writer="vmf.export.web:export_web",
            backend="onnxruntime",  # its model/model.onnx, outside a browser
            card_in="web-site",
            precisions=("fp32", "int8"),
            default_precision="fp32",
            tolerances={"fp32": 1e-4},  # checked on the ONNX, as the onnx target's
            # The ONNX Runtime Web execution providers the site ships (web_demo/ort-files.json
            # lists each one's files); WASM alone keeps the fp32 site smallest.
            converters=("wasm", "webgpu", "all"),
            default_converter="wasm",
            converter_option="delegate",
            option_note="web: the providers the site ships, all = wasm and webgpu",
            benchmarked=False,  # timed in a browser (docs/web.md), not by vmf-bench
            in_all=False,  # needs the ONNX Runtime Web files (npm), which --target all should not
        ),
    )
}


def register(target: Target) -> Target:
    """Add ``target`` (a new name, suffixes no other target has); returns it."""
    if target.name in REGISTRY or target.name == "all":
        raise ValueError(f"a target named {target.name!r} is already registered")
    taken = {s: t.name for t in REGISTRY.values() for s in t.suffixes}
    clash = [s for s in target.suffixes if s in taken]
    if clash:
        raise ValueError(f"target {target.name!r}: {clash[0]} is already {taken[clash[0]]}'s suffix")
    REGISTRY[target.name] = target
    return target


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def all_names() -> tuple[str, ...]:
    """What ``--target all`` exports."""
    return tuple(t.name for t in REGISTRY.values() if t.in_all)


def get(name: str) -> Target:
    try:
        return REGISTRY[name]
    except KeyError:
        raise did_you_mean(name, REGISTRY, "target") from None


def by_suffix(suffix: str) -> Target | None:
    """The target whose files end in ``suffix`` (``.onnx``; case-insensitive), if any."""
    suffix = suffix.lower()
    return next((t for t in REGISTRY.values() if suffix in t.suffixes), None)


def timed_by(backend: str) -> Target | None:
    """The target a benchmark row on ``backend`` exports and times, if any."""
    return next((t for t in REGISTRY.values() if t.benchmarked and backend in t.backends), None)


def choices(option: str) -> tuple[str, ...]:
    """The values ``--converter`` (or another of OPTIONS) takes, over every target it applies to."""
    return tuple(
        dict.fromkeys(c for t in REGISTRY.values() if t.converter_option == option for c in t.converters)
    )


def owners(option: str) -> tuple[Target, ...]:
    """The targets whose converter ``option`` picks."""
    return tuple(t for t in REGISTRY.values() if t.converter_option == option)


def did_you_mean(value: str, choices: Iterable[str], what: str) -> VmfError:
    """An error naming the valid choices, with the closest one suggested."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(str(value).lower(), list(lowered), n=1, cutoff=0.5)
    hint = f"; did you mean {lowered[close[0]]!r}?" if close else ""
    return VmfError(f"unknown {what} {value!r}{hint} (valid: {', '.join(choices)})")


# -- what an export call does: the jobs, and the names of what they write -----------------
@dataclass(frozen=True)
class Job:
    """One target of an export: the precisions to write and the converter (or delegate)."""

    target: str
    precisions: tuple[str, ...]
    converter: str | None


def listed(items: Iterable[str], last: str = "and") -> str:
    """``onnx, tflite and coreml`` (``last="or"``: ``... or coreml``), for messages and help."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def plan(targets, precisions, converter, form, calibration, delegate=None) -> list[Job]:
    """Check the target/precision/converter/form/delegate options together; the jobs to run.

    Raises ``VmfError`` (one sentence, with the valid choices) before any work.
    ``--target all`` is lenient: a precision or form a target does not take skips it.
    """
    if isinstance(targets, str):
        targets = (targets,)
    targets = list(targets)
    known = names() + ("all",)
    for t in targets:
        if t not in known:
            raise did_you_mean(t, known, "target")
    lenient = "all" in targets
    if lenient:
        targets = list(all_names())
    records = [get(t) for t in targets]
    if form not in FORMS:
        raise did_you_mean(form, FORMS, "form")
    if precisions is not None:
        if isinstance(precisions, str):
            precisions = (precisions,)
        for p in precisions:
            if p not in PRECISIONS:
                raise did_you_mean(p, PRECISIONS, "precision")
    picked = {"converter": converter, "delegate": delegate}
    for option, value in picked.items():
        if value is None:
            continue
        if value not in choices(option):
            raise did_you_mean(value, choices(option), option)
        if not any(t.converter_option == option for t in records):
            which = " or ".join(t.name for t in owners(option))
            raise VmfError(f"--{option} applies to --target {which} only")
        # Several targets share an option (--delegate): the value must be one of theirs.
        if not any(t.converter_option == option and value in t.converters for t in records):
            takes = "; ".join(
                f"--target {t.name} takes --{option} {listed(t.converters, last='or')}"
                for t in records
                if t.converter_option == option
            )
            raise VmfError(f"{takes}, not {value}")
    if form == "naive":
        naive = listed(t.name for t in REGISTRY.values() if t.naive)
        for t in records:
            if not t.naive and not lenient:
                raise VmfError(
                    f"the naive form exports to {naive} only ({t.title} takes the deployable form)"
                )
            chosen = picked.get(t.converter_option)
            if t.naive_converter and chosen not in (None, t.naive_converter):
                raise VmfError(f"the naive form converts to {t.title} through {t.naive_converter} only")
    jobs = []
    for t in records:
        if form == "naive" and not t.naive:
            continue  # --target all: the targets that take the naive form
        conv = picked.get(t.converter_option) or (
            t.naive_converter if form == "naive" and t.naive_converter else t.default_converter
        )
        supported = t.supported(conv)
        wanted = t.default_precisions(conv) if precisions is None else tuple(dict.fromkeys(precisions))
        refused = [p for p in wanted if p not in supported]
        if refused and not lenient:
            which = f"--target {t.name}" + (
                f" --{t.converter_option} {conv}" if t.converter_precisions else ""
            )
            raise VmfError(
                f"{which} does not support --precision {refused[0]} (supported: {', '.join(supported)})"
            )
        ok = tuple(p for p in wanted if p in supported)
        if ok:
            jobs.append(Job(t.name, ok, conv))
    if not jobs:
        raise VmfError(f"no target supports --precision {', '.join(precisions or ())}")
    if calibration is not None and not any("int8" in j.precisions for j in jobs):
        raise VmfError("--calibration is used for int8 only; add --precision int8")
    return jobs


def artifact_name(
    variant: str,
    *,
    baseline: bool,
    frames: int,
    resolution: int,
    default_clip: tuple[int, int],
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
    (frames), ``_r112`` (resolution) against ``default_clip`` (the variant
    table's frames and resolution), ``_onnx2tf`` (a converter or delegate other
    than the target's default), ``_naive`` (the unrewritten 5-D model).
    """
    record = get(target)
    stem = f"{'mobile3d' if baseline else 'vmf'}-{variant.lower()}"
    if frames != default_clip[0]:
        stem += f"_t{frames}"
    if resolution != default_clip[1]:
        stem += f"_r{resolution}"
    stem += f"_{precision}"
    if converter is not None and record.converters and converter != record.default_converter:
        stem += f"_{converter}"
    if form == "naive":
        stem += "_naive"
    return stem + record.suffix
