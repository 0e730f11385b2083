"""The classification head on ``[T', C, H, W]`` features.

Mobile-Former's ``MergeClassifier``, with BN folded. The spellings override
one step, ``pool`` (the mean over T'HW), not the forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vmf.model.blocks import Head

from .context import DeployContext
from .folding import conv3d_to_conv2d, linear_bn, make_linear
from .frame_ops import first_token


class DeployHead(nn.Module):
    """1x1 conv (+BN) + ReLU6, mean over H x W then over frames, h_swish, [|| z0], FC (+BN), h_swish, FC.

    The mean is taken spatially first (a 4-D spatial mean is what XNNPACK's
    MEAN and GlobalAveragePool accept) and then over the T' frames; every
    frame has the same H x W, so this is the reference's mean over T'HW.
    Dropout is the identity in eval mode and is left out.
    """

    def __init__(self, conv: nn.Conv2d, fc: nn.Linear, classifier: nn.Linear):
        super().__init__()
        self.conv = conv
        self.act = nn.ReLU6()
        self.pool_act = nn.Hardswish()
        self.fc = fc
        self.fc_act = nn.Hardswish()
        self.classifier = classifier

    @classmethod
    def from_reference(cls, block: Head, ctx: DeployContext) -> "DeployHead":
        classifier = block.classifier
        return cls(
            conv3d_to_conv2d(block.conv, block.bn),
            linear_bn(block.fc, block.bn_fc),
            make_linear(classifier.weight.detach(), classifier.bias.detach()),
        )

    def forward(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        pooled = self.pool_act(self.pool(self.act(self.conv(x))))  # [1, 6C]
        features = pooled if z is None else torch.cat([pooled, first_token(z)], dim=1)  # Mobile3D: no token
        return self.classifier(self.fc_act(self.fc(features)))

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """``[T', 6C, H, W]`` -> ``[1, 6C]``: the mean over H x W, then over the T' frames."""
        pooled = F.adaptive_avg_pool2d(x, 1)  # [T', 6C, 1, 1]
        return pooled.mean(dim=0, keepdim=True).flatten(1)
