"""TFLite target: two converters, one quantizer, float I/O.

- ``onnx2tflite``: the ONNX route, through onnx2tf. It runs in a subprocess:
  onnx2tf imports TensorFlow, prints a great deal and is fragile,
  so its noise and memory stay out of this process and its failure
  becomes one error line. It turns the NCHW ONNX input into NHWC, so the graph
  takes THWC clips, TFLite's native layout.
- ``torch2tflite``: straight from the THWC deployable form through litert-torch
  (``torch.export`` -> LiteRT, no ONNX, no TensorFlow graph).

Both write an fp32 flatbuffer; ``quantize_tflite`` derives the other precisions
from it with the LiteRT quantizer (ai-edge-quantizer, which replaces the
deprecated converter PTQ), the same way for both converters:
- fp16: float16 weights, dequantized at load (what the GPU delegate computes
  in anyway); half the size, float compute on CPU;
- int8: int8 weights and int8 activations calibrated on clips, per-channel
  weights, with float input and output kept (QUANTIZE/DEQUANTIZE at the
  boundaries) so every artifact takes the same normalised float clip. The
  attention's BATCH_MATMUL and SOFTMAX (and onnx2tf's softmax DIV) stay
  float (``FLOAT_OPS``).
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from vmf.contract.targets import get as get_target
from vmf.model import MissingDependencyError, VmfError

from .litert import SIGNATURE, input_name, load_interpreter, signature_input, tflite_predictor
from .quiet import quiet as _quiet
from .quiet import record

if TYPE_CHECKING:
    from vmf.contract.targets import Job

    from .session import ExportSession
    from .steps import Artifact

__all__ = ["input_name", "load_interpreter", "tflite_predictor"]  # running a .tflite: litert.py

# Left float in int8 files: XNNPACK has no int8 kernel for them, so int8 versions run on
# TFLite's reference kernels and cut the graph into partitions. VMF-560M (64x172, LiteRT,
# 2 threads, median of paired runs): every op int8 1.52x the fp32 time (cosine 0.987);
# these two float 0.73x (cosine 0.9989); convolutions only 1.05x.
# DIV: the ONNX form spells the Former->Mobile softmax as exp / sum, which onnx2tf
# keeps; an int8 DIV whose divisor rounds to its zero point aborts in LiteRT.
FLOAT_OPS = ("BATCH_MATMUL", "SOFTMAX", "DIV")
# Also float: ops XNNPACK has no int8 kernel for, which left on TFLite's reference kernels
# cut the int8 graph into XNNPACK partitions (VMF-560M: 126 partitions with them int8;
# docs/mobile-accelerators.md): the LayerNorms (by scope, FLOAT_SCOPES), GELU and h_swish,
# all on the small token or pooled tensors. (DY-ReLU's MAXIMUM, on full feature maps, is
# spelled without one in ChannelsLastFrameDyReLU instead: float it cost int8 17 %.)
CPU_ONLY_INT8_OPS = ("SQUARED_DIFFERENCE", "RSQRT", "GELU", "HARD_SWISH")
FLOAT_SCOPES = (".*LayerNorm.*",)
ONNX2TF_TIMEOUT_S = 3600
# onnx2tf downloads this sample from GitHub to test 4-D inputs with <= 20 in the
# batch axis (our clips, once T <= 20); a local file of that name stops the
# download, so conversion works offline. It only feeds onnx2tf's own check.
_ONNX2TF_SAMPLE = "calibration_image_sample_data_20x128x128x3_float32.npy"


def onnx2tflite(
    onnx_path: "str | os.PathLike", path: "str | os.PathLike", *, sample: np.ndarray | None = None
) -> Path:
    """Convert an ONNX file (TCHW input) to an fp32 ``.tflite`` with a THWC input.

    ``sample``: a (T, R, R, 3)-like float array onnx2tf may use for its internal
    check instead of the sample it would download. Raises ``VmfError`` with
    onnx2tf's last error line when it fails.
    """
    _require_installed("onnx2tf", "onnx2tf")  # not imported here: it imports TensorFlow
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="vmf-onnx2tf-") as work:
        work = Path(work)
        np.save(work / _ONNX2TF_SAMPLE, _onnx2tf_sample(sample))
        model = work / "model.onnx"
        shutil.copyfile(onnx_path, model)
        command = [
            sys.executable,
            "-m",
            "onnx2tf",
            "-i",
            str(model),
            "-o",
            str(work / "out"),
            "-nuo",  # the ONNX is already simplified by onnxsim
            "-v",
            "error",
        ]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        try:
            done = subprocess.run(
                command, cwd=work, env=env, capture_output=True, text=True, timeout=ONNX2TF_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise VmfError(
                f"onnx2tf did not finish in {ONNX2TF_TIMEOUT_S} s; try --converter litert-torch"
            ) from None
        produced = work / "out" / "model_float32.tflite"
        failed = done.returncode != 0 or not produced.is_file()
        record(done.stdout + done.stderr, f"onnx2tf (exit status {done.returncode})", failed=failed)
        if failed:
            raise VmfError(
                f"onnx2tf failed ({_last_error(done.stdout + done.stderr)}); try --converter litert-torch"
            )
        _add_signature(produced, path)
    return path


def _add_signature(source: Path, path: Path) -> None:
    """Copy a flatbuffer, giving it the ``serving_default`` signature it lacks.

    onnx2tf's .tflite has none (its ``-osd`` puts one in the SavedModel only);
    the LiteRT quantizer addresses inputs through a signature, and runtimes
    that use signature runners need one too: input ``clip``, output ``logits``.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    data = source.read_bytes()
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    if not model.signatureDefs:
        graph = model.subgraphs[0]

        def entry(name: str, index: int):
            tensor_map = schema.TensorMapT()
            tensor_map.name, tensor_map.tensorIndex = name, index
            return tensor_map

        signature = schema.SignatureDefT()
        signature.signatureKey, signature.subgraphIndex = SIGNATURE, 0
        signature.inputs = [entry(graph.tensors[i].name.decode(), i) for i in graph.inputs]
        signature.outputs = [
            entry("logits" if n == 0 else f"output_{n}", i) for n, i in enumerate(graph.outputs)
        ]
        model.signatureDefs = [signature]
        builder = flatbuffers.Builder(len(data) + 4096)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        data = builder.Output()
    path.write_bytes(data)


