"""ONNX Runtime: CPU, or CUDA when ``onnxruntime-gpu`` and a GPU are present."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.contract.card import read_sidecar
from vmf.contract.web_layout import model_file, read_site_card, site_of
from vmf.model import VmfError
from vmf.model.ort_session import CPU_PROVIDER, CUDA_PROVIDER, ort_session

from .backend_base import Backend, check_io, check_threads, first_line


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    spin_switch = True  # session.intra_op.allow_spinning (vmf.model.ort_session)

    def __init__(self, path: Path, meta: dict, device: str, session):
        super().__init__(path, meta, device)
        self._session = session
        self._input_name = meta["input_name"]
        self._output_name = session.get_outputs()[0].name

    @classmethod
    def load(
        cls, path: Path, *, threads: int | None = None, device: str = "cpu", spin: bool = True
    ) -> "OnnxRuntimeBackend":
        import onnxruntime as ort

        site = site_of(path)  # a web export: the card its page reads
        meta = read_site_card(site) if site is not None else read_sidecar(path)
        threads = check_threads(threads)
        if device == "cuda":
            if CUDA_PROVIDER not in ort.get_available_providers():
                raise VmfError(
                    "--device cuda with onnxruntime needs the onnxruntime-gpu package "
                    "and a CUDA GPU; this onnxruntime offers "
                    f"{', '.join(ort.get_available_providers())}"
                )
            providers = [CUDA_PROVIDER, CPU_PROVIDER]
        else:
            providers = [CPU_PROVIDER]
        try:  # threads applied, so the device string is true
            # a web export (a folder) is run through its model/model.onnx
            session = ort_session(model_file(path), threads=threads, providers=providers, spin=spin)
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise VmfError(f"{path.name} is not a loadable ONNX model ({first_line(exc)})") from None
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise VmfError(
                f"{path.name} has {len(inputs)} inputs and {len(outputs)} outputs; "
                "a vmf model has one clip input and one logits output"
            )
        out_shape = outputs[0].shape
        out_size = int(np.prod(out_shape)) if all(isinstance(d, int) for d in out_shape) else None
        check_io(path, meta, inputs[0].name, inputs[0].shape, out_size)
        actual = session.get_providers()[0]
        if device == "cuda" and actual != CUDA_PROVIDER:
            raise VmfError(
                "onnxruntime could not start its CUDA provider (is a GPU with a matching CUDA/cuDNN present?)"
            )
        described = f"onnxruntime {actual}" + (f", {threads} threads" if actual == CPU_PROVIDER else "")
        return cls(path, meta, described, session)

    def _infer(self, clip: np.ndarray) -> np.ndarray:
        # Outputs come back as host numpy arrays, so CUDA work has finished here.
        return self._session.run([self._output_name], {self._input_name: clip})[0]
