"""OpenVINO on the CPU, running the same ``.onnx`` file (and sidecar) the exporter writes.

Chosen explicitly (``--backend openvino``): a ``.onnx`` suffix still implies
``onnxruntime``. The model runs at the precision it was exported at; see
``PRECISION`` below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.contract.card import read_sidecar
from vmf.model import VmfError

from .backend_base import Backend, check_io, check_threads, first_line, missing

# OpenVINO picks the inference precision itself: on CPUs with AVX512_BF16 or AMX its
# default is bf16, which would silently change the numerics of an "fp32" model (about
# 1e-3 off on the tiny test model, against 1e-7 in f32). vmf runs a model at the precision
# it was exported at, so the float parts are held to f32; an int8 QDQ export still runs
# its int8 convolutions (this hint governs only what is float in the graph).
PRECISION = "f32"

# OpenVINO's messages open with where in its C++ sources they were raised; the reason
# is the first line that is not such a location.
_LOCATION_PREFIXES = ("Exception from ", "Check '", "FrontEnd API failed")


def _reason(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        line = line.strip()
        if line and not line.startswith(_LOCATION_PREFIXES):
            return line[:160]
    return first_line(exc)


def compile_onnx(core, path: Path, threads: int, **config):
    """``path`` compiled for OpenVINO's CPU plugin as vmf runs it (``config`` adds properties).

    Through the ONNX frontend, not ``core.read_model``: on a file the ONNX
    frontend refuses, read_model tries every other frontend, and TensorFlow's
    logs parse errors to stderr. This is the same conversion read_model does
    for an .onnx file.
    """
    import openvino as ov

    frontend = ov.frontend.FrontEndManager().load_by_framework("onnx")
    model = frontend.convert(frontend.load(str(path)))
    return core.compile_model(
        model,
        "CPU",
        {
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": PRECISION,
            **config,
        },
    )


class OpenVINOBackend(Backend):
    name = "openvino"  # runs the exporter's .onnx when named (the onnx target's other_backends)

    def __init__(self, path: Path, meta: dict, device: str, compiled):
        super().__init__(path, meta, device)
        self._compiled = compiled
        self._request = compiled.create_infer_request()  # one clip in flight at a time

    @classmethod
    def load(
        cls, path: Path, *, threads: int | None = None, device: str = "cpu", spin: bool = True
    ) -> "OpenVINOBackend":
        meta = read_sidecar(path)
        if device == "cuda":
            raise VmfError(
                "OpenVINO runs on the CPU here (its GPU plugin is for Intel GPUs); "
                "use --backend onnxruntime or a torch checkpoint for --device cuda"
            )
        threads = check_threads(threads)
        try:
            import openvino as ov
        except ImportError:
            raise missing("openvino", "openvino", "the openvino backend") from None
        core = ov.Core()
        try:
            # ``spin`` is not applied: OpenVINO's idle threads do not busy-wait, and unpinning
            # them (ENABLE_CPU_PINNING off) made a 30 fps stream slower (docs/streaming.md).
            compiled = compile_onnx(core, path, threads)
        except Exception as exc:  # OpenVINO raises RuntimeError and its own GeneralFailure, ...
            raise VmfError(
                f"{path.name} is not a loadable ONNX model for OpenVINO ({_reason(exc)})"
            ) from None
        inputs, outputs = compiled.inputs, compiled.outputs
        if len(inputs) != 1 or len(outputs) < 1:
            raise VmfError(
                f"{path.name} has {len(inputs)} inputs and {len(outputs)} outputs; "
                "a vmf model has one clip input and one logits output"
            )
        in_shape = [d.get_length() if d.is_static else -1 for d in inputs[0].get_partial_shape()]
        out_shape = outputs[0].get_partial_shape()
        out_size = int(np.prod([d.get_length() for d in out_shape])) if out_shape.is_static else None
        check_io(path, meta, inputs[0].get_any_name(), in_shape, out_size)
        # Read back what was applied (OpenVINO caps the threads at the cores it sees).
        applied = int(compiled.get_property("INFERENCE_NUM_THREADS"))
        cpu = core.get_property("CPU", "FULL_DEVICE_NAME")
        return cls(path, meta, f"openvino CPU ({cpu}), {applied} threads", compiled)

    def _infer(self, clip: np.ndarray) -> np.ndarray:
        # infer() is synchronous: the outputs are ready when it returns. With shared outputs
        # it hands back the request's own buffer, which the next call overwrites: copy it.
        return self._request.infer({0: clip}, share_outputs=True)[0].copy()