def torch2tflite(module: nn.Module, example: torch.Tensor, path: "str | os.PathLike") -> Path:
    """Convert a THWC deployable module, traced on ``example``, to an fp32 ``.tflite``."""
    litert_torch = _require("litert_torch", "litert-torch")
    path = Path(path)
    module = module.eval()
    try:
        # Passed by keyword, so the signature's input is named after forward's
        # argument ("clip" for vmf modules), not "args_0".
        name = next(iter(inspect.signature(module.forward).parameters))
        with torch.no_grad(), _quiet():
            edge = litert_torch.convert(module, sample_kwargs={name: example})
            edge.export(str(path))
    except VmfError:
        raise
    except Exception as exc:  # torch.export / MLIR lowering errors are long; keep the first line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise VmfError(f"litert-torch failed ({first}); try --converter onnx2tf") from None
    return path


def quantize_tflite(
    fp32_path: "str | os.PathLike",
    path: "str | os.PathLike",
    precision: str,
    calibration: np.ndarray | None = None,
    layout: str = "THWC",
) -> Path:
    """Write ``precision`` ("fp32", "fp16", "int8") of an fp32 ``.tflite`` to ``path``.

    ``calibration``: TCHW clips (count, T, 3, R, R), needed for int8 only; they
    are fed in ``layout``.
    """
    path = Path(path)
    if precision == "fp32":
        shutil.copyfile(fp32_path, path)
        return path
    if precision not in get_target("tflite").precisions:
        raise VmfError(f"unknown TFLite precision {precision!r}")
    _require("ai_edge_quantizer", "ai-edge-quantizer")
    from ai_edge_quantizer import quantizer, recipe, qtyping
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    ops = qtyping.TFLOperationName
    if precision == "fp16":
        q = quantizer.Quantizer(str(fp32_path))
        q.add_weight_only_config(
            regex=".*",
            operation_name=ops.ALL_SUPPORTED,
            num_bits=16,
            algorithm_key=AlgorithmName.FLOAT_CASTING,
        )
        calibrated = None
    else:
        if calibration is None or len(calibration) == 0:
            raise VmfError("int8 needs calibration clips")
        q = quantizer.Quantizer(str(fp32_path), recipe.static_wi8_ai8())
        # Float I/O (one input contract for every artifact), and FLOAT_OPS.
        for name in ("INPUT", "OUTPUT", *FLOAT_OPS, *CPU_ONLY_INT8_OPS):
            q.update_quantization_recipe(
                regex=".*", operation_name=getattr(ops, name), algorithm_key=AlgorithmName.NO_QUANTIZE
            )
        for scope in FLOAT_SCOPES:
            q.update_quantization_recipe(
                regex=scope, operation_name=ops.ALL_SUPPORTED, algorithm_key=AlgorithmName.NO_QUANTIZE
            )
        input_name = signature_input(fp32_path)
        from .parity import to_layout

        data = {SIGNATURE: [{input_name: to_layout(clip, layout)} for clip in calibration]}
        with _quiet():
            calibrated = q.calibrate(data, num_threads=min(4, os.cpu_count() or 1))
    with _quiet():
        result = q.quantize(calibrated, enable_progress_bar=False, enable_progress_report=False)
    path.write_bytes(bytes(result.quantized_model))
    return path


