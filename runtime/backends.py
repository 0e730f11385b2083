"""Inference backends behind one small interface, and the function that picks one.

    from vmf.runtime.backends import load_backend
    backend = load_backend("vmf-560m_fp32.onnx", threads=2)   # reads vmf-560m_fp32.json
    logits = backend.run(clip)   # clip: float32 in backend.input_shape -> (num_classes,)
    backend.device               # what really ran: "onnxruntime CPUExecutionProvider, 2 threads"

The interface and its load-time checks are in ``backend_base``; one module per
backend (``backend_onnxruntime``, ``backend_litert``, ``backend_torch``,
``backend_openvino``, ``backend_coreml``, ``backend_executorch``) imports its package only when a model
is loaded. Which backend a model file's suffix implies is its export target's
record (``Target.backend`` in ``vmf.contract.targets``); OpenVINO runs the same
``.onnx`` files as ONNX Runtime, so it is chosen by name (``backend="openvino"``).
"""

from __future__ import annotations

import os
from pathlib import Path

from vmf.contract import targets as registry
from vmf.contract import web_layout
from vmf.model import VmfError

from .backend_base import DEVICES, Backend, check_device, check_threads, default_threads
from .backend_coreml import CoreMLBackend
from .backend_executorch import ExecuTorchBackend
from .backend_litert import LiteRTBackend
from .backend_onnxruntime import OnnxRuntimeBackend
from .backend_openvino import OpenVINOBackend
from .backend_torch import TorchBackend

__all__ = ["BACKENDS", "DEVICES", "Backend", "backend_for", "default_threads", "load_backend", "suffixes"]

# Names are what --backend accepts; order is the order help texts list them in.
BACKENDS: dict[str, type[Backend]] = {
    cls.name: cls
    for cls in (
        OnnxRuntimeBackend,
        LiteRTBackend,
        TorchBackend,
        OpenVINOBackend,
        CoreMLBackend,
        ExecuTorchBackend,
    )
}


def suffixes(backend: str) -> tuple[str, ...]:
    """The suffixes that imply ``backend``: its export targets' files, then its own (a checkpoint)."""
    cls = BACKENDS.get(backend)
    of_targets = (s for t in registry.REGISTRY.values() if t.backend == backend for s in t.suffixes)
    return tuple(dict.fromkeys([*of_targets, *(cls.suffixes if cls else ())]))


def backend_for(path: "str | os.PathLike") -> str:
    """The backend a model file's suffix implies (``.onnx`` -> ``onnxruntime``, ...)."""
    suffix = Path(path).suffix.lower()
    target = registry.by_suffix(suffix)
    if target is None and web_layout.site_of(path) is not None:
        target = registry.get(web_layout.TARGET)  # a web export copied under another name
    if target is not None:
        return target.backend
    for name, cls in BACKENDS.items():
        if suffix in cls.suffixes:
            return name
    known = ", ".join(dict.fromkeys(s for name in BACKENDS for s in suffixes(name)))
    raise VmfError(
        f"cannot tell the backend of {Path(path).name} from its suffix (known: {known}); pass --backend"
    )


def load_backend(
    path: "str | os.PathLike",
    backend: str | None = None,
    threads: int | None = None,
    device: str = "cpu",
    spin: bool = True,
) -> Backend:
    """Load ``path`` with the named backend (or the one its suffix implies), validated.

    ``spin=False`` keeps the backend's idle pool threads from busy-waiting (a
    stream's thread plan, ``vmf.runtime.thread_plan``).
    """
    path = Path(path)
    if not path.exists():
        raise VmfError(f"model file not found: {path}")
    name = backend or backend_for(path)
    if name not in BACKENDS:
        raise VmfError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    loaded = BACKENDS[name].load(path, threads=threads, device=check_device(device), spin=spin)
    loaded.threads = check_threads(threads)  # what the split halves (stem reuse) run with
    loaded.spin = bool(spin)
    return loaded
