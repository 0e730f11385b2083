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

Each block's ``forward`` is written once, in a template class
(``MobileToFormerTwin``, ``FormerTwin``, ``FormerToMobileTwin``) that calls
named steps; the default twins here define the steps, and the channels-last
twins (``channels_last``) and the spellings (``xnnpack_spelling``,
``ort_mobile_spelling``) override the steps they write differently.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from vmf.model.bridges import Former, FormerToMobile, MobileToFormer

from .context import DeployContext
from .folding import frozen, head_bias, head_weights, scaled_linear


# -- the templates: one forward per block, in the reference's order -------------------------
class MobileToFormerTwin(nn.Module):
    """Mobile->Former (eq. 3): z <- norm(z + W_o(gate(z) * Attn(W_q z, X, X))).

    Steps: ``queries(z)`` and ``gates(z)`` (``[h, M, C/h]``), ``attend(x, q)``
    (the attention-weighted features summed over all T'HW positions,
    ``[h, M, C/h]``), ``add_update(z, gated)`` (z plus the token projection
    summed over heads) and the ``norm`` module.
    """

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        out = self.attend(x, self.queries(z))  # [h, M, C/h]
        return self.norm(self.add_update(z, out * self.gates(z)))  # [1, M, d]


class FormerTwin(nn.Module):
    """Former (eq. 1): MHSA + FFN on the M tokens, keys = values = z.

    Steps: ``queries(z)`` and ``heads_of(z)`` (``[h, M, d/h]``),
    ``attention(q, kv)`` (softmax(q kv^T) kv per head) and
    ``add_heads(z, heads)`` (z plus the output projection summed over heads),
    and the ``norm_attn``, ``ffn`` and ``norm_ffn`` modules.
    """

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        q = self.queries(z)  # [h, M, d/h], scale folded in
        kv = self.heads_of(z)  # [h, M, d/h]: keys = values = z
        z = self.norm_attn(self.add_heads(z, self.attention(q, kv)))
        return self.norm_ffn(z + self.ffn(z))


class FormerToMobileTwin(nn.Module):
    """Former->Mobile (eq. 4): every position reads the tokens, Y <- Y + Attn(Y, W_k z, W_v z).

    Steps: ``keys(z)``, ``values(z)`` and ``attend(y, k, v)`` (the update of
    the features, in their ``[T', C, H, W]`` layout).
    """

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return y + self.attend(y, self.keys(z), self.values(z))


