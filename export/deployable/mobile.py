"""The Mobile block and its activations on ``[T', C, H, W]`` (paper §3).

Time is folded into the batch axis, so a 1x1x1 conv is a 1x1 Conv2d and a
3x3x3 depthwise conv is one 3x3 depthwise Conv2d per temporal tap plus a
shift-and-add along the batch axis: XNNPACK and the GPU delegate have no
CONV_3D, and converters split a depthwise CONV_3D into one op per channel.
The op count depends on the kernel length, not on T'.

Variants override steps: ``DeployFrameDyReLU.pool`` / ``activate`` (the
channels-last twin in ``channels_last``, the spellings), the depthwise
twin's ``pad_frames`` and the Mobile block's ``depthwise`` class
(``xnnpack_spelling``).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from vmf.model.blocks import MobileBlock
from vmf.model.dyrelu import FrameDyReLU, PlainReLU

from .context import DeployContext
from .folding import conv3d_to_conv2d, make_linear
from .frame_ops import concat_zero_frames, shift_frames


class DeployDepthwise3d(nn.Module):
    """3x3x3 depthwise conv (+ folded BN): y[t] = dw_0(x[t-1]) + dw_1(x[t]) + dw_2(x[t+1]).

    Each tap is a 2D depthwise conv on every frame; taps 0 and 2 are shifted
    by one frame with a slice and a zero frame, which is the reference's zero
    temporal padding. The BN shift rides on the centre tap's bias only.
    """

    pad_frames = staticmethod(concat_zero_frames)  # the zero frame of each shifted tap

    def __init__(self, centre: nn.Conv2d, before: nn.Conv2d | None, after: nn.Conv2d | None):
        super().__init__()
        self.tap_centre = centre
        self.tap_before = before  # None when the clip has one frame: it would read padding only
        self.tap_after = after

    @classmethod
    def from_conv(cls, conv: nn.Conv3d, bn: nn.BatchNorm3d, frames: int) -> "DeployDepthwise3d":
        if conv.kernel_size[0] != 3 or conv.padding[0] != 1 or conv.stride[0] != 1:
            raise ValueError(f"expected a 3-tap temporal kernel with padding 1, stride 1; got {conv}")
        centre = conv3d_to_conv2d(conv, bn, tap=1, with_bias=True)
        if frames == 1:
            return cls(centre, None, None)
        return cls(
            centre,
            conv3d_to_conv2d(conv, bn, tap=0, with_bias=False),
            conv3d_to_conv2d(conv, bn, tap=2, with_bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tap_centre(x)
        if self.tap_before is not None:  # fixed at conversion, not data dependent
            y = y + shift_frames(self.tap_before(x), 1, self.pad_frames)
            y = y + shift_frames(self.tap_after(x), -1, self.pad_frames)
        return y


class DeployFrameDyReLU(nn.Module):
    """Frame-level DY-ReLU: mean-pool, two FC layers, clip, broadcast multiply, maximum.

    Reference (vmf.model.dyrelu): h = h_sigmoid(fc2(relu(fc1([GAP(x_t) || z0])))),
    a1 = 2 h_1, a2 = 2 h_2 - 1. Folded exactly: fc1 is split into a frame part
    and a token part (the token part is one [1, d] GEMM, not an expand and a
    concat per frame), and since 2 h_sigmoid(v) = clip(v / 3 + 1, 0, 2), the
    1/3 and the offsets move into fc2's weights and bias, leaving one Clip per
    slope (no HardSigmoid, no Mul, no Sub).
    """

    def __init__(
        self,
        fc1_frame: nn.Linear,
        fc1_token: nn.Linear,
        slope1: nn.Linear,
        slope2: nn.Linear,
        frames: int,
        channels: int,
    ):
        super().__init__()
        self.fc1_frame = fc1_frame
        self.fc1_token = fc1_token
        self.act = nn.ReLU()
        self.slope1 = slope1
        self.slope2 = slope2
        self.coefficient_shape = (frames, channels, 1, 1)

    @classmethod
    def from_reference(cls, block: FrameDyReLU, ctx: DeployContext) -> "DeployFrameDyReLU":
        _, c, t, _, _ = ctx.input_shape(block)
        w1 = block.fc1.weight.detach().double()
        b1 = block.fc1.bias.detach().double()
        w2 = block.fc2.weight.detach().double() / 3.0
        b2 = block.fc2.bias.detach().double() / 3.0
        return cls(
            make_linear(w1[:, :c], None),
            make_linear(w1[:, c:], b1),
            make_linear(w2[:c], b2[:c] + 1.0),  # a1 = clip(v/3 + 1, 0, 2)
            make_linear(w2[c:], b2[c:]),  # a2 = clip(v/3, -1, 1)
            t,
            c,
        )

    def forward(self, x: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
        return self.activate(x, self.pool(x), z0)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """``[T', C]``: one mean vector per frame."""
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def activate(self, x: torch.Tensor, pooled: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
        """DY-ReLU of ``x`` with slopes from ``pooled`` (``pool`` of what ``fc1_frame`` reads)."""
        h = self.act(self.fc1_frame(pooled) + self.fc1_token(z0))
        a1 = torch.clamp(self.slope1(h), 0.0, 2.0).reshape(self.coefficient_shape)
        a2 = torch.clamp(self.slope2(h), -1.0, 1.0).reshape(self.coefficient_shape)
        return torch.maximum(x * a1, x * a2)

    def pooling_before(self, conv: nn.Conv2d) -> "DeployFrameDyReLU":
        """A copy that takes its per-frame means from the *input* of the 1x1 ``conv`` before it.

        The mean of a 1x1 conv's output is the conv of the mean of its input,
        ``GAP(W x + b) = W GAP(x) + b``, so fc1's frame part absorbs the conv:
        ``fc1_frame(W p + b) = (F W) p + F b``, exactly. The block input has
        fewer channels than the expanded map (1 / 2.25 of them, X3D's #Exp),
        and the mean no longer waits on the conv: on 560M block 0 that is a
        pass over 16 channels at 86^2 instead of 36. Measured on 560M through
        ONNX Runtime: 1.0-1.3 % per clip on one thread (median of paired runs).
        """
        if conv.kernel_size != (1, 1) or conv.stride != (1, 1) or conv.groups != 1:
            raise ValueError(f"pooling_before needs a plain 1x1 conv, got {conv}")
        w_conv = conv.weight.detach().double()[:, :, 0, 0]  # [C, C_in]
        b_conv = (
            conv.bias.detach().double()
            if conv.bias is not None
            else torch.zeros(w_conv.shape[0], dtype=torch.float64)
        )
        w_frame = frame_weight(self.fc1_frame)  # [hidden, C]
        folded = make_linear(w_frame @ w_conv, w_frame @ b_conv)
        twin = copy.deepcopy(self)
        twin.fc1_frame = conv1x1(folded) if isinstance(self.fc1_frame, nn.Conv2d) else folded
        return twin


def frame_weight(fc: "nn.Linear | nn.Conv2d") -> torch.Tensor:
    """The (out, in) float64 matrix of a Linear or of its 1x1 Conv2d twin."""
    weight = fc.weight.detach().double()
    return weight[:, :, 0, 0] if weight.dim() == 4 else weight


def conv1x1(linear: nn.Linear) -> nn.Conv2d:
    """The same affine map as a 1x1 Conv2d on ``[N, C, 1, 1]``."""
    conv = nn.Conv2d(linear.in_features, linear.out_features, 1, bias=linear.bias is not None)
    conv.weight.data.copy_(linear.weight.detach()[:, :, None, None])
    if linear.bias is not None:
        conv.bias.data.copy_(linear.bias.detach())
    return conv


class DeployReLU(nn.Module):
    """The Mobile3D baseline's activation, with the DY-ReLU call signature."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()

    @classmethod
    def from_reference(cls, block: PlainReLU, ctx: DeployContext) -> "DeployReLU":
        return cls()

    def forward(self, x: torch.Tensor, z0: torch.Tensor | None) -> torch.Tensor:
        return self.act(x)


class DeployMobileBlock(nn.Module):
    """1x1 pw (+BN) -> act -> 3x3x3 dw as taps (+BN) -> act -> 1x1 pwl (+BN), + shortcut."""

    depthwise = DeployDepthwise3d  # the twin of the 3x3x3 depthwise conv

    def __init__(
        self,
        conv_pw: nn.Conv2d,
        act_pw: nn.Module,
        conv_dw: DeployDepthwise3d,
        act_dw: nn.Module,
        conv_pwl: nn.Conv2d,
        shortcut: nn.Module,
    ):
        super().__init__()
        self.conv_pw = conv_pw
        # FL-DyReLU after the expansion takes its frame means from the block input
        # (DeployFrameDyReLU.pooling_before): fewer channels, and off the conv's path.
        self.pool_input = isinstance(act_pw, DeployFrameDyReLU)
        self.act_pw = act_pw.pooling_before(conv_pw) if self.pool_input else act_pw
        self.conv_dw = conv_dw
        self.act_dw = act_dw
        self.conv_pwl = conv_pwl
        self.shortcut = shortcut

    @classmethod
    def from_reference(cls, block: MobileBlock, ctx: DeployContext) -> "DeployMobileBlock":
        frames = ctx.input_shape(block)[2]
        if isinstance(block.shortcut, nn.Identity):
            shortcut: nn.Module = nn.Identity()
        else:  # X3D branch1: strided 1x1x1 projection + BN -> strided 1x1 Conv2d
            shortcut = conv3d_to_conv2d(block.shortcut[0], block.shortcut[1])
        return cls(
            conv3d_to_conv2d(block.conv_pw, block.bn_pw),
            ctx.convert(block.act_pw),
            cls.depthwise.from_conv(block.conv_dw, block.bn_dw, frames),
            ctx.convert(block.act_dw),
            conv3d_to_conv2d(block.conv_pwl, block.bn_pwl),
            shortcut,
        )

    def forward(self, x: torch.Tensor, z0: torch.Tensor | None) -> torch.Tensor:
        if self.pool_input:
            y = self.act_pw.activate(self.conv_pw(x), self.act_pw.pool(x), z0)
        else:
            y = self.act_pw(self.conv_pw(x), z0)
        y = self.act_dw(self.conv_dw(y), z0)
        return self.conv_pwl(y) + self.shortcut(x)
