"""The interface every inference backend implements, and the checks they share.

Every backend validates at load: the input resolved by the
sidecar's name has the sidecar's shape and the output has one value per label;
a mismatch is one ``VmfError`` line. ``run`` returns only when the device has
finished, so a timer around it measures the inference (CUDA is synchronised).
The packages behind each backend are imported when it is loaded, so a missing
optional one names what to install (``MissingDependencyError``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vmf.model import MissingDependencyError, VmfError

DEVICES = ("cpu", "cuda")


def default_threads() -> int:
    """Physical cores: what ONNX Runtime picks by itself, applied explicitly so it can be reported."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:  # psutil is a core dependency; this is belt and braces
        cores = None
    return max(1, cores or os.cpu_count() or 1)


class Backend:
    """The interface every backend implements (subclasses fill in ``load`` and ``_infer``)."""

    name = "backend"
    # Whether ``load(spin=...)`` changes anything: the pool's busy-wait between operators
    # can be switched off (ONNX Runtime). Every backend takes ``spin``; those without a
    # switch ignore it, and the thread plan says so (vmf.runtime.thread_plan).
    spin_switch = False
    # Files it runs that no export target writes (a checkpoint); an export target's
    # suffixes are its record's (vmf.contract.targets), which names the backend.
    suffixes: tuple[str, ...] = ()

    def __init__(self, path: Path, meta: dict, device: str):
        self.path = Path(path)
        self.meta = meta
        self.device = device
        self.input_shape = tuple(int(d) for d in meta["input_shape"])
        self.labels = list(meta["labels"])

    @classmethod
    def load(
        cls, path: Path, *, threads: int | None = None, device: str = "cpu", spin: bool = True
    ) -> "Backend":
        raise NotImplementedError

    def run(self, clip: np.ndarray) -> np.ndarray:
        """Logits of shape (num_classes,) for one clip in the sidecar's layout and shape."""
        if tuple(clip.shape) != self.input_shape:
            raise VmfError(
                f"clip of shape {list(clip.shape)} given to a model that takes {list(self.input_shape)}"
            )
        logits = np.asarray(self._infer(np.ascontiguousarray(clip, dtype=np.float32)))
        if logits.size != len(self.labels):
            raise VmfError(f"{self.path.name} gave {logits.size} outputs for {len(self.labels)} labels")
        return logits.reshape(-1).astype(np.float32, copy=False)

    def _infer(self, clip: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path.name} on {self.device}>"


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise VmfError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    return device


def check_threads(threads: int | None) -> int:
    if threads is None:
        return default_threads()
    if int(threads) < 1:
        raise VmfError(f"--threads must be >= 1, got {threads}")
    return int(threads)


def check_io(path: Path, meta: dict, input_name: str, input_shape, output_size) -> None:
    """The model's own input/output against its sidecar (symbolic dimensions are accepted)."""
    if input_name != meta["input_name"]:
        raise VmfError(
            f"{path.name} takes an input named {input_name!r}, but its sidecar "
            f"says {meta['input_name']!r}: the sidecar does not belong to this model"
        )
    shape = [d if isinstance(d, (int, np.integer)) and d > 0 else None for d in input_shape]
    want = list(meta["input_shape"])
    if len(shape) != len(want) or any(d is not None and d != w for d, w in zip(shape, want)):
        raise VmfError(
            f"{path.name} takes input shape {list(input_shape)}, but its sidecar "
            f"says {want}: the sidecar does not belong to this model"
        )
    if output_size is not None and output_size != len(meta["labels"]):
        raise VmfError(
            f"{path.name} has {output_size} outputs but its sidecar lists {len(meta['labels'])} labels"
        )


def first_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]


def missing(package: str, extra: str, what: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"{what} needs {package}, which is not installed: pip install 'vmf[{extra}]'"
    )