def _onnx2tf_sample(sample: np.ndarray | None) -> np.ndarray:
    """20 x 128 x 128 x 3 float32 frames for onnx2tf's own check (it resizes them)."""
    frames = np.zeros((20, 128, 128, 3), np.float32)
    if sample is not None:
        sample = np.asarray(sample, np.float32)
        for i in range(20):
            frame = torch.from_numpy(sample[i % len(sample)]).permute(2, 0, 1)[None]
            frame = torch.nn.functional.interpolate(frame, size=(128, 128), mode="bilinear")
            frames[i] = frame[0].permute(1, 2, 0).numpy()
    return frames


def _last_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "ERROR" in line:
            return line.replace("\x1b[31m", "").replace("\x1b[0m", "")[:240]
    return lines[-1][:240] if lines else "no output"


def _require_installed(module: str, package: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(f"the TFLite export needs {package}: pip install 'vmf[tflite]'")


def _require(module: str, package: str):
    try:
        with _quiet():  # litert-torch's import prints torchao load failures and warnings
            return __import__(module)
    except ImportError:
        raise MissingDependencyError(
            f"the TFLite export needs {package}: pip install 'vmf[tflite]'"
        ) from None


# -- the step vmf-export runs for --target tflite (registry: Target.writer) --------------------
def export_tflite(s: "ExportSession", job: "Job") -> list["Artifact"]:
    """Convert once (``job.converter``) to fp32, then quantise per precision; lint, count, gate."""
    from .lint import check_tflite, lint_tflite
    from .partitions import gpu_partitions, xnnpack_partitions

    target = get_target(job.target)
    layout = target.layout  # THWC: onnx2tf turns the TCHW ONNX input into NHWC
    fp32 = s.scratch / f"{job.converter}_fp32.tflite"
    s.log(f"tflite: converting with {job.converter} ...")
    with s.timed(f"tflite: {job.converter} converted"):
        if job.converter == "onnx2tf":
            _convert_through_onnx(s, fp32, layout)
        else:
            torch2tflite(s.module(layout), s.example(layout), fp32)
    gated = s.options.verify and s.options.form == "deployable"  # the naive form is rank 5 by design

    def build(tmp: Path, precision: str) -> dict:
        calibration = s.calibration().calib if precision == "int8" else None
        quantize_tflite(fp32, tmp, precision, calibration, layout=layout)
        lint = (check_tflite(tmp) if gated else lint_tflite(tmp)).to_dict()
        counts = {"xnnpack": xnnpack_partitions(tmp), "gpu": gpu_partitions(tmp)}
        lint["partitions"] = {k: None if v is None else v.partitions for k, v in counts.items()}
        # The budget binds the deployable form through the default converter: the naive
        # form is rank 5 by design, and onnx2tf's int8 graph still leaves ops XNNPACK has
        # no int8 kernel for on the CPU (docs/mobile-accelerators.md); it is counted only.
        name = s.final_path(job.target, precision, job.converter).name
        phone = gated and job.converter == target.default_converter
        partitions = s.partitions(counts, job.target if phone else None, name)
        if gated and not phone and counts["xnnpack"].partitions > 1:
            s.warn(
                f"warning: {name}: XNNPACK takes it in {counts['xnnpack'].partitions} "
                f"partitions; --converter {target.default_converter} makes one"
            )
        parity = s.parity(tflite_predictor(tmp, layout), job.target, precision, tmp.name)
        return s.metadata(
            job.target,
            precision,
            converter=job.converter,
            input_name=input_name(tmp),
            parity=parity,
            lint=lint,
            partitions=partitions,
        )

    return s.per_precision(job, build)


def _convert_through_onnx(s: "ExportSession", fp32: Path, layout: str) -> None:
    """The onnx2tf route: the TCHW ONNX graph, converted to a ``layout`` (THWC) flatbuffer."""
    from .onnx import torch2onnx

    onnx_file = torch2onnx(s.module("TCHW"), s.example("TCHW"), s.scratch / "for_onnx2tf.onnx")
    try:
        onnx2tflite(onnx_file, fp32, sample=s.example(layout).numpy())
    except VmfError as exc:
        if s.options.form != "naive" or s.facts.baseline:
            raise
        # Measured: onnx2tf's layout inference breaks on the 5-D bridges' MatMul,
        # and litert-torch crashes on a grouped Conv3d.
        reason = str(exc).split("; try")[0]
        raise VmfError(
            f"{reason}: onnx2tf cannot convert the naive 5-D {s.facts.variant}; that is "
            "what the deployable form fixes. The naive Mobile3D baseline converts "
            "(--baseline)"
        ) from None
