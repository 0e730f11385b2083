"""The bridges and the Former as MatMul + Softmax at rank <= 4 (paper §3, eqs. 1, 3, 4).

Features are ``[T', C, H, W]``; heads split by a free reshape to
``[T', heads, C/heads, H*W]``. Tokens stay ``[1, M, d]`` and every token-side
projection is one broadcast MatMul against ``[heads, d, C/heads]`` weights, so
heads come out split without Linear + Reshape + Transpose. Softmax always runs
on the last axis (TFLite's SOFTMAX and onnx2tf's layout inference want it
there; ECOSYSTEM.md §0.4). Attention scales, 2 h_sigmoid gates and
per-head output projections are folded into the weights. No Einsum.
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

    def __init__(self, query_w, query_b, gate_w, gate_b, token_w, token_b, norm: nn.LayerNorm,
                 feature_shape: tuple[int, int, int, int], tokens: int):
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
        return cls(head_weights(wq, heads), head_bias(bq, heads),
                   head_weights(wg, heads), head_bias(bg + 1.0, heads),
                   wt.t().reshape(heads, c // heads, -1), block.to_token.bias.detach(),
                   copy.deepcopy(block.norm), (t, heads, c // heads, hgt * wid), tokens)

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

    def __init__(self, query_w, query_b, out_w, out_b, norm_attn: nn.LayerNorm, ffn: nn.Sequential,
                 norm_ffn: nn.LayerNorm, tokens: int, heads: int, head_dim: int):
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
        return cls(head_weights(wq, heads), head_bias(bq, heads),
                   wo.t().reshape(heads, dim // heads, dim), block.to_out.bias.detach(),
                   copy.deepcopy(block.norm_attn), copy.deepcopy(block.ffn),
                   copy.deepcopy(block.norm_ffn), tokens, heads, dim // heads)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        q = torch.matmul(z, self.query_w) + self.query_b  # [h, M, d/h]
        kv = z.reshape(self.split_shape).transpose(0, 1)  # [h, M, d/h]: keys = values = z
        attn = torch.softmax(torch.matmul(q, kv.transpose(1, 2)), dim=-1)  # [h, M, M]
        out = torch.matmul(torch.matmul(attn, kv), self.out_w).sum(dim=0, keepdim=True)
        z = self.norm_attn(z + out + self.out_b)
        return self.norm_ffn(z + self.ffn(z))


class DeployFormerToMobile(nn.Module):
    """Every position reads the tokens: Y <- Y + Attn(Y, W_k z, W_v z) (eq. 4).

    Scores are ``[T', h, HW, M]`` so the Softmax over the M tokens is on the
    last axis; the output is formed as V^T @ attn^T, which lands directly in
    the feature layout ``[T', h, C/h, HW]`` (the transpose is on the small
    attention tensor, M = 6 wide, not on the C-wide output).
    """

    def __init__(self, key_w, key_b, value_w, value_b, feature_shape: tuple[int, int, int, int],
                 output_shape: tuple[int, int, int, int]):
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
        return cls(wk.reshape(*split, -1), bk.reshape(*split, 1), wv.reshape(*split, -1),
                   bv.reshape(*split, 1), (t, heads, c // heads, hgt * wid), (t, c, hgt, wid))

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        q = y.reshape(self.query_shape)  # [T', h, C/h, HW]: queries are the unprojected features
        zt = z.transpose(1, 2)  # [1, d, M]
        k = torch.matmul(self.key_w, zt) + self.key_b  # [h, C/h, M], scale folded in
        v = torch.matmul(self.value_w, zt) + self.value_b  # [h, C/h, M]
        attn = torch.softmax(torch.matmul(q.transpose(2, 3), k), dim=-1)  # [T', h, HW, M]
        out = torch.matmul(v, attn.transpose(2, 3))  # [T', h, C/h, HW]
        return y + out.reshape(self.output_shape)
