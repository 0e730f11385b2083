"""The reference 5-D model behind the vmf input contract, for ``--naive`` exports."""

from __future__ import annotations

import torch
from torch import nn


class NaiveClipModel(nn.Module):
    """The reference 5-D model behind the vmf input contract (one TCHW clip in).

    No rewrite: it shows what a converter makes of the model as written (a
    rank-5 graph whose depthwise Conv3d onnx2tf splits into one CONV_3D per
    channel), which is why the deployable form exists (docs/deployable-form.md).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.model(clip.permute(1, 0, 2, 3).unsqueeze(0))