# -- the default twins ----------------------------------------------------------------------
class DeployMobileToFormer(MobileToFormerTwin):
    """Tokens read every T'HW position, keys = values = the unprojected features.

    The per-frame ``[T', h, M, HW]`` scores need no copy of the feature map;
    only the (C / 12 times smaller) score tensor is transposed to put all
    T'HW positions on the last axis for the Softmax, and back. The sum over
    positions is a MatMul per frame and a sum over frames (``sum_frames``).
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
        wq, bq = scaled_linear(block.to_query, block.scale)
        wg, bg = scaled_linear(block.to_gate, 1.0 / 3.0, 1.0)  # 2 h_sigmoid(v) = clip(v/3 + 1, 0, 2)
        wt = block.to_token.weight.detach().double()
        return cls(
            head_weights(wq, heads),
            head_bias(bq, heads),
            head_weights(wg, heads),
            head_bias(bg, heads),
            wt.t().reshape(heads, c // heads, -1),
            block.to_token.bias.detach(),
            copy.deepcopy(block.norm),
            (t, heads, c // heads, hgt * wid),
            tokens,
        )

    def queries(self, z: torch.Tensor) -> torch.Tensor:
        return torch.matmul(z, self.query_w) + self.query_b  # [h, M, C/h], scale folded in

    def attend(self, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        keys = x.reshape(self.keys_shape)  # [T', h, C/h, HW]
        scores = torch.matmul(q, keys)  # [T', h, M, HW]
        scores = scores.permute(1, 2, 0, 3).reshape(self.scores_shape)  # [h, M, T'HW]
        attn = torch.softmax(scores, dim=-1).reshape(self.attn_shape).permute(2, 0, 1, 3)
        return self.sum_frames(torch.matmul(attn, keys.transpose(2, 3)))  # [h, M, C/h]

    def sum_frames(self, per_frame: torch.Tensor) -> torch.Tensor:
        """``[T', h, M, C/h]`` -> ``[h, M, C/h]``."""
        return per_frame.sum(dim=0)

    def gates(self, z: torch.Tensor) -> torch.Tensor:
        return torch.clamp(torch.matmul(z, self.gate_w) + self.gate_b, 0.0, 2.0)

    def add_update(self, z: torch.Tensor, gated: torch.Tensor) -> torch.Tensor:
        return z + (torch.matmul(gated, self.token_w).sum(dim=0, keepdim=True) + self.token_b)


class DeployFormer(FormerTwin):
    """Heads as ``[h, M, d/h]``, scale folded into W_q, per-head output projections summed."""

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
        wq, bq = scaled_linear(block.to_query, block.scale)
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

    def queries(self, z: torch.Tensor) -> torch.Tensor:
        return torch.matmul(z, self.query_w) + self.query_b  # [h, M, d/h]

    def heads_of(self, z: torch.Tensor) -> torch.Tensor:
        return z.reshape(self.split_shape).transpose(0, 1)  # [h, M, d/h]

    def attention(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        attn = torch.softmax(torch.matmul(q, kv.transpose(1, 2)), dim=-1)  # [h, M, M]
        return torch.matmul(attn, kv)  # [h, M, d/h]

    def add_heads(self, z: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        return z + torch.matmul(heads, self.out_w).sum(dim=0, keepdim=True) + self.out_b


class DeployFormerToMobile(FormerToMobileTwin):
    """For TCHW exports (ONNX Runtime, Core ML, PyTorch): queries are the unprojected features.

    Scores are ``[T', h, M, HW]``: the M tokens on axis 2, the HW positions
    innermost, and V @ attn lands directly in the feature layout
    ``[T', h, C/h, HW]``, with no transpose at all. The softmax over the M
    tokens is written out (max, exp, sum, divide along axis 2; subtracting
    the max keeps it exact and finite for any scores) rather than a Softmax
    op on a 6-wide last axis, which ONNX Runtime runs row by row: on 560M
    (64 x 172^2) this bridge took 2.45 ms with ``Softmax`` on
    ``[T', h, HW, M]`` and 1.20 ms this way, and the whole model 33.7 -> 29.6
    ms (one thread, CPU time per clip). THWC (TFLite) exports keep a
    last-axis Softmax, in ``channels_last.ChannelsLastFormerToMobile``.
    """

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
        self.key_w, self.key_b = frozen(key_w), frozen(key_b)
        self.value_w, self.value_b = frozen(value_w), frozen(value_b)
        self.query_shape = feature_shape  # [T', h, C/h, HW]
        self.output_shape = output_shape  # [T', C, H, W]
        self.tokens = tokens  # M

    @classmethod
    def from_reference(cls, block: FormerToMobile, ctx: DeployContext) -> "DeployFormerToMobile":
        _, c, t, hgt, wid = ctx.input_shape(block)
        heads = block.heads
        wk, bk = scaled_linear(block.to_key, block.scale)
        return cls(
            head_weights(wk, heads),
            head_bias(bk, heads),
            *cls.value_weights(*scaled_linear(block.to_value), heads),
            (t, heads, c // heads, hgt * wid),
            (t, c, hgt, wid),
            ctx.input_shape(block, 1)[1],
        )

    @staticmethod
    def value_weights(
        weight: torch.Tensor, bias: torch.Tensor, heads: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The value projection as ``[h, C/h, d]`` and ``[h, C/h, 1]``: ``values`` is ``W_v z^T``."""
        channels, dim = weight.shape
        return weight.reshape(heads, channels // heads, dim), bias.reshape(heads, channels // heads, 1)

    def keys(self, z: torch.Tensor) -> torch.Tensor:
        return torch.matmul(z, self.key_w) + self.key_b  # [h, M, C/h], scale folded in

    def values(self, z: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.value_w, z.transpose(1, 2)) + self.value_b  # [h, C/h, M]

    def attend(self, y: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q = y.reshape(self.query_shape)  # [T', h, C/h, HW]: queries are the unprojected features
        out = torch.matmul(v, self.token_attention(q, k))  # [T', h, C/h, HW]: already the feature layout
        return out.reshape(self.output_shape)

    def token_attention(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``[T', h, M, HW]``: each position's softmax over the M tokens, on axis 2."""
        scores = torch.matmul(k, q)  # [T', h, M, HW]: the M tokens on axis 2, not innermost
        # Softmax over the M tokens spelled out on axis 2 (see the class note): element-wise
        # ops over HW-long rows instead of ONNX Runtime's Softmax on 6-wide rows.
        scores = torch.exp(scores - scores.amax(dim=2, keepdim=True))
        return scores / scores.sum(dim=2, keepdim=True)
