"""LiteRT (``ai-edge-litert``), falling back to the older ``tflite_runtime``; XNNPACK on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.contract.card import read_sidecar
from vmf.model import VmfError

from .backend_base import Backend, check_io, check_threads, first_line, missing


def _interpreter_class():
    """(Interpreter class, runtime name); ai-edge-litert (the maintained package) first."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "LiteRT"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite_runtime"
    except ImportError:
        raise missing("ai-edge-litert", "tflite", "running a .tflite model") from None


class LiteRTBackend(Backend):
    name = "tflite"

    def __init__(self, path: Path, meta: dict, device: str, interpreter):
        super().__init__(path, meta, device)
        self._interpreter = interpreter
        self._input = interpreter.get_input_details()[0]
        self._output = interpreter.get_output_details()[0]

    @classmethod
    def load(
        cls, path: Path, *, threads: int | None = None, device: str = "cpu", spin: bool = True
    ) -> "LiteRTBackend":
        meta = read_sidecar(path)
        if device == "cuda":
            raise VmfError(
                "the LiteRT Python interpreter runs on the CPU here (its GPU delegate "
                "is for phones); use --device cpu, or an .onnx model for CUDA"
            )
        threads = check_threads(threads)
        interpreter_class, runtime = _interpreter_class()
        try:
            # num_threads is what XNNPACK (LiteRT's default CPU delegate) uses. ``spin`` is not
            # applied: the Python interpreter offers no switch for its pool's wait.
            interpreter = interpreter_class(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise VmfError(f"{path.name} is not a loadable TFLite model ({first_line(exc)})") from None
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) < 1:
            raise VmfError(
                f"{path.name} has {len(inputs)} inputs and {len(outputs)} outputs; "
                "a vmf model has one clip input and one logits output"
            )
        # The tensor's name is the converter's (onnx2tf keeps the ONNX name, litert-torch
        # writes serving_default_args_0:0), so only the shape can be held to the sidecar.
        check_io(
            path,
            meta,
            meta["input_name"],
            [int(d) for d in inputs[0]["shape"]],
            int(np.prod(outputs[0]["shape"])),
        )
        return cls(path, meta, f"{runtime} XNNPACK, {threads} threads", interpreter)

    def _infer(self, clip: np.ndarray) -> np.ndarray:
        detail = self._input
        if detail["dtype"] != np.float32:  # integer I/O (full-int8 models): quantise here
            scale, zero = detail["quantization"]
            info = np.iinfo(detail["dtype"])
            clip = np.clip(np.round(clip / scale + zero), info.min, info.max).astype(detail["dtype"])
        self._interpreter.set_tensor(detail["index"], clip)  # copies into the arena
        self._interpreter.invoke()
        out = self._interpreter.get_tensor(self._output["index"])
        if out.dtype != np.float32:
            scale, zero = self._output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out
