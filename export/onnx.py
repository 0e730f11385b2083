"""ONNX target: the deployable form -> a simplified, checked ``.onnx`` (issue #3, §2).

Opset 20: LayerNormalization (17+) and Gelu (20+) are single ops, so GELU stays
GELU through onnx2tf instead of an Erf that TFLite only has as a Flex op. The graph has static
shapes (one clip, T x 3 x R x R) and is simplified with onnxsim, which folds the
constant reshapes the rank-4 rewrite leaves behind; the result is checked with
``onnx.checker`` and loaded once by ONNX Runtime.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

from vmf.model import VmfError

OPSET = 20
INPUT_NAME = "clip"
OUTPUT_NAME = "logits"


def torch2onnx(module: nn.Module, example: torch.Tensor, path: "str | os.PathLike", *,
               input_name: str = INPUT_NAME, output_name: str = OUTPUT_NAME,
               opset: int = OPSET, simplify: bool = True) -> Path:
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
        torch.onnx.export(module, (example,), str(path), input_names=[input_name],
                          output_names=[output_name], opset_version=opset, dynamo=False,
                          do_constant_folding=True)
    model = onnx.load(str(path))
    if simplify:
        model = _simplify(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    _ort_session(path)  # fails here, not in the user's app, if ORT cannot load it
    return path


def _simplify(model):
    import onnxsim

    simplified, ok = onnxsim.simplify(model)
    if not ok:
        raise VmfError("onnxsim could not validate the simplified ONNX graph")
    return simplified


def _ort_session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_predictor(path: "str | os.PathLike", threads: int = 2):
    """A function TCHW clip -> logits (1, classes), running ``path`` with ONNX Runtime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda clip: session.run(None, {name: clip})[0]
