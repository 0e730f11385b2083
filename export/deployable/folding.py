"""Exact weight algebra behind the deployable form: BatchNorm folding and 3D -> 2D kernels.

All arithmetic is done in float64 and cast back to float32 once, so folding
adds no error of its own beyond the final rounding (the equivalence tests
allow 1e-4 on logits).
"""

from __future__ import annotations

import torch
from torch import nn


def bn_affine(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) in float64 with ``bn(x) == x * scale + shift`` in eval mode."""
    var = bn.running_var.detach().double()
    mean = bn.running_mean.detach().double()
    weight = bn.weight.detach().double() if bn.affine else torch.ones_like(var)
    bias = bn.bias.detach().double() if bn.affine else torch.zeros_like(var)
    scale = weight / torch.sqrt(var + bn.eps)
    return scale, bias - mean * scale


def conv3d_to_conv2d(
    conv: nn.Conv3d, bn: nn.modules.batchnorm._BatchNorm | None = None, tap: int = 0, with_bias: bool = True
) -> nn.Conv2d:
    """One temporal tap of a 3D conv as a 2D conv, with ``bn`` folded in.

    Kernel (k_t, k_h, k_w) -> (k_h, k_w) slice ``tap``; spatial stride, padding
    and groups carry over. The BN scale multiplies every tap; its shift (and
    the conv bias) is added only where ``with_bias`` is set, so a sum of taps
    gets it exactly once.
    """
    weight = conv.weight.detach().double()[:, :, tap]
    out_ch = weight.shape[0]
    bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros(out_ch, dtype=torch.float64)
    if bn is not None:
        scale, shift = bn_affine(bn)
        weight = weight * scale[:, None, None, None]
        bias = bias * scale + shift
    conv2d = nn.Conv2d(
        conv.in_channels,
        out_ch,
        tuple(weight.shape[2:]),
        stride=tuple(conv.stride[1:]),
        padding=tuple(conv.padding[1:]),
        groups=conv.groups,
        bias=with_bias,
    )
    conv2d.weight.data.copy_(weight.float())
    if with_bias:
        conv2d.bias.data.copy_(bias.float())
    return conv2d


def linear_bn(linear: nn.Linear, bn: nn.BatchNorm1d | None = None) -> nn.Linear:
    """A copy of ``linear`` with a following BatchNorm1d folded into it."""
    weight = linear.weight.detach().double()
    bias = (
        linear.bias.detach().double()
        if linear.bias is not None
        else torch.zeros(weight.shape[0], dtype=torch.float64)
    )
    if bn is not None:
        scale, shift = bn_affine(bn)
        weight = weight * scale[:, None]
        bias = bias * scale + shift
    return make_linear(weight, bias)


def make_linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    """An ``nn.Linear`` holding the given (out, in) weight and bias, cast to float32."""
    out_features, in_features = weight.shape
    linear = nn.Linear(in_features, out_features, bias=bias is not None)
    linear.weight.data.copy_(weight.float())
    if bias is not None:
        linear.bias.data.copy_(bias.float())
    return linear


def scaled_linear(
    linear: nn.Linear, scale: float = 1.0, shift: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``linear``'s float64 (weight, bias) times ``scale``, ``shift`` added to the bias.

    Folds what follows a projection into it: an attention scale, or the
    ``2 h_sigmoid(v) = clip(v / 3 + 1, 0, 2)`` of a gate (scale 1/3, shift 1).
    """
    weight = linear.weight.detach().double() * scale
    bias = linear.bias.detach().double() * scale
    return weight, (bias + shift if shift else bias)


def head_weights(weight: torch.Tensor, heads: int) -> torch.Tensor:
    """(out, in) projection weight -> (heads, in, out/heads) for a batched ``z @ w``.

    Projecting the tokens once per head with one broadcast MatMul gives the
    heads already split, instead of a Linear, a reshape and a transpose.
    """
    out_features, in_features = weight.shape
    return weight.reshape(heads, out_features // heads, in_features).transpose(1, 2).contiguous()


def head_bias(bias: torch.Tensor, heads: int) -> torch.Tensor:
    """(out,) bias -> (heads, 1, out/heads), broadcasting over the tokens."""
    return bias.reshape(heads, 1, -1).contiguous()


def frozen(t: torch.Tensor) -> nn.Parameter:
    """A float32 copy stored as a parameter (exported as an initializer); never shares storage."""
    return nn.Parameter(t.detach().to(torch.float32, copy=True).contiguous(), requires_grad=False)
