"""The network-level twins: the whole model, one block in Fig. 2's order, and the pass-throughs.

``DeployableVideoMobileFormer`` takes one clip with time folded into the
batch axis, ``[T, 3, R, R]`` ("TCHW") or ``[T, R, R, 3]`` ("THWC"), and gives
``[1, classes]`` logits; its children are whatever twins the form's table
(``forms.FORMS``) gives for each reference block.
"""

from __future__ import annotations

import torch
from torch import nn

from vmf.model import VideoMobileFormer
from vmf.model.blocks import KeepFeatures, VideoMobileFormerBlock

from .context import DeployContext
from .frame_ops import first_token
from .head import DeployHead
from .stem import DeployStem


class PassTokens(nn.Module):
    """Mobile3D's missing Mobile->Former bridge: the tokens (None there), unchanged."""

    @classmethod
    def from_reference(cls, block: nn.Module, ctx: DeployContext) -> "PassTokens":
        return cls()

    def forward(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor | None:
        return z


class PassFeatures(nn.Module):
    """Mobile3D's missing Former->Mobile bridge: the features, unchanged."""

    @classmethod
    def from_reference(cls, block: KeepFeatures, ctx: DeployContext) -> "PassFeatures":
        return cls()

    def forward(self, y: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        return y


class PassThrough(nn.Module):
    """Mobile3D's missing Former (an ``nn.Identity`` in the reference)."""

    @classmethod
    def from_reference(cls, block: nn.Identity, ctx: DeployContext) -> "PassThrough":
        return cls()

    def forward(self, z: torch.Tensor | None) -> torch.Tensor | None:
        return z


class DeployBlock(nn.Module):
    """One block of Fig. 2 in the reference's order: M->F, Former, Mobile (FL-DyReLU fed by z0), F->M."""

    def __init__(self, bridge_m2f: nn.Module, former: nn.Module, mobile: nn.Module, bridge_f2m: nn.Module):
        super().__init__()
        self.bridge_m2f = bridge_m2f
        self.former = former
        self.mobile = mobile
        self.bridge_f2m = bridge_f2m

    @classmethod
    def from_reference(cls, block: VideoMobileFormerBlock, ctx: DeployContext) -> "DeployBlock":
        return cls(
            ctx.convert(block.bridge_m2f),
            ctx.convert(block.former),
            ctx.convert(block.mobile),
            ctx.convert(block.bridge_f2m),
        )

    def forward(self, x: torch.Tensor, z: torch.Tensor | None):
        z = self.bridge_m2f(x, z)
        z = self.former(z)
        y = self.mobile(x, None if z is None else first_token(z))
        return self.bridge_f2m(y, z), z


class DeployableVideoMobileFormer(nn.Module):
    """Clip ``input_shape`` (time folded into the batch axis) -> logits ``[1, num_classes]``."""

    def __init__(
        self,
        stem: DeployStem,
        tokens: torch.Tensor | None,
        blocks: list[nn.Module],
        bridge_final: nn.Module,
        head: DeployHead,
        *,
        variant: str,
        baseline: bool,
        frames: int,
        resolution: int,
        num_classes: int,
        layout: str,
    ):
        super().__init__()
        self.stem = stem
        if tokens is None:
            self.tokens = None
        else:  # [1, M, d]: the learned tokens are a constant of the exported graph
            self.tokens = nn.Parameter(tokens.detach().clone()[None], requires_grad=False)
        self.blocks = nn.ModuleList(blocks)
        self.bridge_final = bridge_final
        self.head = head
        self.variant = variant
        self.baseline = baseline
        self.frames = frames
        self.resolution = resolution
        self.num_classes = num_classes
        self.input_layout = layout
        self.input_shape = (
            (frames, 3, resolution, resolution) if layout == "TCHW" else (frames, resolution, resolution, 3)
        )

    @classmethod
    def from_reference(cls, model: VideoMobileFormer, ctx: DeployContext) -> "DeployableVideoMobileFormer":
        _, _, frames, resolution, _ = ctx.input_shape(model)
        return cls(
            ctx.convert(model.stem),
            model.tokens,
            [ctx.convert(block) for block in model.blocks],
            ctx.convert(model.bridge_final),
            ctx.convert(model.head),
            variant=model.variant,
            baseline=model.baseline,
            frames=frames,
            resolution=resolution,
            num_classes=model.num_classes,
            layout=ctx.layout,
        )

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        x = self.stem(clip)
        z = self.tokens
        for block in self.blocks:
            x, z = block(x, z)
        return self.head(x, self.bridge_final(x, z))
