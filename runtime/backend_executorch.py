"""ExecuTorch (``.pte``) through its Python runtime; XNNPACK on the CPU (docs/executorch.md).

The runtime reads and loads a ``.pte`` itself, as it opens a ``.tflite`` or an
``.onnx`` itself: which delegate backends the program calls, which ones this
ExecuTorch build has, and its ``forward`` method loaded after the thread pool
is sized. (The exporter has its own runner for the parity check it makes at
export time; the runtime never imports the exporter.)
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

from vmf.contract.card import read_sidecar
from vmf.model import VmfError

from .backend_base import Backend, check_io, check_threads, first_line, missing


class ExecuTorchBackend(Backend):
    name = "executorch"

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

            # Imported here, silenced: torchao (which executorch.exir imports) prints that its
            # CUDA kernels are absent on a CPU build; backends_needed then finds it loaded.
            with _silenced():
                import executorch.exir._serialize._program  # noqa: F401
                from executorch.extension.pybindings import portable_lib
                from executorch.runtime import Runtime
        except ImportError:
            raise missing("executorch", "executorch", "running a .pte model") from None
        try:
            needed = backends_needed(path)
        except Exception as exc:  # the flatbuffer reader raises plain Exceptions on junk
            raise VmfError(f"{path.name} is not an ExecuTorch program ({first_line(exc)})") from None
        available = sorted(portable_lib._get_registered_backend_names())
        lacking = [b for b in needed if b not in available]
        if lacking:
            where = " (Core ML runs on Apple platforms only)" if "CoreMLBackend" in lacking else ""
            raise VmfError(
                f"{path.name} needs the {', '.join(lacking)} backend, which this "
                f"ExecuTorch runtime lacks{where}; it has {', '.join(available)}"
            )
        try:
            # The thread pool is sized before the method is loaded: XNNPACK takes its
            # threads from ExecuTorch's shared pool when the method is loaded (its
            # workspace is sized then), so the pool is reset first.
            with _silenced():
                portable_lib._unsafe_reset_threadpool(int(threads))
                method = Runtime.get().load_program(path).load_method("forward")
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


def backends_needed(path: "str | os.PathLike") -> list[str]:
    """The delegate backend ids a ``.pte`` calls (``XnnpackBackend``, ``CoreMLBackend``)."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    pte = deserialize_pte_binary(Path(path).read_bytes())
    program = getattr(pte, "program", pte)
    return sorted({d.id for plan in program.execution_plan for d in plan.delegates})


@contextlib.contextmanager
def _silenced():
    """ExecuTorch and its imports log from C++ straight to fds 1 and 2: drop that, unless
    ``VMF_VERBOSE=1`` (as the exporter's ``quiet`` does outside an export)."""
    if os.environ.get("VMF_VERBOSE", "") not in ("", "0"):
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, sink):
            os.close(fd)
