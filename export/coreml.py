"""Core ML target: the traced deployable form -> ``.mlpackage``.

ML Program, fp16 compute by default, an explicit minimum deployment target
(iOS 16 / macOS 13: the first with fp16 ML Program I/O and the ops used here;
no Conv3d anywhere, so the iOS 17 Conv3d GPU support is not needed). The input
is a ``TensorType`` (an ``ImageType`` takes one image, not a clip of T frames),
float32 and already normalised, like every vmf artifact; the output stays the
``logits`` tensor, float32. Labels go in the metadata rather than a
``ClassifierConfig``, which would replace the logits output with a label ->
probability dictionary and break the one output contract (``output: logits``).

The deployable form has static shapes only: a traced ``aten::size`` becomes an
``int()`` cast that coremltools 9 fails on with numpy >= 2.4.
Linux converts but cannot run Core ML, so the artifact is checked from its spec
here (names, shapes, no conv3d) and numerically on macOS only.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from vmf.contract.targets import get as get_target
from vmf.model import MissingDependencyError, VmfError

from .quiet import quiet

if TYPE_CHECKING:
    from vmf.contract.targets import Job

    from .session import ExportSession
    from .steps import Artifact

INPUT_NAME = "clip"
OUTPUT_NAME = "logits"
MAX_RANK = 4  # MIL has one "conv" op for 2-D and 3-D: a 3-D one shows as a rank-5 output


def torch2coreml(
    module: nn.Module,
    example: torch.Tensor,
    path: "str | os.PathLike",
    *,
    precision: str = "fp16",
    labels: list[str] | None = None,
    description: str = "",
) -> Path:
    """Trace ``module`` on ``example`` (TCHW) and save an ML Program ``.mlpackage`` to ``path``."""
    ct = _coremltools()
    precisions = get_target("coreml").precisions
    if precision not in precisions:
        raise VmfError(f"Core ML precision must be one of {', '.join(precisions)}, not {precision!r}")
    path = Path(path)
    with torch.no_grad(), warnings.catch_warnings(), quiet():
        warnings.simplefilter("ignore")  # TracerWarnings, coremltools' torch-version notice
        traced = torch.jit.trace(module.eval(), example)
        model = ct.convert(
            traced,
            inputs=[ct.TensorType(name=INPUT_NAME, shape=tuple(example.shape), dtype=np.float32)],
            outputs=[ct.TensorType(name=OUTPUT_NAME, dtype=np.float32)],
            convert_to="mlprogram",
            minimum_deployment_target=ct.target.iOS16,
            compute_precision=(ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32),
            skip_model_load=sys.platform != "darwin",
        )
    model.short_description = description
    model.input_description[INPUT_NAME] = "normalised RGB clip, TCHW (see the vmf metadata)"
    model.output_description[OUTPUT_NAME] = "class logits (labels in the vmf metadata)"
    if labels:
        model.user_defined_metadata["labels"] = "\n".join(labels)
    model.save(str(path))
    return path


def spec_summary(path: "str | os.PathLike") -> dict:
    """Input/output names and shapes, op counts and metadata read from the saved spec."""
    ct = _coremltools()
    spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()

    def shapes(features):
        return {f.name: list(f.type.multiArrayType.shape) for f in features}

    ops, ranks = Counter(), Counter()
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            _count_ops(block, ops, ranks)
    return {
        "inputs": shapes(spec.description.input),
        "outputs": shapes(spec.description.output),
        "op_counts": dict(ops),
        "max_rank": max(ranks, default=0),
        "metadata": dict(spec.description.metadata.userDefined),
        "spec_version": int(spec.specificationVersion),
    }


def check_spec(path: "str | os.PathLike", input_shape: list[int], num_classes: int) -> dict:
    """Raise ``VmfError`` unless the spec has the vmf input/output contract and no 3-D conv."""
    summary = spec_summary(path)
    want_in = {INPUT_NAME: list(input_shape)}
    want_out = {OUTPUT_NAME: [1, num_classes]}
    if summary["inputs"] != want_in or summary["outputs"] != want_out:
        raise VmfError(
            f"Core ML spec of {Path(path).name} has inputs {summary['inputs']} and "
            f"outputs {summary['outputs']}, expected {want_in} and {want_out}"
        )
    if summary["max_rank"] > MAX_RANK:
        raise VmfError(
            f"Core ML spec of {Path(path).name} has rank-{summary['max_rank']} tensors "
            f"(3-D convolutions or a 5-D clip); the deployable form keeps rank <= {MAX_RANK}"
        )
    return summary


def coreml_predictor(path: "str | os.PathLike"):
    """A function TCHW clip -> logits (1, classes); macOS only (Core ML runs nowhere else)."""
    if sys.platform != "darwin":
        raise VmfError("Core ML models run on macOS only")
    ct = _coremltools()
    model = ct.models.MLModel(str(path))
    return lambda clip: np.asarray(model.predict({INPUT_NAME: clip})[OUTPUT_NAME], np.float32)


def _count_ops(block, ops: Counter, ranks: Counter) -> None:
    for op in block.operations:
        if op.type != "const":  # weights and scalars: not compute
            ops[op.type] += 1
        for output in op.outputs:
            ranks[output.type.tensorType.rank] += 1
        for inner in op.blocks:
            _count_ops(inner, ops, ranks)


def _coremltools():
    try:
        with warnings.catch_warnings(), quiet():  # untested-version notices, missing macOS libs
            warnings.simplefilter("ignore")
            import coremltools as ct
            import coremltools.models  # noqa: F401  (prints "Failed to load ..." off macOS)
    except ImportError:
        raise MissingDependencyError(
            "the Core ML export needs coremltools: pip install 'vmf[coreml]'"
        ) from None
    return ct


# -- the step vmf-export runs for --target coreml (registry: Target.writer) --------------------
def export_coreml(s: "ExportSession", job: "Job") -> list["Artifact"]:
    """An ML Program per precision; parity on macOS, the spec checked everywhere."""
    layout = get_target(job.target).layout

    def build(tmp: Path, precision: str) -> dict:
        torch2coreml(
            s.module(layout),
            s.example(layout),
            tmp,
            precision=precision,
            labels=list(s.facts.labels),
            description=f"{s.facts.variant} video classifier (vmf)",
        )
        spec = check_spec(tmp, s.facts.input_shape, s.facts.num_classes)
        if sys.platform == "darwin":
            parity = s.parity(coreml_predictor(tmp), job.target, precision, tmp.name)
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
        return s.metadata(job.target, precision, converter="coremltools", parity=parity, lint=lint)

    return s.per_precision(job, build)
