"""The ExecuTorch spelling of the deployable form: every op one XNNPACK takes (docs/executorch.md).

ExecuTorch runs what its XNNPACK partitioner accepts inside the delegate and
everything else on its portable kernels, one op at a time, with a layout
change at every border. The ONNX/TFLite spellings (deploy_attention,
deploy_mobile, deploy_head, deploy_stem) lower to ops the partitioner refuses:

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
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from vmf.model.blocks import Head, MobileBlock, Stem
from vmf.model.bridges import Former, FormerToMobile, MobileToFormer
from vmf.model.dyrelu import FrameDyReLU

from .deploy_context import DeployContext
from .deploy_fold import frozen
from .deploy_head import DeployHead
from .deploy_mobile import DeployDepthwise3d, DeployFrameDyReLU, DeployMobileBlock
from .deploy_ops import first_token
from .deploy_stem import DeployStem

SPELLING = "xnnpack"


def pad_frames(x: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """Zero frames on the batch (time) axis as one constant pad (XNNPACK has no ``full``)."""
    if not before and not after:
        return x
    return F.pad(x, (0, 0, 0, 0, 0, 0, before, after))


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

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.linear(z, self.weight, self.bias).reshape(self.split_shape).permute(1, 0, 2)


def _scaled(linear: nn.Linear, scale: float = 1.0, shift: float = 0.0):
    weight = linear.weight.detach().double() * scale
    return weight, linear.bias.detach().double() * scale + shift


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``[h, M, c]`` -> ``[1, M, h c]``, so a sum over heads of ``x_h W_h`` is one Linear."""
    heads, tokens, width = x.shape
    return x.permute(1, 0, 2).reshape(1, tokens, heads * width)


class XnnpackMobileToFormer(nn.Module):
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
        wq, bq = _scaled(block.to_query, block.scale)
        wg, bg = _scaled(block.to_gate, 1.0 / 3.0, 1.0)  # 2 h_sigmoid(v) = clip(v/3 + 1, 0, 2)
        token = copy.deepcopy(block.to_token).requires_grad_(False)
        return cls(
            HeadProjection(wq, bq, heads, tokens),
            HeadProjection(wg, bg, heads, tokens),
            token,
            LayerNorm4d(block.norm),
            t,
            heads,
            c // heads,
            hgt * wid,
            tokens,
        )

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        q = self.query(z)  # [h, M, C/h], scale folded in
        tiled = (q * self.tile).reshape(self.tiled_shape)  # [T'h, M, C/h]: q for every frame
        scores = torch.bmm(tiled, x.reshape(self.keys_shape))  # [T'h, M, HW]
        scores = scores.reshape(self.frame_scores_shape).permute(1, 2, 0, 3)
        attn = torch.softmax(scores.reshape(self.scores_shape), dim=-1)  # [h, M, T'HW]
        values = x.reshape(self.split_shape).permute(1, 0, 3, 2).reshape(self.values_shape)
        out = torch.bmm(attn, values)  # [h, M, C/h]: summed over frames and positions
        gate = torch.clamp(self.gate(z), 0.0, 2.0)
        return self.norm(z + self.token(merge_heads(out * gate)))


class XnnpackFormer(nn.Module):
    """MHSA + FFN on the M tokens (eq. 1): 3-D ``bmm`` per head, heads merged into W_o."""

    def __init__(
        self,
        query: HeadProjection,
        out: nn.Linear,
        norm_attn: LayerNorm4d,
        ffn: nn.Sequential,
        norm_ffn: LayerNorm4d,
        tokens: int,
        heads: int,
    ):
        super().__init__()
        self.query, self.out, self.norm_attn = query, out, norm_attn
        self.ffn, self.norm_ffn = ffn, norm_ffn
        self.split_shape = query.split_shape

    @classmethod
    def from_reference(cls, block: Former, ctx: DeployContext) -> "XnnpackFormer":
        _, tokens, _ = ctx.input_shape(block)
        wq, bq = _scaled(block.to_query, block.scale)
        return cls(
            HeadProjection(wq, bq, block.heads, tokens),
            copy.deepcopy(block.to_out).requires_grad_(False),
            LayerNorm4d(block.norm_attn),
            copy.deepcopy(block.ffn).requires_grad_(False),
            LayerNorm4d(block.norm_ffn),
            tokens,
            block.heads,
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        q = self.query(z)  # [h, M, d/h]
        kv = z.reshape(self.split_shape).permute(1, 0, 2)  # keys = values = z
        attn = torch.softmax(torch.bmm(q, kv.permute(0, 2, 1)), dim=-1)  # [h, M, M]
        z = self.norm_attn(z + self.out(merge_heads(torch.bmm(attn, kv))))
        return self.norm_ffn(z + self.ffn(z))


class XnnpackFormerToMobile(nn.Module):
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
        wk, bk = _scaled(block.to_key, block.scale)
        wv, bv = _scaled(block.to_value)
        return cls(
            HeadProjection(wk, bk, heads, tokens),
            wv,
            bv,
            t,
            heads,
            c // heads,
            hgt * wid,
            tokens,
            (t, c, hgt, wid),
        )

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        k = (self.key(z) * self.tile).reshape(self.key_tiled)  # [T'h, M, C/h]
        v = F.linear(z, self.value_w, self.value_b).reshape(self.value_split).permute(1, 2, 0)
        v = (v * self.tile).reshape(self.value_tiled)  # [T'h, C/h, M]
        scores = torch.bmm(k, y.reshape(self.query_shape))  # [T'h, M, HW]
        # Softmax over the M tokens as a last-axis Softmax on the (C/h / M times smaller) scores.
        attn = torch.softmax(scores.permute(0, 2, 1), dim=-1).permute(0, 2, 1)
        return y + torch.bmm(v, attn).reshape(self.output_shape)  # [T'h, C/h, HW] = features


class XnnpackFrameDyReLU(DeployFrameDyReLU):
    """Frame-level DY-ReLU with its per-frame means as a 4-D mean over (H, W)."""

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3), keepdim=True).reshape(x.shape[0], x.shape[1])


