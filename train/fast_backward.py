"""Faster CPU training for the three places where PyTorch's backward is slow for VMF.

A profile of one VMF-560M training step on the CPU (64 x 112², docs/training.md,
"Training speed on the CPU") spends about half its time in three places:

- **DY-ReLU** (paper §3, "Extension of CNN"): ``max(a1 * x, a2 * x)``. The
  backward of ``torch.maximum`` builds comparison masks and ``where``/
  ``masked_fill`` passes over every activation. Since the slopes are shared
  over H x W, the same function is ``a_min * x + (a_max - a_min) * relu(x)``
  with ``a_max = max(a1, a2)`` and ``a_min = min(a1, a2)``; its gradients are
  one pass each, and the slope gradients are per-row dot products (``bmm``).
- **The stem's temporal convolution** when its kernel tiles the clip
  (``k_t = s_t``, no padding: VMF-560M). PyTorch runs a depthwise
  ``k x 1 x 1`` Conv3d backward through a slow generic path; a kernel that
  tiles time is a weighted sum over each group of ``k`` frames, i.e. one
  small batched matrix product forward and two backward.
- **The blocks' 3 x 3 x 3 depthwise convolutions**, which oneDNN runs faster in
  channels-last layout: only these convert, and convert back.

``speed_up_training(model)`` swaps those modules' classes for subclasses that
compute the same function this way. Parameters, buffers and state-dict keys
are unchanged, so checkpoints, ``--init``, ``--resume``, the weight average
and every exporter see the model they always did; outputs agree with the
reference to float rounding (tested). The trainer applies it on the CPU only:
CUDA's kernels were not measured to need it.
"""

from __future__ import annotations

import torch
from torch import nn

from vmf.model.blocks import Stem
from vmf.model.dyrelu import FrameDyReLU


class _TwoSlopeMax(torch.autograd.Function):
    """y = max(a1 x, a2 x) given a_max = max(a1, a2) and a_min = min(a1, a2), each (B, C, T, 1, 1)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, a_max: torch.Tensor, a_min: torch.Tensor) -> torch.Tensor:
        positive = torch.relu(x)
        spread = a_max - a_min
        ctx.save_for_backward(x, positive, a_min, spread)
        # x >= 0: a_min x + (a_max - a_min) x = a_max x;  x < 0: a_min x.
        return torch.addcmul(x * a_min, positive, spread)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, positive, a_min, spread = ctx.saved_tensors
        b, c, t, h, w = x.shape
        rows = grad.reshape(b * c * t, 1, h * w)
        # d y / d a_min = x - relu(x), d y / d a_max = relu(x), summed over H x W per row
        grad_all = torch.bmm(rows, x.reshape(b * c * t, h * w, 1)).view(b, c, t, 1, 1)
        grad_max = torch.bmm(rows, positive.reshape(b * c * t, h * w, 1)).view(b, c, t, 1, 1)
        grad_x = grad * a_min
        grad_x.addcmul_(grad * spread, positive > 0)
        return grad_x, grad_max, grad_all - grad_max


class FastFrameDyReLU(FrameDyReLU):
    def forward(self, x: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
        a1, a2 = self.coefficients(x, z0)
        return _TwoSlopeMax.apply(x, torch.maximum(a1, a2), torch.minimum(a1, a2))


class _TiledTemporalSum(torch.autograd.Function):
    """out[b, c, i] = sum_j w[c, j] x[b, c, i k + j]: a depthwise k x 1 x 1 conv with stride k, no padding."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        k = weight.shape[1]
        ctx.save_for_backward(x, weight)
        groups = x.reshape(b, c, t // k, k, h * w)
        return torch.matmul(weight.view(1, c, 1, 1, k), groups).view(b, c, t // k, h, w)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        b, c, t, h, w = x.shape
        k = weight.shape[1]
        rows = grad.reshape(b, c, t // k, 1, h * w)
        grad_x = (rows * weight.view(1, c, 1, k, 1)).view(b, c, t, h, w)
        groups = x.reshape(b, c, t // k, k, h * w)
        grad_w = torch.matmul(groups, rows.transpose(3, 4)).sum(dim=(0, 2)).view(c, k)
        return grad_x, grad_w


class FastStem(Stem):
    def forward(self, video: torch.Tensor) -> torch.Tensor:
        y = self.conv_xy(video)
        conv = self.conv_t
        k = conv.kernel_size[0]
        if _tiles_time(conv) and y.shape[2] % k == 0:
            weight = conv.weight.view(conv.out_channels, k)
            y = _TiledTemporalSum.apply(y.contiguous(), weight)
        else:
            y = conv(y)
        return self.act(self.bn(y))


def _tiles_time(conv: nn.Conv3d) -> bool:
    k = conv.kernel_size[0]
    return (
        conv.kernel_size[1:] == (1, 1)
        and conv.stride == (k, 1, 1)
        and conv.padding == (0, 0, 0)
        and conv.dilation == (1, 1, 1)
        and conv.groups == conv.in_channels == conv.out_channels
        and conv.bias is None
    )


class ChannelsLastDepthwise(nn.Conv3d):
    """A depthwise 3D convolution run in channels-last layout and handed back contiguous.

    oneDNN's depthwise Conv3d is several times faster forward and up to twice as fast
    backward on channels-last input; converting only around these convolutions keeps
    the rest of the network (BatchNorm, DY-ReLU's pooling, the bridges) in the layout
    it is fast in, where converting the whole network was measured no faster.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.contiguous(memory_format=torch.channels_last_3d)).contiguous()


def _is_spatial_depthwise(module: nn.Module) -> bool:
    return (
        type(module) is nn.Conv3d
        and module.groups > 1
        and module.groups == module.in_channels == module.out_channels
        and module.kernel_size[1:] != (1, 1)
    )


_SWAPS = {FrameDyReLU: FastFrameDyReLU, Stem: FastStem}


def speed_up_training(model: nn.Module) -> int:
    """Swap DY-ReLU, the stem and the blocks' depthwise convolutions for their faster forms
    in place; returns how many modules changed."""
    changed = 0
    for module in model.modules():
        fast = ChannelsLastDepthwise if _is_spatial_depthwise(module) else _SWAPS.get(type(module))
        if fast is not None:
            module.__class__ = fast
            changed += 1
    return changed
