"""The whole network and ``build_model`` (paper §3, Table 1; Mobile3D: Table 2)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import Head, KeepTokens, Stem, VideoMobileFormerBlock
from .bridges import MobileToFormer
from .dyrelu import FrameDyReLU
from .errors import VmfError
from .variants import VariantConfig, get_variant


class VideoMobileFormer(nn.Module):
    """Video Mobile-Former, or its Mobile3D baseline when ``baseline=True``.

    Input ``(B, 3, T, H, W)`` float, RGB, normalised with ``MEAN``/``STD``;
    output logits ``(B, num_classes)``. T = cfg.frames and H = W =
    cfg.resolution are what the paper counts, but any T and H, W work.
    """

    def __init__(self, cfg: VariantConfig, *, baseline: bool = False, num_classes: int | None = None):
        super().__init__()
        self.cfg = cfg
        self.baseline = baseline
        self.num_classes = cfg.num_classes if num_classes is None else num_classes
        token_dim = None if baseline else cfg.token_dim
        widths = cfg.stage_channels
        # 6 global tokens for the whole clip, learned (Mobile-Former nn.Embedding).
        self.tokens = None if baseline else nn.Parameter(torch.randn(cfg.num_tokens, cfg.token_dim))
        self.stem = Stem(
            cfg.base_channels, cfg.stem_temporal_kernel, cfg.temporal_stride, cfg.stem_temporal_padding
        )
        blocks = []
        in_ch = cfg.base_channels
        for out_ch, depth in zip(widths, cfg.blocks_per_stage):
            for i in range(depth):
                stride = 2 if i == 0 else 1  # spatial downsampling at the start of each stage (§3)
                blocks.append(
                    VideoMobileFormerBlock(
                        in_ch,
                        out_ch,
                        int(cfg.expansion * out_ch),
                        stride,
                        token_dim,
                        cfg.bridge_heads,
                        cfg.former_heads,
                        cfg.former_ffn_expansion,
                        cfg.dyrelu_reduction,
                        cfg.activation == "dyrelu",
                    )
                )
                in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)
        # One more Mobile->Former read of the last feature map before the head.
        self.bridge_final = (
            KeepTokens() if baseline else MobileToFormer(in_ch, cfg.token_dim, cfg.bridge_heads)
        )
        self.head = Head(in_ch, cfg.head_expansion, cfg.head_hidden, self.num_classes, token_dim, cfg.dropout)
        self.reset_parameters()

    @property
    def variant(self) -> str:
        return self.cfg.name

    def reset_parameters(self) -> None:
        """Mobile-Former ``_initialize_weights``, extended to 3D."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                fan_out = math.prod(m.kernel_size) * m.out_channels
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm3d, nn.LayerNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def initial_tokens(self, batch: int) -> torch.Tensor | None:
        return None if self.tokens is None else self.tokens.expand(batch, -1, -1)

    def forward_features(self, video: torch.Tensor):
        x = self.stem(video)
        z = self.initial_tokens(video.shape[0])
        for block in self.blocks:
            x, z = block(x, z)
        return x, self.bridge_final(x, z)

    def forward_head(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        return self.head(x, z)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.forward_head(*self.forward_features(video))

    def dyrelu_modules(self) -> list[FrameDyReLU]:
        return [m for m in self.modules() if isinstance(m, FrameDyReLU)]


def build_model(
    variant: "str | VariantConfig", *, baseline: bool = False, num_classes: int = 400
) -> VideoMobileFormer:
    """Build a variant by name ("560M", "1G", "2G", "5G") or from a ``VariantConfig``.

    ``baseline=True`` builds the Mobile3D baseline of Table 2: no tokens, no
    Former, no bridges, plain ReLU. Raises ``UnknownVariantError`` (a
    ``VmfError``) naming the valid variants.
    """
    cfg = get_variant(variant)
    if cfg.activation not in ("dyrelu", "relu"):
        raise VmfError(f"activation must be 'dyrelu' or 'relu', got {cfg.activation!r}")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise VmfError(f"num_classes must be a positive integer, got {num_classes!r}")
    return VideoMobileFormer(cfg, baseline=baseline, num_classes=num_classes)
