"""Reference PyTorch Video Mobile-Former (paper §3, Table 1) and its Mobile3D baselines."""

from .checkpoint import load_checkpoint, load_weights, read_checkpoint, save_checkpoint, state_dict_sha256
from .counting import count_macs, count_params
from .errors import CheckpointError, MissingDependencyError, UnknownVariantError, VmfError
from .network import VideoMobileFormer, build_model
from .variants import CLIP_FRAMES, MEAN, NUM_CLASSES, STD, VARIANTS, VariantConfig, get_variant

__all__ = [
    "CLIP_FRAMES", "MEAN", "NUM_CLASSES", "STD", "VARIANTS", "VariantConfig", "get_variant",
    "VideoMobileFormer", "build_model", "count_params", "count_macs",
    "save_checkpoint", "load_checkpoint", "load_weights", "read_checkpoint", "state_dict_sha256",
    "VmfError", "UnknownVariantError", "CheckpointError", "MissingDependencyError",
]
