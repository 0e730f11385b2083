"""The deployable form spelled for phone accelerators behind ONNX Runtime Mobile.

ONNX Runtime hands a graph to the Core ML (MLProgram) and NNAPI execution
providers one partition per run of supported ops; every unsupported op in
between sends the tensors back to the CPU. The server ONNX form is spelled
for ONNX Runtime's desktop CPU kernels (a softmax over the M tokens as
ReduceMax/Exp/ReduceSum/Div, see ``DeployFormerToMobile``), and several of
its ops are not in the EPs' tables: NNAPI has no LayerNormalization, Gelu,
HardSigmoid (ONNX Runtime's HardSwish), ReduceMax or ReduceSum; Core ML
MLProgram has no Flatten. ``make_deployable(..., ort_mobile=True)``
swaps in the twins below (``ort_mobile_twins()``), which compute the same
logits with ops both EPs take (docs/mobile-accelerators.md):

- the Former->Mobile softmax over the M tokens is one ``Softmax`` on the
  last axis of ``[T', h, HW, M]`` scores;
- sums over frames and heads are a ReduceMean times the count (frames) or
  one MatMul over the concatenated heads (heads);
- ``flatten`` is a Squeeze (``z[:, 0]`` is a Slice and a Reshape in every form,
  ``deploy_ops.first_token``);
- LayerNorm is written out (mean, centred second moment, sqrt, divide: the
  same two-pass formula as PyTorch's kernel);
- GELU is ``(x + |x| erf(|x| / sqrt 2)) / 2``, ``|x| = max(x, -x)``, with erf from Abramowitz &
  Stegun 7.1.26 (|error| <= 1.5e-7 on erf, i.e. <= 7.5e-8 |x| on GELU):
  no Erf op, which NNAPI lacks, and no tanh approximation, whose error is
  ~1e-3;
- h_swish is ``x * clip(x + 3, 0, 6) / 6``.

Every spelling is exact up to float32 rounding: the equivalence tests hold
them to the same 1e-4 as the server form.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vmf.model.blocks import Head
from vmf.model.bridges import Former, FormerToMobile, MobileToFormer
from vmf.model.dyrelu import FrameDyReLU

from .deploy_attention import DeployFormer, DeployFormerToMobile, DeployMobileToFormer
from .deploy_context import DeployContext
from .deploy_head import DeployHead
from .deploy_mobile import DeployFrameDyReLU
from .deploy_ops import first_token

# Abramowitz & Stegun 7.1.26: erf(x) = 1 - (a1 t + ... + a5 t^5) exp(-x^2), t = 1 / (1 + p x), x >= 0.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


class SpelledLayerNorm(nn.Module):
    """LayerNorm over the last axis in ReduceMean, Sub, Mul, Add, Sqrt, Div (NNAPI has no LayerNormalization)."""

    def __init__(self, norm: nn.LayerNorm):
        super().__init__()
        if len(norm.normalized_shape) != 1:
            raise ValueError(f"expected a LayerNorm over the last axis, got {norm}")
        self.weight = nn.Parameter(norm.weight.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(norm.bias.detach().clone(), requires_grad=False)
        self.eps = float(norm.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - x.mean(dim=-1, keepdim=True)
        variance = (centred * centred).mean(dim=-1, keepdim=True)
        return centred / torch.sqrt(variance + self.eps) * self.weight + self.bias


class SpelledGELU(nn.Module):
    """Exact (erf) GELU without an Erf op: ``(x + |x| erf(|x| / sqrt 2)) / 2``, erf by A&S 7.1.26."""

    def __init__(self) -> None:
        super().__init__()
        # A tensor numerator makes 1 / v a Div: torch.onnx writes a scalar one as Reciprocal (NNAPI lacks it).
        self.register_buffer("one", torch.ones(()), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.maximum(x, x * -1.0)  # |x| without Abs (Core ML MLProgram lacks it) or Neg (NNAPI-only)
        u = a * (1.0 / math.sqrt(2.0))
        t = self.one / (1.0 + _ERF_P * u)
        poly = _ERF_A[4]
        for coefficient in reversed(_ERF_A[:4]):
            poly = poly * t + coefficient
        erf = 1.0 - poly * t * torch.exp(u * u * -1.0)  # Mul by -1: Core ML MLProgram has no Neg
        return 0.5 * (x + a * erf)


class SpelledHardswish(nn.Module):
    """h_swish as ``x * clip(x + 3, 0, 6) / 6``: ONNX Runtime lowers HardSwish to HardSigmoid, which NNAPI lacks."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.clamp(x + 3.0, 0.0, 6.0) * (1.0 / 6.0)


def _spell_ffn(ffn: nn.Sequential) -> nn.Sequential:
    return nn.Sequential(*(SpelledGELU() if isinstance(m, nn.GELU) else m for m in ffn))


