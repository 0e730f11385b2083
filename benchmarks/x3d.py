"""X3D-S (Feichtenhofer, CVPR 2020), built here for the latency comparison of Table 12.

The paper compares Video Mobile-Former with X3D-S on 64-frame clips; no X3D
package is installed and nothing is downloaded, so the network is written from
the published architecture (X3D paper Table 1; PyTorchVideo's ``create_x3d``
settings for S): width factor 2.0, depth factor 2.2, bottleneck factor 2.25,
SE ratio 1/16 on every other block, Swish after the depthwise conv. Weights are
random: only latency is measured. On a 1x3x64x160x160 clip it counts 9.66
GMACs and 3.79M params with ``vmf.model.count_macs`` (X3D-S is 1.96 GMACs at 13
frames, x 64/13).

``X3DClip`` wraps it to take the exported-model contract's ``[T, 3, R, R]``
input, so it is exported to ONNX as it stands (5-D ops, the "naive" form) and
timed through the same runtime backend and loop as the VMF artifacts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def round_width(width: float, divisor: int = 8, minimum: int = 8) -> int:
    """Nearest multiple of ``divisor`` (at least ``minimum``), never more than 10 % below."""
    rounded = max(minimum, int(width + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * width else rounded


@dataclass(frozen=True)
class X3DConfig:
    name: str = "X3D-S"
    frames: int = 64  # Table 12 times every model on 64 frames
    resolution: int = 160  # X3D-S's training and test resolution
    stem_channels: int = 24  # 12 x width factor 2.0
    stage_channels: tuple[int, ...] = (24, 48, 96, 192)
    stage_depths: tuple[int, ...] = (3, 5, 11, 7)  # ceil(2.2 x (1, 2, 5, 3))
    bottleneck_factor: float = 2.25
    se_ratio: float = 0.0625
    stem_temporal_kernel: int = 5
    head_hidden: int = 2048
    num_classes: int = 400


X3D_S = X3DConfig()


class SqueezeExcite3d(nn.Module):
    """Channel gating from the clip-pooled features (SE, as X3D uses it)."""

    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc1 = nn.Conv3d(channels, reduced, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv3d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc2(self.act(self.fc1(self.pool(x)))))


class X3DStem(nn.Module):
    """(2+1)D stem: 1x3x3 spatial conv (stride 2), depthwise 5x1x1 temporal conv, BN, ReLU."""

    def __init__(self, channels: int, temporal_kernel: int):
        super().__init__()
        self.conv_xy = nn.Conv3d(3, channels, (1, 3, 3), (1, 2, 2), (0, 1, 1), bias=False)
        self.conv_t = nn.Conv3d(
            channels,
            channels,
            (temporal_kernel, 1, 1),
            1,
            (temporal_kernel // 2, 0, 0),
            groups=channels,
            bias=False,
        )
        self.norm = nn.BatchNorm3d(channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv_t(self.conv_xy(x))))


class X3DBlock(nn.Module):
    """Bottleneck: 1x1x1 expand, BN, ReLU; 3x3x3 depthwise, BN, [SE], Swish; 1x1x1 project, BN;
    residual add (projection shortcut on stride or width change), then ReLU."""

    def __init__(self, in_ch: int, out_ch: int, hidden: int, stride: int, se_channels: int):
        super().__init__()
        self.conv_a = nn.Conv3d(in_ch, hidden, 1, bias=False)
        self.norm_a = nn.BatchNorm3d(hidden)
        self.act_a = nn.ReLU(inplace=True)
        self.conv_b = nn.Conv3d(hidden, hidden, 3, (1, stride, stride), 1, groups=hidden, bias=False)
        self.norm_b = nn.BatchNorm3d(hidden)
        self.se = SqueezeExcite3d(hidden, se_channels) if se_channels else nn.Identity()
        self.act_b = nn.SiLU()
        self.conv_c = nn.Conv3d(hidden, out_ch, 1, bias=False)
        self.norm_c = nn.BatchNorm3d(out_ch)
        needs_projection = stride != 1 or in_ch != out_ch
        self.shortcut = (
            nn.Sequential(
                nn.Conv3d(in_ch, out_ch, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(out_ch)
            )
            if needs_projection
            else nn.Identity()
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act_a(self.norm_a(self.conv_a(x)))
        y = self.act_b(self.se(self.norm_b(self.conv_b(y))))
        y = self.norm_c(self.conv_c(y))
        return self.act(y + self.shortcut(x))


class X3DHead(nn.Module):
    """1x1x1 conv to the last hidden width, BN, ReLU; global pool; 1x1x1 conv to 2048, ReLU; FC."""

    def __init__(self, in_ch: int, hidden: int, features: int, num_classes: int):
        super().__init__()
        self.pre_conv = nn.Conv3d(in_ch, hidden, 1, bias=False)
        self.pre_norm = nn.BatchNorm3d(hidden)
        self.pre_act = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.post_conv = nn.Conv3d(hidden, features, 1, bias=False)
        self.post_act = nn.ReLU(inplace=True)
        self.proj = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.pre_act(self.pre_norm(self.pre_conv(x))))
        return self.proj(self.post_act(self.post_conv(x)).flatten(1))


class X3D(nn.Module):
    """X3D on ``(B, 3, T, H, W)`` clips; logits ``(B, num_classes)``."""

    def __init__(self, cfg: X3DConfig = X3D_S):
        super().__init__()
        self.cfg = cfg
        self.stem = X3DStem(cfg.stem_channels, cfg.stem_temporal_kernel)
        blocks = []
        in_ch = cfg.stem_channels
        for out_ch, depth in zip(cfg.stage_channels, cfg.stage_depths):
            hidden = int(cfg.bottleneck_factor * out_ch)
            se_channels = round_width(hidden * cfg.se_ratio)
            for i in range(depth):
                # SE on the 1st, 3rd, 5th ... block of each stage (X3D "every other block").
                blocks.append(
                    X3DBlock(in_ch, out_ch, hidden, 2 if i == 0 else 1, se_channels if i % 2 == 0 else 0)
                )
                in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.head = X3DHead(in_ch, int(cfg.bottleneck_factor * in_ch), cfg.head_hidden, cfg.num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(clip)))


class X3DClip(nn.Module):
    """X3D taking the exported-model input ``[T, 3, R, R]`` (frames on the batch axis).

    The one permute to ``(1, 3, T, R, R)`` is part of what is timed; it moves
    4.9M floats for 64x160x160, well under 1 % of X3D-S's time.
    """

    def __init__(self, net: X3D):
        super().__init__()
        self.net = net

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames.permute(1, 0, 2, 3).unsqueeze(0))


def build_x3d(cfg: X3DConfig = X3D_S, seed: int = 0) -> X3D:
    """X3D with seeded random weights, in eval mode."""
    torch.manual_seed(seed)
    return X3D(cfg).eval()


def paper_macs_at(frames: int) -> float:
    """Published X3D-S cost (1.96 GMACs on 13 frames at 160 px) scaled to ``frames``."""
    return 1.96e9 * frames / 13


__all__ = ["X3D", "X3DClip", "X3DConfig", "X3D_S", "build_x3d", "paper_macs_at", "round_width"]
