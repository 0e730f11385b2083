"""The bridges and the Former as MatMul + Softmax at rank <= 4 (paper §3, eqs. 1, 3, 4).

Features are ``[T', C, H, W]``; heads split by a free reshape to
``[T', heads, C/heads, H*W]``. Tokens stay ``[1, M, d]`` and every token-side
projection is one broadcast MatMul against ``[heads, d, C/heads]`` weights, so
heads come out split without Linear + Reshape + Transpose. Every Softmax op
runs on the last axis (TFLite's SOFTMAX and onnx2tf's layout inference want it
there); the one exception is the TCHW Former->Mobile,
which spells its softmax over the M tokens out in element-wise ops (see
there). Attention scales, 2 h_sigmoid gates and per-head output projections
are folded into the weights. No Einsum.

THWC conversions (the TFLite layout) get channels-last twins of the two
bridges instead (end of this file): same arithmetic, no transpose of the
feature map once the converter stores it NHWC.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from vmf.model.bridges import Former, FormerToMobile, MobileToFormer

from .deploy_context import DeployContext
from .deploy_fold import frozen, head_bias, head_weights


def _weight(linear: nn.Linear, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    return linear.weight.detach().double() * scale, linear.bias.detach().double() * scale


class DeployMobileToFormer(nn.Module):
    """Tokens read every T'HW position: z <- LN(z + W_o(gate(z) * Attn(W_q z, X, X))).

    Keys = values = the unprojected features, so the per-frame ``[T', h, M, HW]``
    scores need no copy of the feature map; only the (C / 12 times smaller)
    score tensor is transposed to put all T'HW positions on the last axis for
    the Softmax, and back. The sum over positions is a MatMul per frame and a
    sum over frames.
    """

    def __init__(
        self,
        query_w,
        query_b,
        gate_w,
        gate_b,
        token_w,
        token_b,
        norm: nn.LayerNorm,
        feature_shape: tuple[int, int, int, int],
        tokens: int,
    ):
        super().__init__()
        self.query_w, self.query_b = frozen(query_w), frozen(query_b)
        self.gate_w, self.gate_b = frozen(gate_w), frozen(gate_b)
        self.token_w, self.token_b = frozen(token_w), frozen(token_b)
        self.norm = norm
        frames, heads, head_dim, positions = feature_shape
        self.keys_shape = feature_shape
        self.scores_shape = (heads, tokens, frames * positions)
        self.attn_shape = (heads, tokens, frames, positions)

    @classmethod
    def from_reference(cls, block: MobileToFormer, ctx: DeployContext) -> "DeployMobileToFormer":
        _, c, t, hgt, wid = ctx.input_shape(block)
        tokens = ctx.input_shape(block, 1)[1]
        heads = block.heads
        wq, bq = _weight(block.to_query, block.scale)
        wg, bg = _weight(block.to_gate, 1.0 / 3.0)  # 2 h_sigmoid(v) = clip(v/3 + 1, 0, 2)
        wt = block.to_token.weight.detach().double()
        # THWC exports (TFLite) keep the features channels-last through the bridge.
        cls = ChannelsLastMobileToFormer if ctx.layout == "THWC" else cls
        return cls(
            head_weights(wq, heads),
            head_bias(bq, heads),
            head_weights(wg, heads),
            head_bias(bg + 1.0, heads),
            wt.t().reshape(heads, c // heads, -1),
            block.to_token.bias.detach(),
            copy.deepcopy(block.norm),
            (t, heads, c // heads, hgt * wid),
            tokens,
        )

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        keys = x.reshape(self.keys_shape)  # [T', h, C/h, HW]
        q = torch.matmul(z, self.query_w) + self.query_b  # [h, M, C/h], scale folded in
        scores = torch.matmul(q, keys)  # [T', h, M, HW]
        scores = scores.permute(1, 2, 0, 3).reshape(self.scores_shape)  # [h, M, T'HW]
        attn = torch.softmax(scores, dim=-1).reshape(self.attn_shape).permute(2, 0, 1, 3)
        out = torch.matmul(attn, keys.transpose(2, 3)).sum(dim=0)  # [h, M, C/h]
        gate = torch.clamp(torch.matmul(z, self.gate_w) + self.gate_b, 0.0, 2.0)
        update = torch.matmul(out * gate, self.token_w).sum(dim=0, keepdim=True) + self.token_b
        return self.norm(z + update)  # [1, M, d]


class DeployFormer(nn.Module):
    """MHSA + FFN on the M tokens (eq. 1), heads as ``[h, M, d/h]``, scale folded into W_q."""

    def __init__(
        self,
        query_w,
        query_b,
        out_w,
        out_b,
        norm_attn: nn.LayerNorm,
        ffn: nn.Sequential,
        norm_ffn: nn.LayerNorm,
        tokens: int,
        heads: int,
        head_dim: int,
    ):
        super().__init__()
        self.query_w, self.query_b = frozen(query_w), frozen(query_b)
        self.out_w, self.out_b = frozen(out_w), frozen(out_b)
        self.norm_attn = norm_attn
        self.ffn = ffn
        self.norm_ffn = norm_ffn
        self.split_shape = (tokens, heads, head_dim)

    @classmethod
    def from_reference(cls, block: Former, ctx: DeployContext) -> "DeployFormer":
        _, tokens, dim = ctx.input_shape(block)
        heads = block.heads
        wq, bq = _weight(block.to_query, block.scale)
        wo = block.to_out.weight.detach().double()
        return cls(
            head_weights(wq, heads),
            head_bias(bq, heads),
            wo.t().reshape(heads, dim // heads, dim),
            block.to_out.bias.detach(),
            copy.deepcopy(block.norm_attn),
            copy.deepcopy(block.ffn),
            copy.deepcopy(block.norm_ffn),
            tokens,
            heads,
            dim // heads,
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        q = torch.matmul(z, self.query_w) + self.query_b  # [h, M, d/h]
        kv = z.reshape(self.split_shape).transpose(0, 1)  # [h, M, d/h]: keys = values = z
        attn = torch.softmax(torch.matmul(q, kv.transpose(1, 2)), dim=-1)  # [h, M, M]
        out = torch.matmul(torch.matmul(attn, kv), self.out_w).sum(dim=0, keepdim=True)
        z = self.norm_attn(z + out + self.out_b)
        return self.norm_ffn(z + self.ffn(z))


class DeployFormerToMobile(nn.Module):
    """Every position reads the tokens: Y <- Y + Attn(Y, W_k z, W_v z) (eq. 4).

    For TCHW exports (ONNX Runtime, Core ML, PyTorch). Scores are
    ``[T', h, M, HW]``: the M tokens on axis 2, the HW positions innermost,
    and V @ attn lands directly in the feature layout ``[T', h, C/h, HW]``,
    with no transpose at all. The softmax over the M tokens is written out
    (max, exp, sum, divide along axis 2; subtracting the max keeps it exact
    and finite for any scores) rather than a Softmax op on a 6-wide last
    axis, which ONNX Runtime runs row by row: on 560M (64 x 172^2) this
    bridge took 2.45 ms with ``Softmax`` on ``[T', h, HW, M]`` and 1.20 ms
    this way, and the whole model 33.7 -> 29.6 ms (one thread, CPU time per
    clip). THWC (TFLite) exports keep a last-axis Softmax, in
    ``ChannelsLastFormerToMobile``.
    """

    def __init__(
        self,
        key_w,
        key_b,
        value_w,
        value_b,
        feature_shape: tuple[int, int, int, int],
        output_shape: tuple[int, int, int, int],
    ):
        super().__init__()
        self.key_w, self.key_b = frozen(key_w), frozen(key_b)
        self.value_w, self.value_b = frozen(value_w), frozen(value_b)
        self.query_shape = feature_shape
        self.output_shape = output_shape

    @classmethod
    def from_reference(cls, block: FormerToMobile, ctx: DeployContext) -> "DeployFormerToMobile":
        _, c, t, hgt, wid = ctx.input_shape(block)
        heads = block.heads
        wk, bk = _weight(block.to_key, block.scale)
        wv, bv = _weight(block.to_value, 1.0)
        split = (heads, c // heads)
        if ctx.layout == "THWC":  # TFLite exports keep the features channels-last
            return ChannelsLastFormerToMobile(
                head_weights(wk, heads),
                head_bias(bk, heads),
                head_weights(wv, heads),
                head_bias(bv, heads),
                (t, heads, c // heads, hgt * wid),
                (t, c, hgt, wid),
                ctx.input_shape(block, 1)[1],
            )
        return cls(
            head_weights(wk, heads),
            head_bias(bk, heads),
            wv.reshape(*split, -1),
            bv.reshape(*split, 1),
            (t, heads, c // heads, hgt * wid),
            (t, c, hgt, wid),
        )

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        q = y.reshape(self.query_shape)  # [T', h, C/h, HW]: queries are the unprojected features
        k = torch.matmul(z, self.key_w) + self.key_b  # [h, M, C/h], scale folded in
        v = torch.matmul(self.value_w, z.transpose(1, 2)) + self.value_b  # [h, C/h, M]
        scores = torch.matmul(k, q)  # [T', h, M, HW]: the M tokens on axis 2, not innermost
        # Softmax over the M tokens spelled out on axis 2 (see the class note): element-wise
        # ops over HW-long rows instead of ONNX Runtime's Softmax on 6-wide rows.
        scores = torch.exp(scores - scores.amax(dim=2, keepdim=True))
        attn = scores / scores.sum(dim=2, keepdim=True)
        out = torch.matmul(v, attn)  # [T', h, C/h, HW]: already the feature layout
        return y + out.reshape(self.output_shape)


# -- channels-last bridges, for THWC (TFLite) exports ------------------------------------
#
# TFLite keeps features NHWC. The bridges above split heads on the channel axis of an
# NCHW tensor, which pins the features to NCHW, so the converter transposes the full
# feature map in and out of every bridge. Here the features are read as [T'HW, C] rows,
# channels last, and the heads are kept apart by block-diagonal token matrices (zeros
# between heads), so the feature map is never transposed: only the (C / 12 times
# smaller) score tensor is. The block-diagonal products do `heads` times the MACs of
# these tiny attention matmuls (M = 6), which is cheaper than moving the features.
# Measured on 560M converted by litert-torch (THWC, 64 x 172^2): the TFLite graph
# transposed 14.9 M elements per clip with the NCHW bridges and DY-ReLU, 4.4 M with
# the channels-last ones (ChannelsLastFrameDyReLU in deploy_mobile).


def block_diagonal(blocks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[h, a, b]`` -> ``[h a, h b]`` with block i on the diagonal and zeros elsewhere.

    One broadcast multiply against the ``[h a, h, b]`` view of the mask, not a
    ``repeat``: litert-torch lowers a repeat to BROADCAST_TO, which XNNPACK
    does not take, so every bridge cut the TFLite graph (VMF-560M fp32: 25
    BROADCAST_TO, 10 XNNPACK partitions; now 1, docs/mobile-accelerators.md).
    """
    heads, rows, cols = blocks.shape
    spread = blocks.reshape(heads * rows, 1, cols) * mask.reshape(heads * rows, heads, cols)
    return spread.reshape(heads * rows, heads * cols)


def head_mask(heads: int, rows: int, cols: int) -> torch.Tensor:
    """Ones on the ``heads`` diagonal blocks of a ``[heads rows, heads cols]`` matrix."""
    return torch.kron(torch.eye(heads), torch.ones(rows, cols))


def rows_channels_last(x: torch.Tensor, rows_shape: tuple[int, int]) -> torch.Tensor:
    """``[T', C, H, W]`` -> ``[T' H W, C]``: free when the converter stores NHWC.

    (ONNX Runtime, which keeps NCHW, pays a real transpose; it takes TCHW
    models, which use the NCHW bridges.)
    """
    return x.permute(0, 2, 3, 1).reshape(rows_shape)


class ChannelsLastMobileToFormer(DeployMobileToFormer):
    """Mobile->Former with the features as ``[T'HW, C]`` rows (see the note above)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        heads, tokens, positions = self.scores_shape
        head_dim = self.keys_shape[2]
        self.register_buffer("query_mask", head_mask(heads, head_dim, tokens), persistent=False)
        self.register_buffer("out_mask", torch.eye(heads).reshape(heads, 1, heads, 1), persistent=False)
        self.out_shape = (heads, tokens, heads, head_dim)
        self.rows_shape = (positions, heads * head_dim)  # positions = T'HW here

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        rows = rows_channels_last(x, self.rows_shape)  # [T'HW, C]: keys = values = X
        q = torch.matmul(z, self.query_w) + self.query_b  # [h, M, C/h], scale folded in
        scores = torch.matmul(rows, block_diagonal(q.transpose(1, 2), self.query_mask))
        attn = torch.softmax(scores.transpose(0, 1), dim=-1)  # [hM, T'HW]
        out = torch.matmul(attn, rows).reshape(self.out_shape)  # [h, M, h, C/h]
        out = (out * self.out_mask).sum(dim=2)  # each head's own channels: [h, M, C/h]
        gate = torch.clamp(torch.matmul(z, self.gate_w) + self.gate_b, 0.0, 2.0)
        update = torch.matmul(out * gate, self.token_w).sum(dim=0, keepdim=True) + self.token_b
        return self.norm(z + update)


class ChannelsLastFormerToMobile(nn.Module):
    """Former->Mobile with the features as ``[T'HW, C]`` rows (see the note above)."""

    def __init__(
        self,
        key_w,
        key_b,
        value_w,
        value_b,
        feature_shape: tuple[int, int, int, int],
        output_shape: tuple[int, int, int, int],
        tokens: int,
    ):
        super().__init__()
        self.key_w, self.key_b = frozen(key_w), frozen(key_b)  # [h, d, C/h], scale folded in
        self.value_w, self.value_b = frozen(value_w), frozen(value_b)
        frames, heads, head_dim, positions = feature_shape
        self.register_buffer("key_mask", head_mask(heads, head_dim, tokens), persistent=False)
        self.register_buffer("value_mask", head_mask(heads, tokens, head_dim), persistent=False)
        self.scores_shape = (frames * positions, heads, tokens)  # softmax over the M tokens, last
        self.flat_shape = (frames * positions, heads * tokens)
        frames, channels, height, width = output_shape
        self.nhwc_shape = (frames, height, width, channels)
        self.rows_shape = (frames * height * width, channels)

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        rows = rows_channels_last(y, self.rows_shape)  # [T'HW, C]: queries = the features
        k = torch.matmul(z, self.key_w) + self.key_b  # [h, M, C/h]
        v = torch.matmul(z, self.value_w) + self.value_b  # [h, M, C/h]
        scores = torch.matmul(rows, block_diagonal(k.transpose(1, 2), self.key_mask))
        attn = torch.softmax(scores.reshape(self.scores_shape), dim=-1).reshape(self.flat_shape)
        out = torch.matmul(attn, block_diagonal(v, self.value_mask))  # [T'HW, C]
        return y + out.reshape(self.nhwc_shape).permute(0, 3, 1, 2)
