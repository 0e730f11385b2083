"""The ExecuTorch spelling of the deployable form: every op one XNNPACK takes (docs/executorch.md).

ExecuTorch runs what its XNNPACK partitioner accepts inside the delegate and
everything else on its portable kernels, one op at a time, with a layout
change at every border. The default twins (attention, mobile, head, stem)
lower to ops the partitioner refuses:

- ``[1, M, d] @ [h, d, C/h]`` broadcast matmuls become ``expand_copy`` +
  ``bmm``, and XNNPACK's ``mm`` wants a static weight on the right;
- ``LayerNorm`` (``native_layer_norm``), ``sum`` over heads or frames,
  ``amax`` (the spelled-out softmax over the tokens), ``select`` (``z[:, 0]``),
  ``zeros`` (``full``) for the temporal zero frames, and ``mean`` over
  anything but the two innermost axes of a 4-D tensor have no XNNPACK kernel.

So here: token projections are ``Linear`` (static weights) followed by a
reshape/permute that splits the heads; feature-side products are ``bmm``
with equal batch axes (the small token operand tiled over frames by a
broadcast multiply, which XNNPACK runs); sums over heads are folded into the
next ``Linear`` (``sum_h out_h W_h = concat_h(out_h) W``) and the sum over
frames into the contraction of a ``bmm``; every softmax is a ``Softmax`` on
the last axis; LayerNorm is 4-D means over the innermost axes with
sub/mul/rsqrt; zero frames are a constant pad on the batch axis; pooling is
a 4-D mean over (H, W). Every twin is weight-exact to the reference (the
equivalence tests of the other spellings apply unchanged).

Each twin overrides steps of its block's one ``forward`` (attention's
templates, ``DeployHead.pool``, ``DeployFrameDyReLU.pool``, the stem's and the
depthwise taps' ``pad_frames``); ``OVERRIDES`` lays them over the default
(TCHW) table, the only layout this spelling has (``forms.FORMS``).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from vmf.model.blocks import Head, MobileBlock, Stem
from vmf.model.bridges import Former, FormerToMobile, MobileToFormer
from vmf.model.dyrelu import FrameDyReLU

from .attention import FormerToMobileTwin, FormerTwin, MobileToFormerTwin
from .context import DeployContext, TwinTable
from .folding import frozen, scaled_linear
from .frame_ops import constant_pad_frames
from .head import DeployHead
from .mobile import DeployDepthwise3d, DeployFrameDyReLU, DeployMobileBlock
from .stem import DeployStem


class LayerNorm4d(nn.Module):
    """``nn.LayerNorm`` over the last axis of ``[1, M, d]`` as 4-D means over ``[1, M, d, 1]``.

    XNNPACK's MEAN reduces the two innermost axes of a 4-D tensor only, so the
    row is viewed as ``[d, 1]``; the rest is sub, mul, add, rsqrt.
    """

    def __init__(self, norm: nn.LayerNorm):
        super().__init__()
        (dim,) = norm.normalized_shape
        self.eps = float(norm.eps)
        self.weight = frozen(norm.weight)
        self.bias = frozen(norm.bias)
        self.dim = dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        shape = z.shape
        x = z.reshape(shape[0], shape[1], self.dim, 1)
        centred = x - x.mean(dim=(2, 3), keepdim=True)
        var = (centred * centred).mean(dim=(2, 3), keepdim=True)
        return (centred * torch.rsqrt(var + self.eps)).reshape(shape) * self.weight + self.bias


class HeadProjection(nn.Module):
    """``z [1, M, d]`` -> ``[h, M, d_out/h]``: one Linear (a static weight), then the head split."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, heads: int, tokens: int):
        super().__init__()
        self.weight, self.bias = frozen(weight), frozen(bias)
        self.split_shape = (tokens, heads, weight.shape[0] // heads)

    @classmethod
    def of(cls, linear: nn.Linear, heads: int, tokens: int, scale: float = 1.0, shift: float = 0.0):
        """``linear`` times ``scale`` plus ``shift`` (folded in float64), heads split after."""
        return cls(*scaled_linear(linear, scale, shift), heads, tokens)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.linear(z, self.weight, self.bias).reshape(self.split_shape).permute(1, 0, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``[h, M, c]`` -> ``[1, M, h c]``, so a sum over heads of ``x_h W_h`` is one Linear."""
    heads, tokens, width = x.shape
    return x.permute(1, 0, 2).reshape(1, tokens, heads * width)


class XnnpackMobileToFormer(MobileToFormerTwin):
    """Mobile->Former (eq. 3): the sum over frames and positions is one ``bmm`` contraction."""

    def __init__(
        self,
        query: HeadProjection,
        gate: HeadProjection,
        token: nn.Linear,
        norm: LayerNorm4d,
        frames: int,
        heads: int,
        head_dim: int,
        positions: int,
        tokens: int,
    ):
        super().__init__()
        self.query, self.gate, self.token, self.norm = query, gate, token, norm
        self.register_buffer("tile", torch.ones(frames, 1, 1, 1), persistent=False)
        self.keys_shape = (frames * heads, head_dim, positions)
        self.frame_scores_shape = (frames, heads, tokens, positions)
        self.scores_shape = (heads, tokens, frames * positions)
        self.values_shape = (heads, frames * positions, head_dim)
        self.split_shape = (frames, heads, head_dim, positions)
        self.tiled_shape = (frames * heads, tokens, head_dim)

    @classmethod
    def from_reference(cls, block: MobileToFormer, ctx: DeployContext) -> "XnnpackMobileToFormer":
        _, c, t, hgt, wid = ctx.input_shape(block)
        tokens = ctx.input_shape(block, 1)[1]
        heads = block.heads
        return cls(
            HeadProjection.of(block.to_query, heads, tokens, block.scale),
            # 2 h_sigmoid(v) = clip(v/3 + 1, 0, 2)
            HeadProjection.of(block.to_gate, heads, tokens, 1.0 / 3.0, 1.0),
            copy.deepcopy(block.to_token).requires_grad_(False),
            LayerNorm4d(block.norm),
            t,
            heads,
            c // heads,
            hgt * wid,
            tokens,
        )

    def queries(self, z: torch.Tensor) -> torch.Tensor:
        return self.query(z)  # [h, M, C/h], scale folded in

    def attend(self, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        tiled = (q * self.tile).reshape(self.tiled_shape)  # [T'h, M, C/h]: q for every frame
        scores = torch.bmm(tiled, x.reshape(self.keys_shape))  # [T'h, M, HW]
        scores = scores.reshape(self.frame_scores_shape).permute(1, 2, 0, 3)
        attn = torch.softmax(scores.reshape(self.scores_shape), dim=-1)  # [h, M, T'HW]
        values = x.reshape(self.split_shape).permute(1, 0, 3, 2).reshape(self.values_shape)
        return torch.bmm(attn, values)  # [h, M, C/h]: summed over frames and positions

    def gates(self, z: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.gate(z), 0.0, 2.0)

    def add_update(self, z: torch.Tensor, gated: torch.Tensor) -> torch.Tensor:
        return z + self.token(merge_heads(gated))


class XnnpackFormer(FormerTwin):
    """MHSA + FFN on the M tokens (eq. 1): 3-D ``bmm`` per head, heads merged into W_o."""

    def __init__(
        self,
        query: HeadProjection,
        out: nn.Linear,
        norm_attn: LayerNorm4d,
        ffn: nn.Sequential,
        norm_ffn: LayerNorm4d,
    ):
        super().__init__()
        self.query, self.out, self.norm_attn = query, out, norm_attn
        self.ffn, self.norm_ffn = ffn, norm_ffn
        self.split_shape = query.split_shape

    @classmethod
    def from_reference(cls, block: Former, ctx: DeployContext) -> "XnnpackFormer":
        _, tokens, _ = ctx.input_shape(block)
        return cls(
            HeadProjection.of(block.to_query, block.heads, tokens, block.scale),
            copy.deepcopy(block.to_out).requires_grad_(False),
            LayerNorm4d(block.norm_attn),
            copy.deepcopy(block.ffn).requires_grad_(False),
            LayerNorm4d(block.norm_ffn),
        )

    def queries(self, z: torch.Tensor) -> torch.Tensor:
        return self.query(z)  # [h, M, d/h]

    def heads_of(self, z: torch.Tensor) -> torch.Tensor:
        return z.reshape(self.split_shape).permute(1, 0, 2)

    def attention(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        attn = torch.softmax(torch.bmm(q, kv.permute(0, 2, 1)), dim=-1)  # [h, M, M]
        return torch.bmm(attn, kv)

    def add_heads(self, z: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        return z + self.out(merge_heads(heads))


class XnnpackFormerToMobile(FormerToMobileTwin):
    """Former->Mobile (eq. 4): per-frame ``bmm`` with the token operands tiled over frames."""

    def __init__(
        self,
        key: HeadProjection,
        value_w,
        value_b,
        frames: int,
        heads: int,
        head_dim: int,
        positions: int,
        tokens: int,
        output_shape,
    ):
        super().__init__()
        self.key = key
        self.value_w, self.value_b = frozen(value_w), frozen(value_b)
        self.register_buffer("tile", torch.ones(frames, 1, 1, 1), persistent=False)
        self.query_shape = (frames * heads, head_dim, positions)
        self.key_tiled = (frames * heads, tokens, head_dim)
        self.value_split = (tokens, heads, head_dim)
        self.value_tiled = (frames * heads, head_dim, tokens)
        self.output_shape = output_shape

    @classmethod
    def from_reference(cls, block: FormerToMobile, ctx: DeployContext) -> "XnnpackFormerToMobile":
        _, c, t, hgt, wid = ctx.input_shape(block)
        tokens = ctx.input_shape(block, 1)[1]
        heads = block.heads
        return cls(
            HeadProjection.of(block.to_key, heads, tokens, block.scale),
            *scaled_linear(block.to_value),
            t,
            heads,
            c // heads,
            hgt * wid,
            tokens,
            (t, c, hgt, wid),
        )

    def keys(self, z: torch.Tensor) -> torch.Tensor:
        return (self.key(z) * self.tile).reshape(self.key_tiled)  # [T'h, M, C/h]

    def values(self, z: torch.Tensor) -> torch.Tensor:
        v = F.linear(z, self.value_w, self.value_b).reshape(self.value_split).permute(1, 2, 0)
        return (v * self.tile).reshape(self.value_tiled)  # [T'h, C/h, M]

    def attend(self, y: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scores = torch.bmm(k, y.reshape(self.query_shape))  # [T'h, M, HW]
        # Softmax over the M tokens as a last-axis Softmax on the (C/h / M times smaller) scores.
        attn = torch.softmax(scores.permute(0, 2, 1), dim=-1).permute(0, 2, 1)
        return torch.bmm(v, attn).reshape(self.output_shape)  # [T'h, C/h, HW] = features


class XnnpackFrameDyReLU(DeployFrameDyReLU):
    """Frame-level DY-ReLU with its per-frame means as a 4-D mean over (H, W)."""

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3), keepdim=True).reshape(x.shape[0], x.shape[1])


class XnnpackDepthwise3d(DeployDepthwise3d):
    """The depthwise taps with their zero frames as a constant pad."""

    pad_frames = staticmethod(constant_pad_frames)


class XnnpackMobileBlock(DeployMobileBlock):
    depthwise = XnnpackDepthwise3d


class XnnpackStem(DeployStem):
    """The stem with each run of s_t frames viewed as ``3 s_t`` channels.

    ``[T, 3, R, R]`` is ``[T', 3 s_t, R, R]`` with no copy, so each tap group's
    input is one 4-D slice of the channels: no rank-4 round trip through
    ``[T', s_t, 3, RR]``, which XNNPACK left in a partition of its own.
    """

    pad_frames = staticmethod(constant_pad_frames)

    def runs_of(self, out_frames: int, stride: int, resolution: int) -> tuple[int, ...]:
        return (out_frames, 3 * stride, resolution, resolution)

    def tap_input(self, runs: torch.Tensor, group: tuple[int, int, int]) -> torch.Tensor:
        g, first, count = group
        if not g and count * 3 == runs.shape[1]:  # a whole-tensor slice lowers to a portable alias
            return runs
        start = max(g, 0)
        return runs[start : start + self.out_frames - abs(g), 3 * first : 3 * (first + count)]


class XnnpackHead(DeployHead):
    """The head with both means as 4-D means over the two innermost axes."""

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=(2, 3), keepdim=True)  # [T', 6C, 1, 1]
        frames, channels = pooled.shape[:2]
        pooled = pooled.reshape(1, frames, channels, 1).permute(0, 2, 1, 3)  # [1, 6C, T', 1]
        return pooled.mean(dim=(2, 3), keepdim=True).reshape(1, channels)


# Reference type -> ExecuTorch/XNNPACK twin, laid over the default (TCHW) table.
OVERRIDES: TwinTable = {
    Stem: XnnpackStem,
    MobileToFormer: XnnpackMobileToFormer,
    Former: XnnpackFormer,
    FormerToMobile: XnnpackFormerToMobile,
    MobileBlock: XnnpackMobileBlock,
    FrameDyReLU: XnnpackFrameDyReLU,
    Head: XnnpackHead,
}
