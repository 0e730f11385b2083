"""Building blocks of Video Mobile-Former, in the order of the paper's Fig. 2 (§3).

stem -> [block = Mobile->Former bridge, Former, Mobile block, Former->Mobile bridge] x N
-> final Mobile->Former bridge and head. A Mobile3D baseline (Table 2) is the same
network with the token parts swapped for pass-throughs chosen in ``__init__``, so
``forward`` has no config branches.
"""

from __future__ import annotations

import torch
from torch import nn

from .bridges import Former, FormerToMobile, MobileToFormer
from .dyrelu import FrameDyReLU, PlainReLU


class KeepTokens(nn.Module):
    """Stands in for a Mobile->Former bridge where there are no tokens (Mobile3D)."""

    def forward(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor | None:
        return z


class KeepFeatures(nn.Module):
    """Stands in for a Former->Mobile bridge where there are no tokens (Mobile3D)."""

    def forward(self, y: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        return y


def first_token(z: torch.Tensor | None) -> torch.Tensor | None:
    """z0, the token that drives frame-level DY-ReLU and joins the head (§3)."""
    return None if z is None else z[:, 0]


class Stem(nn.Module):
    """(2+1)D stem with the large temporal stride s_t (§3; X3D ``create_x3d_stem``).

    A 1x3x3 spatial conv on every frame, then a depthwise k_t x 1 x 1 temporal
    conv with stride s_t and no norm between them, then BN + ReLU.
    The temporal stride is what makes every later block s_t times cheaper;
    the kernel and padding come from the variant (docs/architecture.md).
    """

    def __init__(
        self, channels: int, temporal_kernel: int, temporal_stride: int, temporal_padding: int | None = None
    ):
        super().__init__()
        if temporal_padding is None:
            temporal_padding = temporal_kernel // 2
        self.conv_xy = nn.Conv3d(3, channels, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
        self.conv_t = nn.Conv3d(
            channels,
            channels,
            (temporal_kernel, 1, 1),
            stride=(temporal_stride, 1, 1),
            padding=(temporal_padding, 0, 0),
            groups=channels,
            bias=False,
        )
        self.bn = nn.BatchNorm3d(channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv_t(self.conv_xy(video))))


class MobileBlock(nn.Module):
    """3D inverted bottleneck: 1x1x1 pw -> 3x3x3 dw -> 1x1x1 pw (linear), + shortcut.

    §3 replaces Mobile-Former's 2D convs with 3x3x3 depthwise and 1x1x1
    pointwise 3D convs; the hidden width is Exp * C_out (X3D); the spatial
    stride sits in the dw conv; DY-ReLU follows the first pw and the dw, as in
    Mobile-Former's ``DnaBlock``.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        hidden: int,
        stride: int,
        token_dim: int | None,
        reduction: int,
        dynamic: bool = True,
    ):
        super().__init__()

        def act(c: int) -> nn.Module:
            if token_dim is None or not dynamic:
                return PlainReLU()
            return FrameDyReLU(c, token_dim, reduction)

        self.conv_pw = nn.Conv3d(in_ch, hidden, 1, bias=False)
        self.bn_pw = nn.BatchNorm3d(hidden)
        self.act_pw = act(hidden)
        self.conv_dw = nn.Conv3d(
            hidden, hidden, 3, stride=(1, stride, stride), padding=1, groups=hidden, bias=False
        )
        self.bn_dw = nn.BatchNorm3d(hidden)
        self.act_dw = act(hidden)
        self.conv_pwl = nn.Conv3d(hidden, out_ch, 1, bias=False)
        self.bn_pwl = nn.BatchNorm3d(out_ch)
        if stride == 1 and in_ch == out_ch:
            self.shortcut: nn.Module = nn.Identity()
        else:  # X3D branch1: strided 1x1x1 projection + BN
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_ch, out_ch, 1, stride=(1, stride, stride), bias=False),
                nn.BatchNorm3d(out_ch),
            )

    def forward(self, x: torch.Tensor, z0: torch.Tensor | None) -> torch.Tensor:
        y = self.act_pw(self.bn_pw(self.conv_pw(x)), z0)
        y = self.act_dw(self.bn_dw(self.conv_dw(y)), z0)
        y = self.bn_pwl(self.conv_pwl(y))
        return y + self.shortcut(x)


class VideoMobileFormerBlock(nn.Module):
    """One block of Fig. 2: Mobile->Former, Former, Mobile (FL-DyReLU fed by z0), Former->Mobile.

    Dataflow: the tokens first read the block input,
    are refined by the Former, then drive the Mobile block's DY-ReLU; the
    Mobile output (after its residual add) reads the refined tokens.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        hidden: int,
        stride: int,
        token_dim: int | None,
        bridge_heads: int,
        former_heads: int,
        ffn_expansion: int,
        reduction: int,
        dynamic: bool = True,
    ):
        super().__init__()
        with_tokens = token_dim is not None
        self.bridge_m2f = MobileToFormer(in_ch, token_dim, bridge_heads) if with_tokens else KeepTokens()
        self.former = Former(token_dim, former_heads, ffn_expansion) if with_tokens else nn.Identity()
        self.mobile = MobileBlock(in_ch, out_ch, hidden, stride, token_dim, reduction, dynamic)
        self.bridge_f2m = FormerToMobile(out_ch, token_dim, bridge_heads) if with_tokens else KeepFeatures()

    def forward(self, x: torch.Tensor, z: torch.Tensor | None):
        z = self.bridge_m2f(x, z)
        z = self.former(z)
        y = self.mobile(x, first_token(z))
        return self.bridge_f2m(y, z), z


class Head(nn.Module):
    """Mobile-Former ``MergeClassifier``, in 3D.

    1x1x1 conv to 6*C4 + BN + ReLU6, global average over T'HW, h_swish,
    concatenate z0 (VMF only), FC 1920 + BN + h_swish, dropout, FC classes.
    """

    def __init__(
        self, in_ch: int, expansion: int, hidden: int, num_classes: int, token_dim: int | None, dropout: float
    ):
        super().__init__()
        wide = expansion * in_ch
        self.conv = nn.Conv3d(in_ch, wide, 1, bias=False)
        self.bn = nn.BatchNorm3d(wide)
        self.act = nn.ReLU6(inplace=True)
        self.pool_act = nn.Hardswish()
        self.fc = nn.Linear(wide + (token_dim or 0), hidden)
        self.bn_fc = nn.BatchNorm1d(hidden)
        self.fc_act = nn.Hardswish()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        pooled = self.pool_act(self.act(self.bn(self.conv(x))).mean(dim=(2, 3, 4)))
        features = pooled if z is None else torch.cat([pooled, z[:, 0]], dim=1)
        return self.classifier(self.dropout(self.fc_act(self.bn_fc(self.fc(features)))))
