"""Reference PyTorch Video Mobile-Former (paper §3, Table 1) and its Mobile3D baselines.

The names that need PyTorch (the network, checkpoints, counting) are imported
on first use (PEP 562), so ``from vmf.model import VmfError, VARIANTS`` -- what
the runtime and the model cards need -- does not import torch: an app that runs
an exported model on ONNX Runtime or OpenVINO starts about 1.4 s sooner and
without torch in its memory.
"""

import importlib

from .errors import CheckpointError, MissingDependencyError, UnknownVariantError, VmfError
from .variants import CLIP_FRAMES, MEAN, NUM_CLASSES, STD, VARIANTS, VariantConfig, get_variant

# name -> submodule that defines it (each imports torch)
_LAZY = {
    "VideoMobileFormer": "network",
    "build_model": "network",
    "count_params": "counting",
    "count_macs": "counting",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_weights": "checkpoint",
    "read_checkpoint": "checkpoint",
    "state_dict_sha256": "checkpoint",
}

__all__ = [
    "CLIP_FRAMES",
    "MEAN",
    "NUM_CLASSES",
    "STD",
    "VARIANTS",
    "VariantConfig",
    "get_variant",
    "VideoMobileFormer",
    "build_model",
    "count_params",
    "count_macs",
    "save_checkpoint",
    "load_checkpoint",
    "load_weights",
    "read_checkpoint",
    "state_dict_sha256",
    "VmfError",
    "UnknownVariantError",
    "CheckpointError",
    "MissingDependencyError",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
