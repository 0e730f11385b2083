"""Reading a ``.tflite`` here: the LiteRT interpreter, a predictor for parity, the input
name, and TensorFlow's GPU-delegate analysis.

Shared by the TFLite writer (``tflite``), the lint (``lint``: the GPU verdict),
the partition count (``partitions``: the XNNPACK partitions the interpreter
makes, the GPU delegate's from the same analysis) and the split halves
(``split``); a module of its own so that none of them imports another for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import numpy as np

from vmf.model import MissingDependencyError, VmfError

from .quiet import quiet as _quiet

SIGNATURE = "serving_default"


def load_interpreter(path: "str | os.PathLike", threads: int = 2):
    """A ready LiteRT interpreter (ai-edge-litert; tflite-runtime as a fallback)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise MissingDependencyError(
                "running .tflite files needs ai-edge-litert: pip install 'vmf[tflite]'"
            ) from None
    with _quiet():
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    return interpreter


def tflite_predictor(path: "str | os.PathLike", layout: str = "THWC", threads: int = 2):
    """A function TCHW clip -> logits (1, classes) running ``path``, fed in ``layout``."""
    from .parity import to_layout

    interpreter = load_interpreter(path, threads)
    source = interpreter.get_input_details()[0]["index"]
    sink = interpreter.get_output_details()[0]["index"]

    def predict(clip: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(source, to_layout(clip.astype(np.float32), layout))
        interpreter.invoke()
        return interpreter.get_tensor(sink).copy()

    return predict


def input_name(path: "str | os.PathLike") -> str:
    """The input tensor's name in the flatbuffer (what ``get_input_details`` reports)."""
    return load_interpreter(path, 1).get_input_details()[0]["name"]


def signature_input(path) -> str:
    signatures = load_interpreter(path, 1).get_signature_list()
    if SIGNATURE not in signatures:
        raise VmfError(f"{Path(path).name} has no {SIGNATURE!r} signature to calibrate through")
    return signatures[SIGNATURE]["inputs"][0]


_GPU_ANALYSES: dict[str, str | None] = {}  # file content hash -> the analyzer's report
_GPU_ANALYSES_KEPT = 8


def gpu_analysis(path: "str | os.PathLike") -> str | None:
    """TensorFlow's GPU-delegate compatibility report of ``path`` (None without TensorFlow).

    The analyzer takes seconds and the lint and the partition count both read
    it, so it runs once per file content (a few reports are kept).
    """
    key = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if key not in _GPU_ANALYSES:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        out = io.StringIO()
        try:
            # quiet(): TF's C++ import banners go to fd 2; the report itself is a Python print.
            with _quiet(), contextlib.redirect_stdout(out):
                import tensorflow as tf

                tf.lite.experimental.Analyzer.analyze(model_path=str(path), gpu_compatibility=True)
        except ImportError:
            return None
        while len(_GPU_ANALYSES) >= _GPU_ANALYSES_KEPT:
            _GPU_ANALYSES.pop(next(iter(_GPU_ANALYSES)))
        _GPU_ANALYSES[key] = out.getvalue()
    return _GPU_ANALYSES[key]