class OrtMobileMobileToFormer(DeployMobileToFormer):
    """Mobile->Former without ReduceSum: frames summed as a mean times T', heads by one MatMul."""

    @classmethod
    def from_reference(cls, block: MobileToFormer, ctx: DeployContext) -> "OrtMobileMobileToFormer":
        twin = super().from_reference(block, ctx)
        heads, head_dim, dim = twin.token_w.shape
        twin.token_w = nn.Parameter(
            twin.token_w.detach().reshape(heads * head_dim, dim), requires_grad=False
        )  # [C, d]: heads concatenated
        twin.norm = SpelledLayerNorm(twin.norm)
        return twin

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        frames, heads, head_dim, _ = self.keys_shape
        tokens = self.scores_shape[1]
        keys = x.reshape(self.keys_shape)  # [T', h, C/h, HW]
        q = torch.matmul(z, self.query_w) + self.query_b  # [h, M, C/h]
        scores = torch.matmul(q, keys)  # [T', h, M, HW]
        scores = scores.permute(1, 2, 0, 3).reshape(self.scores_shape)  # [h, M, T'HW]
        attn = torch.softmax(scores, dim=-1).reshape(self.attn_shape).permute(2, 0, 1, 3)
        out = torch.matmul(attn, keys.transpose(2, 3)).mean(dim=0) * float(frames)  # [h, M, C/h]
        gate = torch.clamp(torch.matmul(z, self.gate_w) + self.gate_b, 0.0, 2.0)
        gated = (out * gate).transpose(0, 1).reshape(1, tokens, heads * head_dim)  # [1, M, C]
        return self.norm(z + torch.matmul(gated, self.token_w) + self.token_b)


class OrtMobileFormer(DeployFormer):
    """Former with the heads' output projection as one MatMul, spelled LayerNorm and GELU."""

    @classmethod
    def from_reference(cls, block: Former, ctx: DeployContext) -> "OrtMobileFormer":
        twin = super().from_reference(block, ctx)
        heads, head_dim, dim = twin.out_w.shape
        twin.out_w = nn.Parameter(twin.out_w.detach().reshape(heads * head_dim, dim), requires_grad=False)
        twin.norm_attn = SpelledLayerNorm(twin.norm_attn)
        twin.norm_ffn = SpelledLayerNorm(twin.norm_ffn)
        twin.ffn = _spell_ffn(twin.ffn)
        return twin

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        tokens, heads, head_dim = self.split_shape
        q = torch.matmul(z, self.query_w) + self.query_b  # [h, M, d/h]
        kv = z.reshape(self.split_shape).transpose(0, 1)  # [h, M, d/h]
        attn = torch.softmax(torch.matmul(q, kv.transpose(1, 2)), dim=-1)  # [h, M, M]
        heads_out = torch.matmul(attn, kv).transpose(0, 1).reshape(1, tokens, heads * head_dim)
        z = self.norm_attn(z + torch.matmul(heads_out, self.out_w) + self.out_b)
        return self.norm_ffn(z + self.ffn(z))


class OrtMobileFormerToMobile(DeployFormerToMobile):
    """Former->Mobile with one last-axis Softmax over the M tokens on ``[T', h, HW, M]`` scores."""

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        q = y.reshape(self.query_shape)  # [T', h, C/h, HW]
        k = torch.matmul(z, self.key_w) + self.key_b  # [h, M, C/h], scale folded in
        v = torch.matmul(self.value_w, z.transpose(1, 2)) + self.value_b  # [h, C/h, M]
        scores = torch.matmul(q.transpose(2, 3), k.transpose(1, 2))  # [T', h, HW, M]
        attn = torch.softmax(scores, dim=-1)
        out = torch.matmul(v, attn.transpose(2, 3))  # [T', h, C/h, HW]
        return y + out.reshape(self.output_shape)


class OrtMobileFrameDyReLU(DeployFrameDyReLU):
    """Frame-level DY-ReLU with the per-frame means reshaped, not flattened."""

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, 1).squeeze(3).squeeze(2)


class OrtMobileHead(DeployHead):
    """The head with Squeeze for Flatten and h_swish spelled out."""

    @classmethod
    def from_reference(cls, block: Head, ctx: DeployContext) -> "OrtMobileHead":
        twin = super().from_reference(block, ctx)
        twin.pool_act = SpelledHardswish()
        twin.fc_act = SpelledHardswish()
        return twin

    def forward(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(self.act(self.conv(x)), 1)  # [T', 6C, 1, 1]
        pooled = pooled.mean(dim=0, keepdim=True)
        pooled = self.pool_act(pooled.squeeze(3).squeeze(2))  # [1, 6C]
        features = pooled if z is None else torch.cat([pooled, first_token(z)], dim=1)
        return self.classifier(self.fc_act(self.fc(features)))


def ort_mobile_twins() -> dict[type, type]:
    """Reference type -> ONNX Runtime Mobile twin, overriding the server ``TWINS`` entries."""
    return {
        MobileToFormer: OrtMobileMobileToFormer,
        Former: OrtMobileFormer,
        FormerToMobile: OrtMobileFormerToMobile,
        FrameDyReLU: OrtMobileFrameDyReLU,
        Head: OrtMobileHead,
    }
