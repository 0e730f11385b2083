"""The deployable form: the reference network re-expressed, weight-exactly, at rank <= 4.

Phone accelerators take rank <= 4 tensors only and no CONV_3D
(docs/deployable-form.md), so ``make_deployable`` returns a new
module that takes one clip with time folded into the batch axis,
``[T, 3, R, R]`` ("TCHW") or ``[T, R, R, 3]`` ("THWC"), and gives ``[1, classes]``
logits equal to the reference's (fp32 max abs difference <= 1e-4):

- the (2+1)D stem is one fused 2D conv over the k_t frames each output
  frame reads, evaluated only at the T / s_t output frames (deploy_stem);
- BN is folded into the conv before it; 1x1x1 convs are 1x1 Conv2d; 3x3x3
  depthwise convs are 3 depthwise Conv2d taps and a temporal shift-and-add
  (deploy_mobile);
- frame-level DY-ReLU is pool, FC, clip, broadcast multiply and maximum;
- bridges and the Former are MatMul + last-axis Softmax with heads split by
  rank <= 4 reshapes (deploy_attention).

The layout also picks the form of the bridges and the DY-ReLU MLP: "TCHW"
(ONNX Runtime, PyTorch) keeps every feature map NCHW; "THWC" (TFLite) uses
channels-last twins so that a converter storing NHWC never has to transpose
a feature map (deploy_attention, deploy_mobile). Both compute the same logits.

One protocol (``DeployableTwin.from_reference(block, ctx)``), one explicit
table ``TWINS`` and one walker: the walker records every
block's static input shape once (hooks on a meta-device deep copy), then
builds each twin from its reference block as a new module with its own
weights; the reference is never mutated and nothing keeps a hook.
"""

from __future__ import annotations

import torch
from torch import nn

from vmf.model import VideoMobileFormer, VmfError
from vmf.model.blocks import Head, KeepFeatures, KeepTokens, MobileBlock, Stem, VideoMobileFormerBlock
from vmf.model.bridges import Former, FormerToMobile, MobileToFormer
from vmf.model.dyrelu import FrameDyReLU, PlainReLU

from .deploy_attention import DeployFormer, DeployFormerToMobile, DeployMobileToFormer
from .deploy_context import DeployContext, build_context
from .deploy_head import DeployHead
from .deploy_mobile import DeployFrameDyReLU, DeployMobileBlock, DeployReLU
from .deploy_ops import first_token
from .deploy_stem import DeployStem
from .sidecar import LAYOUTS


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


# "default": the ONNX / TFLite / Core ML ops; "xnnpack": ExecuTorch's XNNPACK delegate;
# "ort_mobile": ONNX Runtime Mobile's Core ML and NNAPI EPs (--target ort).
SPELLINGS = ("default", "xnnpack", "ort_mobile")

# Every reference block type that needs a rewrite -> its twin (exact type match; no
# side-effect registration). The walker refuses any type missing here.
TWINS: dict[type, type] = {
    VideoMobileFormer: DeployableVideoMobileFormer,
    Stem: DeployStem,
    VideoMobileFormerBlock: DeployBlock,
    MobileToFormer: DeployMobileToFormer,
    Former: DeployFormer,
    MobileBlock: DeployMobileBlock,
    FrameDyReLU: DeployFrameDyReLU,
    PlainReLU: DeployReLU,
    FormerToMobile: DeployFormerToMobile,
    Head: DeployHead,
    KeepTokens: PassTokens,
    KeepFeatures: PassFeatures,
    nn.Identity: PassThrough,
}


def to_deployable(
    block: nn.Module,
    *example: torch.Tensor | None,
    layout: str = "TCHW",
    spelling: str = "default",
    ort_mobile: bool = False,
) -> nn.Module:
    """The deployable twin of one reference block, its static shapes taken from ``example``.

    ``example`` are the block's reference (5-D) inputs; only their shapes are
    used (the recording pass runs on a meta-device copy). ``block`` is never
    mutated: every twin builds new tensors and modules from the reference's
    weights (folded in float64) and deep-copies what it keeps as is (norms,
    the FFN), so nothing is shared with the reference. ``ort_mobile`` swaps in
    the twins spelled for ONNX Runtime Mobile's phone EPs (deploy_ort_mobile).
    """
    twins = TWINS
    if ort_mobile:
        spelling = "ort_mobile"
    if spelling == "xnnpack":  # ExecuTorch: ops its XNNPACK delegate takes (deploy_xnnpack)
        from .deploy_xnnpack import xnnpack_twins

        twins = xnnpack_twins(TWINS)
    elif spelling == "ort_mobile":  # ONNX Runtime Mobile's phone EPs (deploy_ort_mobile)
        from .deploy_ort_mobile import ort_mobile_twins

        twins = {**TWINS, **ort_mobile_twins()}
    elif spelling != "default":
        raise VmfError(f"unknown spelling {spelling!r}; valid spellings: {', '.join(SPELLINGS)}")
    twin = build_context(block, example, twins, layout, ort_mobile=spelling == "ort_mobile").convert(block)
    return twin.eval().requires_grad_(False)


def make_deployable(
    model: VideoMobileFormer,
    frames: int | None = None,
    layout: str = "TCHW",
    resolution: int | None = None,
    *,
    spelling: str = "default",
    ort_mobile: bool = False,
) -> DeployableVideoMobileFormer:
    """A new, eval-mode, static-shape deployable form of ``model`` (which is left untouched).

    ``frames`` defaults to ``model.cfg.frames`` (64) and must be a multiple of
    the stem's temporal stride; ``resolution`` defaults to the variant's. The
    result takes ``[frames, 3, R, R]`` (``layout="TCHW"``) or
    ``[frames, R, R, 3]`` (``"THWC"``) normalised RGB and returns
    ``[1, num_classes]`` logits: what ``model.eval()`` computes (BN folded
    with its running statistics, dropout off), whatever mode ``model`` is in.
    ``spelling="xnnpack"`` picks the ExecuTorch spelling of the same
    arithmetic (deploy_xnnpack). Raises ``VmfError`` on a bad argument.
    """
    if not isinstance(model, VideoMobileFormer):
        raise VmfError(f"make_deployable needs a VideoMobileFormer, got {type(model).__name__}")
    cfg = model.cfg
    frames = cfg.frames if frames is None else frames
    resolution = cfg.resolution if resolution is None else resolution
    if layout not in LAYOUTS:
        raise VmfError(f"unknown input layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
    if ort_mobile and layout != "TCHW":
        raise VmfError("the ONNX Runtime Mobile form takes TCHW clips only")
    if not isinstance(frames, int) or isinstance(frames, bool) or frames < 1:
        raise VmfError(f"frames must be a positive integer, got {frames!r}")
    stride = model.stem.conv_t.stride[0]
    if frames % stride:
        raise VmfError(
            f"frames must be a multiple of the stem's temporal stride {stride} "
            f"for variant {model.variant}, got {frames}"
        )
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise VmfError(f"resolution must be a positive integer, got {resolution!r}")
    example = torch.empty(1, 3, frames, resolution, resolution, device="meta")
    device = next(model.parameters()).device  # twins are built on the CPU; follow the model
    return to_deployable(model, example, layout=layout, spelling=spelling, ort_mobile=ort_mobile).to(device)