class XnnpackDepthwise3d(DeployDepthwise3d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tap_centre(x)
        if self.tap_before is not None:
            y = y + pad_frames(self.tap_before(x)[:-1], 1, 0)
            y = y + pad_frames(self.tap_after(x)[1:], 0, 1)
        return y


class XnnpackMobileBlock(DeployMobileBlock):
    @classmethod
    def from_reference(cls, block: MobileBlock, ctx: DeployContext) -> "XnnpackMobileBlock":
        twin = super().from_reference(block, ctx)
        dw = twin.conv_dw
        twin.conv_dw = XnnpackDepthwise3d(dw.tap_centre, dw.tap_before, dw.tap_after)
        return twin


class XnnpackStem(DeployStem):
    """The stem with each run of s_t frames viewed as ``3 s_t`` channels (TCHW only).

    ``[T, 3, R, R]`` is ``[T', 3 s_t, R, R]`` with no copy, so each tap group's
    input is one 4-D slice of the channels: no rank-4 round trip through
    ``[T', s_t, 3, RR]``, which XNNPACK left in a partition of its own.
    """

    @classmethod
    def from_reference(cls, block: Stem, ctx: DeployContext) -> "XnnpackStem":
        twin = super().from_reference(block, ctx)
        if twin.layout != "TCHW":
            raise ValueError("the xnnpack spelling takes TCHW clips")
        stride = twin.runs_shape[1]
        twin.runs_shape = (twin.out_frames, 3 * stride, *twin.frame_shape)
        return twin

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        runs = clip.reshape(self.runs_shape)
        y = None
        for (g, first, count), conv in zip(self.groups, self.convs):
            part = runs
            if g or count * 3 != runs.shape[1]:  # a whole-tensor slice lowers to a portable alias
                start = max(g, 0)
                part = runs[start : start + self.out_frames - abs(g), 3 * first : 3 * (first + count)]
            out = pad_frames(conv(part), max(-g, 0), max(g, 0))
            y = out if y is None else y + out
        return self.act(y)


class XnnpackHead(DeployHead):
    """The head with both means as 4-D means over the two innermost axes."""

    def forward(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        pooled = self.act(self.conv(x)).mean(dim=(2, 3), keepdim=True)  # [T', 6C, 1, 1]
        frames, channels = pooled.shape[:2]
        pooled = pooled.reshape(1, frames, channels, 1).permute(0, 2, 1, 3)  # [1, 6C, T', 1]
        pooled = self.pool_act(pooled.mean(dim=(2, 3), keepdim=True).reshape(1, channels))
        features = pooled if z is None else torch.cat([pooled, first_token(z)], dim=1)
        return self.classifier(self.fc_act(self.fc(features)))


def xnnpack_twins(twins: dict[type, type]) -> dict[type, type]:
    """``twins`` with the ExecuTorch/XNNPACK spelling of every block that has one."""
    from .deployable import DeployableVideoMobileFormer  # noqa: F401 (same walker, same model)

    return {
        **twins,
        Stem: XnnpackStem,
        MobileToFormer: XnnpackMobileToFormer,
        Former: XnnpackFormer,
        FormerToMobile: XnnpackFormerToMobile,
        MobileBlock: XnnpackMobileBlock,
        FrameDyReLU: XnnpackFrameDyReLU,
        Head: XnnpackHead,
    }
