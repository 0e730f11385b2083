"""ExecuTorch (``.pte``) through its Python runtime; XNNPACK on the CPU (docs/executorch.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.export.sidecar import read_sidecar
from vmf.model import VmfError

from .backend_base import Backend, check_io, check_threads, first_line, missing


class ExecuTorchBackend(Backend):
    name = "executorch"
    suffixes = (".pte",)

    def __init__(self, path: Path, meta: dict, device: str, method, torch):
        super().__init__(path, meta, device)
        self._method = method
        self._torch = torch

    @classmethod
    def load(
        cls, path: Path, *, threads: int | None = None, device: str = "cpu", spin: bool = True
    ) -> "ExecuTorchBackend":
        # ``spin`` is part of every backend's load (the stream's thread plan); ExecuTorch's
        # thread pool has no spin-wait switch, so there is nothing to apply.
        meta = read_sidecar(path)
        if device == "cuda":
            raise VmfError(
                "the ExecuTorch runtime runs .pte models on the CPU here; use "
                "--device cpu, or an .onnx model for CUDA"
            )
        threads = check_threads(threads)
        try:
            import torch

            from vmf.export import executorch as et

            et.require_executorch()
        except ImportError:
            raise missing("executorch", "executorch", "running a .pte model") from None
        try:
            needed = et.backends_needed(path)
        except Exception as exc:  # the flatbuffer reader raises plain Exceptions on junk
            raise VmfError(f"{path.name} is not an ExecuTorch program ({first_line(exc)})") from None
        available = et.backends_available()
        lacking = [b for b in needed if b not in available]
        if lacking:
            where = " (Core ML runs on Apple platforms only)" if "CoreMLBackend" in lacking else ""
            raise VmfError(
                f"{path.name} needs the {', '.join(lacking)} backend, which this "
                f"ExecuTorch runtime lacks{where}; it has {', '.join(available)}"
            )
        try:
            # The thread pool is sized before the method is loaded: XNNPACK takes its
            # threads at load time (export/executorch.py, load_method).
            method, _ = et.load_method(path, threads)
        except (RuntimeError, ValueError) as exc:
            raise VmfError(f"{path.name} is not a loadable ExecuTorch program ({first_line(exc)})") from None
        info = method.metadata
        if info.num_inputs() != 1 or info.num_outputs() != 1:
            raise VmfError(
                f"{path.name} has {info.num_inputs()} inputs and {info.num_outputs()} "
                "outputs; a vmf model has one clip input and one logits output"
            )
        shape = list(info.input_tensor_meta(0).sizes())
        out = int(np.prod(info.output_tensor_meta(0).sizes()))
        # A .pte keeps no input names (forward's argument is positional), so the shape is
        # what can be held to the sidecar.
        check_io(path, meta, meta["input_name"], shape, out)
        names = {"XnnpackBackend": "XNNPACK", "CoreMLBackend": "Core ML"}
        runs_on = " + ".join(names.get(b, b) for b in needed) or "portable kernels"
        return cls(path, meta, f"ExecuTorch {runs_on}, {threads} threads", method, torch)

    def _infer(self, clip: np.ndarray) -> np.ndarray:
        return self._method.execute([self._torch.from_numpy(clip)])[0].numpy()
