"""Parameter and MAC counting, the way Table 1 is checked.

MACs are multiply-accumulates for one clip, batch 1, eval mode, counted by
``torch.utils.flop_counter`` (which counts a MAC as 2 FLOPs): convolutions
(depthwise included), linear layers and the attention matmuls. Norms,
activations, pooling and adds are not counted, as in the paper's convention.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (BN running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, frames: int | None = None, resolution: int | None = None) -> int:
    """MACs of one forward pass on a ``1 x 3 x frames x resolution x resolution`` clip.

    Defaults come from the model's config (64 frames, the variant's resolution).
    Runs on the ``meta`` device, so even 5G is counted without allocating memory.
    """
    cfg = getattr(model, "cfg", None)
    frames = frames or (cfg.frames if cfg else 64)
    resolution = resolution or (cfg.resolution if cfg else 224)
    meta = copy.deepcopy(model).to("meta").eval().requires_grad_(False)  # caller's model untouched
    clip = torch.zeros(1, 3, frames, resolution, resolution, device="meta")
    counter = FlopCounterMode(display=False)
    with counter:
        meta(clip)
    return counter.get_total_flops() // 2
