"""The channels-last (THWC) twins: the TFLite layout's entries in the form table.

TFLite keeps features NHWC. The default twins split heads on the channel axis
of an NCHW tensor, which pins the features to NCHW, so the converter
transposes the full feature map in and out of every bridge. Here the
features are read as ``[T'HW, C]`` rows, channels last, and the heads are kept
apart by block-diagonal token matrices (zeros between heads), so the feature
map is never transposed: only the (C / 12 times smaller) score tensor is.
The block-diagonal products do ``heads`` times the MACs of these tiny
attention matmuls (M = 6), which is cheaper than moving the features.
Measured on 560M converted by litert-torch (THWC, 64 x 172^2): the TFLite
graph transposed 14.9 M elements per clip with the NCHW bridges and
DY-ReLU, 4.4 M with the channels-last ones.

Each twin subclasses its default twin and overrides steps of the one
``forward`` (``attend``, ``values``, ``pool`` / ``activate``, ``runs_of`` /
``as_frames``); ``OVERRIDES`` lays them over the default table
(``forms.FORMS``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vmf.model.blocks import Stem
from vmf.model.bridges import FormerToMobile, MobileToFormer
from vmf.model.dyrelu import FrameDyReLU

from .attention import DeployFormerToMobile, DeployMobileToFormer
from .context import TwinTable
from .folding import head_bias, head_weights
from .mobile import DeployFrameDyReLU, conv1x1
from .stem import DeployStem


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


class ChannelsLastStem(DeployStem):
    """The stem for THWC clips ``[T, R, R, 3]``: each run of s_t frames as ``[s_t, RR, 3]``."""

    def runs_of(self, out_frames: int, stride: int, resolution: int) -> tuple[int, ...]:
        return (out_frames, stride, resolution * resolution, 3)

    def as_frames(self, part: torch.Tensor, frames: int, count: int) -> torch.Tensor:
        # [T', n, RR, 3] -> NHWC [T', R, R, 3n] (the one real transpose), then viewed as
        # NCHW for Conv2d: TFLite converters cancel that permute against their own.
        part = part.permute(0, 2, 1, 3).reshape(frames, *self.frame_shape, 3 * count)
        return part.permute(0, 3, 1, 2)


class ChannelsLastMobileToFormer(DeployMobileToFormer):
    """Mobile->Former with the features as ``[T'HW, C]`` rows (see the module note)."""

    def __init__(self, *args, **kwargs):  # DeployMobileToFormer's arguments
        super().__init__(*args, **kwargs)
        heads, tokens, positions = self.scores_shape
        head_dim = self.keys_shape[2]
        self.register_buffer("query_mask", head_mask(heads, head_dim, tokens), persistent=False)
        self.register_buffer("out_mask", torch.eye(heads).reshape(heads, 1, heads, 1), persistent=False)
        self.out_shape = (heads, tokens, heads, head_dim)
        self.rows_shape = (positions, heads * head_dim)  # positions = T'HW here

    def attend(self, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        rows = rows_channels_last(x, self.rows_shape)  # [T'HW, C]: keys = values = X
        scores = torch.matmul(rows, block_diagonal(q.transpose(1, 2), self.query_mask))
        attn = torch.softmax(scores.transpose(0, 1), dim=-1)  # [hM, T'HW]
        out = torch.matmul(attn, rows).reshape(self.out_shape)  # [h, M, h, C/h]
        return (out * self.out_mask).sum(dim=2)  # each head's own channels: [h, M, C/h]


class ChannelsLastFormerToMobile(DeployFormerToMobile):
    """Former->Mobile with the features as ``[T'HW, C]`` rows and a last-axis Softmax over the M tokens."""

    def __init__(self, *args, **kwargs):  # DeployFormerToMobile's arguments
        super().__init__(*args, **kwargs)
        frames, heads, head_dim, positions = self.query_shape
        tokens = self.tokens
        self.register_buffer("key_mask", head_mask(heads, head_dim, tokens), persistent=False)
        self.register_buffer("value_mask", head_mask(heads, tokens, head_dim), persistent=False)
        self.scores_shape = (frames * positions, heads, tokens)  # softmax over the M tokens, last
        self.flat_shape = (frames * positions, heads * tokens)
        frames, channels, height, width = self.output_shape
        self.nhwc_shape = (frames, height, width, channels)
        self.rows_shape = (frames * height * width, channels)

    @staticmethod
    def value_weights(
        weight: torch.Tensor, bias: torch.Tensor, heads: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The value projection as ``[h, d, C/h]`` and ``[h, 1, C/h]``: ``values`` is ``z W_v^T``."""
        return head_weights(weight, heads), head_bias(bias, heads)

    def values(self, z: torch.Tensor) -> torch.Tensor:
        return torch.matmul(z, self.value_w) + self.value_b  # [h, M, C/h]

    def attend(self, y: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        rows = rows_channels_last(y, self.rows_shape)  # [T'HW, C]: queries = the features
        scores = torch.matmul(rows, block_diagonal(k.transpose(1, 2), self.key_mask))
        attn = torch.softmax(scores.reshape(self.scores_shape), dim=-1).reshape(self.flat_shape)
        out = torch.matmul(attn, block_diagonal(v, self.value_mask))  # [T'HW, C]
        return out.reshape(self.nhwc_shape).permute(0, 3, 1, 2)


class ChannelsLastFrameDyReLU(DeployFrameDyReLU):
    """Frame-level DY-ReLU with the per-frame MLP as 1x1 convs on ``[T', C, 1, 1]``.

    Every tensor between the pooled features and the slopes stays 4-D, so
    litert-torch's layout pass can keep the feature map NHWC through the
    broadcast multiplies. With ``[T', C]`` slopes reshaped to 4-D it pinned
    the DY-ReLU to NCHW and transposed the full feature map in and out (its
    min-cut counts transposes, not their size): 560M in TFLite took 38.0 ms
    per clip that way and 34.2 ms this way (XNNPACK, one thread, CPU time).
    """

    def __init__(self, *args, **kwargs):  # DeployFrameDyReLU's arguments, the FCs as nn.Linear
        super().__init__(*args, **kwargs)
        self.fc1_frame = conv1x1(self.fc1_frame)
        self.slope1 = conv1x1(self.slope1)
        self.slope2 = conv1x1(self.slope2)
        self.token_shape = (1, self.fc1_token.out_features, 1, 1)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """``[T', C, 1, 1]``: one mean vector per frame, kept 4-D."""
        return F.adaptive_avg_pool2d(x, 1)

    def activate(self, x: torch.Tensor, pooled: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1_frame(pooled) + self.fc1_token(z0).reshape(self.token_shape))
        a1 = torch.clamp(self.slope1(h), 0.0, 2.0)
        a2 = torch.clamp(self.slope2(h), -1.0, 1.0)
        # max(x a1, x a2) = x a2 + relu(x (a1 - a2)): XNNPACK has no int8 MAXIMUM, so an int8
        # MAXIMUM ran on TFLite's reference kernels and cut the graph (docs/mobile-accelerators.md).
        return x * a2 + torch.relu(x * (a1 - a2))


# Reference type -> channels-last twin, laid over the default (TCHW) table for THWC forms.
OVERRIDES: TwinTable = {
    Stem: ChannelsLastStem,
    MobileToFormer: ChannelsLastMobileToFormer,
    FormerToMobile: ChannelsLastFormerToMobile,
    FrameDyReLU: ChannelsLastFrameDyReLU,
}
