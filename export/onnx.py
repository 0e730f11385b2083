"""ONNX target: the deployable form -> a simplified, checked ``.onnx``.

Opset 20: LayerNormalization (17+) and Gelu (20+) are single ops, so GELU stays
GELU through onnx2tf instead of an Erf that TFLite only has as a Flex op. The graph has static
shapes (one clip, T x 3 x R x R) and is simplified with onnxsim, which folds the
constant reshapes the rank-4 rewrite leaves behind; the result is checked with
``onnx.checker`` and loaded once by ONNX Runtime.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from vmf.contract.card import INPUT_NAME, OUTPUT_NAME
from vmf.contract.targets import get as get_target
from vmf.model import VmfError
from vmf.model.ort_session import ort_session

if TYPE_CHECKING:
    from vmf.contract.targets import Job

    from .session import ExportSession
    from .steps import Artifact

OPSET = 20


def torch2onnx(
    module: nn.Module,
    example: torch.Tensor,
    path: "str | os.PathLike",
    *,
    input_name: str = INPUT_NAME,
    output_name: str = OUTPUT_NAME,
    opset: int = OPSET,
    simplify: bool = True,
) -> Path:
    """Export ``module`` traced on ``example`` to ``path`` (written in place; the caller renames).

    One input ``input_name`` with ``example``'s static shape, one output
    ``output_name``. The TorchScript exporter is used because the dynamo
    exporter needs onnxscript, which vmf does not depend on; the deployable
    form has static shapes and no control flow, which is what it handles best.
    """
    import onnx

    path = Path(path)
    module = module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-exporter deprecation notice
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[output_name],
            opset_version=opset,
            dynamo=False,
            do_constant_folding=True,
        )
    model = onnx.load(str(path))
    if simplify:
        model = _simplify(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    ort_session(path)  # fails here, not in the user's app, if ORT cannot load it
    return path


def _simplify(model):
    import onnxsim

    from .quiet import quiet

    with quiet():  # its constant folding reports skipped ops from C++ on stderr
        simplified, ok = onnxsim.simplify(model)
    if not ok:
        raise VmfError("onnxsim could not validate the simplified ONNX graph")
    return simplified


def onnx_predictor(path: "str | os.PathLike", threads: int = 2):
    """A function TCHW clip -> logits (1, classes), running ``path`` with ONNX Runtime."""
    session = ort_session(path, threads=threads)
    name = session.get_inputs()[0].name
    return lambda clip: session.run(None, {name: clip})[0]


# Which ops the int8 graph quantizes: the dense spatial convolutions only (the stem; group 1,
# a kernel wider than 1x1). Measured on VMF-560M at 64x172, 2 threads, paired in one process on
# a 2-core Intel Xeon with AVX512-VNNI and AMX (docs/performance.md, "int8 on ONNX Runtime and
# OpenVINO"): int8 / fp32 was 0.92x (ONNX Runtime) and 0.95x (OpenVINO) with the stem only,
# 1.22x and 1.12x with every convolution, 1.28x and 1.21x with the 1x1 convolutions, 1.11x and
# 1.16x with the stem and the MatMuls. The 1x1 and depthwise convolutions are bound by their
# activations, not their arithmetic: ONNX Runtime's int8 kernels run NHWC, so each one costs a
# Transpose, a QuantizeLinear and a DequantizeLinear pass over a tensor the float kernel reads
# once in its blocked layout (profiled: QLinearConv 4.5 ms against Conv 5.0 ms, plus 6.2 ms
# of Q/DQ and 3.9 ms of Transpose per clip).
QUANTIZED_OPS = ("Conv",)


def activation_bound_convs(model) -> list[str]:
    """Names of the Conv nodes int8 leaves float: depthwise (group > 1) and 1x1 ones.

    Unnamed nodes are named first (the quantizer excludes nodes by name).
    """
    from onnx import helper

    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    taken = {node.name for node in model.graph.node}
    names = []
    for i, node in enumerate(model.graph.node):
        if node.op_type != "Conv":
            continue
        if not node.name:
            name, k = f"Conv_{i}", 0
            while name in taken:
                k += 1
                name = f"Conv_{i}_{k}"
            node.name = name
            taken.add(name)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        # kernel_shape is optional in ONNX: the weight's trailing dims say it then
        kernel = list(attrs.get("kernel_shape", weights.get(node.input[1], [0, 0])[2:]))
        if attrs.get("group", 1) > 1 or (kernel and all(k == 1 for k in kernel)):
            names.append(node.name)
    return names


def quantize_onnx(
    fp32_path: "str | os.PathLike", path: "str | os.PathLike", calibration: "np.ndarray"
) -> Path:
    """Write a static int8 QDQ copy of the fp32 ``.onnx`` at ``fp32_path`` to ``path``.

    The dense spatial convolutions (the stem; see ``QUANTIZED_OPS``) get int8
    weights (per output channel, symmetric) and uint8 activations calibrated by
    min/max on ``calibration`` (TCHW clips, the model's own input); everything
    else stays float, and so do the input and
    the output (one input contract for every artifact). QDQ is the form both
    ONNX Runtime and OpenVINO fuse into integer convolutions.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    path = Path(path)
    if calibration is None or len(calibration) == 0:
        raise VmfError("int8 needs calibration clips")
    model = unshare_conv_parameters(onnx.load(str(fp32_path)))
    name = model.graph.input[0].name

    class Clips(CalibrationDataReader):
        def __init__(self):
            self._clips = iter(calibration)

        def get_next(self):
            clip = next(self._clips, None)
            return None if clip is None else {name: np.ascontiguousarray(clip, np.float32)}

    from .quiet import quiet

    with quiet(), warnings.catch_warnings():  # its advice to pre-process is logged to stderr
        warnings.simplefilter("ignore")
        quantize_static(
            model,
            str(path),
            Clips(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(QUANTIZED_OPS),
            nodes_to_exclude=activation_bound_convs(model),
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            calibration_providers=["CPUExecutionProvider"],
            extra_options={"CalibTensorRangeSymmetric": False},
        )
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    ort_session(path)
    return path


def unshare_conv_parameters(model):
    """``model`` with every Conv weight and bias an initializer of its own (edited in place).

    onnxsim merges equal initializers (zero biases of a fresh model, say), so a
    Conv's bias can be the tensor a LayerNormalization or a Gemm also reads.
    The quantizer would then hand those the Conv's int32-rounded bias too.
    """
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    readers: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        for i in range(1, len(node.input)):
            name = node.input[i]
            if name in inits and readers[name] > 1:
                copy = numpy_helper.from_array(
                    numpy_helper.to_array(inits[name]), f"{name}__{node.name or 'conv'}_{i}"
                )
                model.graph.initializer.append(copy)
                node.input[i] = copy.name
                readers[name] -= 1
    return model


# -- the step vmf-export runs for --target onnx (registry: Target.writer) ----------------------
def server_form(s: "ExportSession", fp32: Path, path: Path, precision: str) -> str:
    """Write the server form at ``precision`` to ``path`` from the exported fp32 graph; its converter.

    fp32 is the graph as exported, int8 its QDQ copy calibrated on the session's
    clips. The web target ships the same file (``vmf.export.web``).
    """
    if precision == "int8":
        quantize_onnx(fp32, path, s.calibration().calib)
        return "torch.onnx+onnxruntime.quantization"
    shutil.copyfile(fp32, path)
    return "torch.onnx"


def export_onnx(s: "ExportSession", job: "Job") -> list["Artifact"]:
    """The server form: the deployable (or naive) graph, fp32 and its int8 QDQ copy."""
    from .partitions import ort_partitions

    fp32 = s.scratch / "deployable_fp32.onnx"  # exported once; int8 is a QDQ copy of it
    layout = get_target(job.target).layout
    with s.timed("onnx: torch.onnx exported the graph"):
        torch2onnx(s.module(layout), s.example(layout), fp32)

    def build(tmp: Path, precision: str) -> dict:
        converter = server_form(s, fp32, tmp, precision)
        parity = s.parity(onnx_predictor(tmp), job.target, precision, tmp.name)
        # The server form: counted for the record, no phone budget (--target ort is that).
        name = s.final_path(job.target, precision, job.converter).name
        partitions = s.partitions(ort_partitions(tmp), None, name)
        return s.metadata(job.target, precision, converter=converter, parity=parity, partitions=partitions)

    return s.per_precision(job, build)
