"""Core ML (``.mlpackage``), which coremltools can run on macOS only."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from vmf.contract.card import read_sidecar
from vmf.model import VmfError

from .backend_base import Backend, check_io, first_line, missing


class CoreMLBackend(Backend):
    name = "coreml"

    def __init__(self, path: Path, meta: dict, device: str, model, input_name: str):
        super().__init__(path, meta, device)
        self._model = model
        self._input_name = input_name

    @classmethod
    def load(
        cls, path: Path, *, threads: int | None = None, device: str = "cpu", spin: bool = True
    ) -> "CoreMLBackend":
        meta = read_sidecar(path)
        if platform.system() != "Darwin":
            raise VmfError(
                "Core ML models run only on macOS; here, stream the .onnx or .tflite export of the same model"
            )
        if device == "cuda":
            raise VmfError(
                "--device cuda is not a Core ML device; use --device cpu "
                "(Core ML then picks CPU, GPU and Neural Engine itself)"
            )
        try:
            import coremltools as ct
        except ImportError:
            raise missing("coremltools", "coreml", "running a Core ML model") from None
        try:
            model = ct.models.MLModel(str(path), compute_units=ct.ComputeUnit.ALL)
        except Exception as exc:  # coremltools raises plain Exceptions for bad packages
            raise VmfError(f"{path.name} is not a loadable Core ML model ({first_line(exc)})") from None
        description = model.get_spec().description
        if len(description.input) != 1:
            raise VmfError(f"{path.name} has {len(description.input)} inputs; a vmf model has one")
        spec_input = description.input[0]
        shape = [int(d) for d in spec_input.type.multiArrayType.shape]
        # The input name is the converter's; the shape must be the sidecar's. The output
        # size is checked on every run (a classifier model returns a {label: score} dict).
        check_io(path, meta, meta["input_name"], shape, None)
        # Core ML decides per layer where to run; threads are not a Core ML setting.
        return cls(path, meta, "Core ML (compute units ALL)", model, spec_input.name)

    def _infer(self, clip: np.ndarray) -> np.ndarray:
        outputs = self._model.predict({self._input_name: clip})
        for value in outputs.values():
            if isinstance(value, dict):  # a classifier model: {label: score}
                return np.array([value[label] for label in self.labels], dtype=np.float32)
        arrays = [np.asarray(v) for v in outputs.values() if np.asarray(v).size == len(self.labels)]
        if not arrays:
            raise VmfError(f"{self.path.name} gave no output with one value per label")
        return arrays[0]
