"""The deployable form spelled for phone accelerators behind ONNX Runtime Mobile.

ONNX Runtime hands a graph to the Core ML (MLProgram) and NNAPI execution
providers one partition per run of supported ops; every unsupported op in
between sends the tensors back to the CPU. The server ONNX form is spelled
for ONNX Runtime's desktop CPU kernels (a softmax over the M tokens as
ReduceMax/Exp/ReduceSum/Div, see ``attention.DeployFormerToMobile``), and several of
its ops are not in the EPs' tables: NNAPI has no LayerNormalization, Gelu,
HardSigmoid (ONNX Runtime's HardSwish), ReduceMax or ReduceSum; Core ML
MLProgram has no Flatten. ``make_deployable(..., spelling="ort_mobile")``
lays the twins below (``OVERRIDES``) over the default TCHW table
(``forms.FORMS``); they compute the same logits with ops both EPs take
(docs/mobile-accelerators.md), each by overriding steps of its default
twin's one ``forward``:

- the Former->Mobile softmax over the M tokens is one ``Softmax`` on the
  last axis of ``[T', h, HW, M]`` scores;
- sums over frames and heads are a ReduceMean times the count (frames) or
  one MatMul over the concatenated heads (heads);
- ``flatten`` is a Squeeze (``z[:, 0]`` is a Slice and a Reshape in every form,
  ``frame_ops.first_token``);
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

from .attention import DeployFormer, DeployFormerToMobile, DeployMobileToFormer
from .context import DeployContext, TwinTable
from .head import DeployHead
from .mobile import DeployFrameDyReLU

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

    def sum_frames(self, per_frame: torch.Tensor) -> torch.Tensor:
        return per_frame.mean(dim=0) * float(self.keys_shape[0])  # [h, M, C/h]

    def add_update(self, z: torch.Tensor, gated: torch.Tensor) -> torch.Tensor:
        _, heads, head_dim, _ = self.keys_shape
        tokens = self.scores_shape[1]
        merged = gated.transpose(0, 1).reshape(1, tokens, heads * head_dim)  # [1, M, C]
        return z + torch.matmul(merged, self.token_w) + self.token_b


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

    def add_heads(self, z: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        tokens, count, head_dim = self.split_shape
        merged = heads.transpose(0, 1).reshape(1, tokens, count * head_dim)  # [1, M, d]
        return z + torch.matmul(merged, self.out_w) + self.out_b


class OrtMobileFormerToMobile(DeployFormerToMobile):
    """Former->Mobile with one last-axis Softmax over the M tokens on ``[T', h, HW, M]`` scores."""

    def token_attention(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        scores = torch.matmul(q.transpose(2, 3), k.transpose(1, 2))  # [T', h, HW, M]
        return torch.softmax(scores, dim=-1).transpose(2, 3)  # [T', h, M, HW]


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

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(x, 1).mean(dim=0, keepdim=True)  # [1, 6C, 1, 1]
        return pooled.squeeze(3).squeeze(2)


# Reference type -> ONNX Runtime Mobile twin, laid over the default (TCHW) table.
OVERRIDES: TwinTable = {
    MobileToFormer: OrtMobileMobileToFormer,
    Former: OrtMobileFormer,
    FormerToMobile: OrtMobileFormerToMobile,
    FrameDyReLU: OrtMobileFrameDyReLU,
    Head: OrtMobileHead,
}
