"""The (2+1)D stem as one fused 2D conv evaluated only at the frames it outputs.

Reference: conv_xy (1x3x3, stride 2, no bias) on every frame, then the
depthwise temporal conv_t (k_t x 1 x 1, stride s_t, zero padding k_t // 2, no
bias), then BN + ReLU. Both convs are linear with nothing between them, so

    out[t', c] = sum_j w_t[c, j] * conv_xy(x[s_t t' - p + j])[c]
              = Conv2d(cat_j x[s_t t' - p + j], W[c, (j, ci)] = w_t[c, j] * w_xy[c, ci])

one 2D conv with 3 k_t input channels, run only on the T / s_t output frames.
conv_xy has no bias, so the reference's zero padding of its *output* in time
equals zero frames at its *input*. For 560M (k_t = 5 < s_t = 8) the frames no
output reads (3 of every 8) are never touched: the reference's full-frame
spatial conv is ~40 % of 560M's MACs (§12 there). At s_t = 4 the fused conv
does 5/4 of conv_xy's MACs, but one conv beats a spatial conv followed by k_t
full-size element-wise passes, which are memory bound.

The fused conv is split by tap group (``tap_groups``): each group's input is
one slice of the clip viewed as runs of s_t frames, and the group outputs
are summed, so the k_t taps are never concatenated. The concatenation
was a copy that cost more than the conv: the 560M stem alone took 10.1 ms
with it and 5.4 ms without (ONNX Runtime, one thread, CPU time per clip).

The default twin takes TCHW clips; ``channels_last.ChannelsLastStem`` (THWC)
and ``xnnpack_spelling.XnnpackStem`` override steps, not the forward:
``runs_of`` (how the clip is viewed as runs), ``as_frames`` / ``tap_input``
(one group's slice as a 4-D conv input) and ``pad_frames``.
"""

from __future__ import annotations

import torch
from torch import nn

from vmf.model.blocks import Stem

from .context import DeployContext
from .folding import bn_affine
from .frame_ops import concat_zero_frames


def tap_groups(frames: int, kernel: int, stride: int, padding: int) -> list[tuple[int, int, int]]:
    """The k_t taps grouped by which stride-long run of frames they read.

    Tap j of output frame t' reads input frame ``stride * t' - padding + j``
    (zero outside the clip). Seen as runs of ``stride`` frames, that is run
    ``t' + g`` at phase ``f``, with ``g = (j - padding) // stride`` and ``f``
    its remainder; taps with the same ``g`` read consecutive phases. Returns
    ``(g, first phase, number of phases)`` per group, in tap order; groups
    that would read only padding are dropped. Each group is one slice of the
    clip viewed as ``[T', stride, ...]``, shifted by ``g`` frames: O(k_t) ops
    whatever T is. For 560M (k_t = 5, s_t = 8) the 3 phases no tap reads are
    never copied.
    """
    groups: list[tuple[int, int, int]] = []
    for j in range(kernel):
        g, f = divmod(j - padding, stride)
        if groups and groups[-1][0] == g:
            groups[-1] = (g, groups[-1][1], groups[-1][2] + 1)
        else:
            groups.append((g, f, 1))
    out_frames = frames // stride
    return [(g, f, n) for g, f, n in groups if -out_frames < g < out_frames]  # else padding only


class DeployStem(nn.Module):
    """Clip ``[T, 3, R, R]`` (TCHW) -> features ``[T', C, R/2, R/2]``.

    One Conv2d per tap group (see ``tap_groups``) on the group's slice of the
    clip, its output shifted by the group's run offset, summed, then ReLU:
    together they are the one fused conv over all k_t taps (BN folded in, its
    shift as the bias of the unshifted group's conv).
    """

    pad_frames = staticmethod(concat_zero_frames)  # the zero frames of a shifted group

    def __init__(self, convs: list[nn.Conv2d], groups: tuple, frames: int, stride: int, resolution: int):
        super().__init__()
        self.convs = nn.ModuleList(convs)
        self.act = nn.ReLU()
        self.groups = groups
        self.out_frames = frames // stride
        self.frame_shape = (resolution, resolution)
        self.runs_shape = self.runs_of(self.out_frames, stride, resolution)

    def runs_of(self, out_frames: int, stride: int, resolution: int) -> tuple[int, ...]:
        """The clip as runs of ``stride`` frames on axis 1: a free reshape (rank 4, no copy)."""
        return (out_frames, stride, 3, resolution * resolution)

    @classmethod
    def from_reference(cls, block: Stem, ctx: DeployContext) -> "DeployStem":
        _, in_ch, frames, resolution, _ = ctx.input_shape(block)
        kernel = block.conv_t.kernel_size[0]
        stride = block.conv_t.stride[0]
        padding = block.conv_t.padding[0]
        if frames % stride:
            raise ValueError(f"frames {frames} is not a multiple of the temporal stride {stride}")
        w_xy = block.conv_xy.weight.detach().double()[:, :, 0]  # (C, 3, 3, 3)
        w_t = block.conv_t.weight.detach().double()[:, 0, :, 0, 0]  # (C, k_t)
        scale, shift = bn_affine(block.bn)
        # Group with no run offset first: it carries the bias and is never padded.
        groups = sorted(tap_groups(frames, kernel, stride, padding), key=lambda grp: grp[0] != 0)
        convs = []
        for g, first, count in groups:
            taps = [g * stride + first + i + padding for i in range(count)]
            # W[c, (j, ci)] = w_t[c, j] * w_xy[c, ci] * bn_scale[c], input channel j * 3 + ci.
            weight = (w_t[:, taps, None, None, None] * w_xy[:, None]).flatten(1, 2)
            conv = nn.Conv2d(
                weight.shape[1],
                weight.shape[0],
                tuple(block.conv_xy.kernel_size[1:]),
                stride=tuple(block.conv_xy.stride[1:]),
                padding=tuple(block.conv_xy.padding[1:]),
                bias=not convs,
            )
            conv.weight.data.copy_((weight * scale[:, None, None, None]).float())
            if conv.bias is not None:
                conv.bias.data.copy_(shift.float())
            convs.append(conv)
        return cls(convs, tuple(groups), frames, stride, resolution)

    def tap_input(self, runs: torch.Tensor, group: tuple[int, int, int]) -> torch.Tensor:
        """``[T' - |g|, 3 n, R, R]``: the group's n phases of every run some output frame reads."""
        g, first, count = group
        frames = self.out_frames - abs(g)
        part = runs[max(g, 0) : max(g, 0) + frames, first : first + count]
        return self.as_frames(part, frames, count)

    def as_frames(self, part: torch.Tensor, frames: int, count: int) -> torch.Tensor:
        """``[frames, count, 3, RR]`` -> ``[frames, 3 count, R, R]`` (channel j * 3 + ci)."""
        return part.reshape(frames, 3 * count, *self.frame_shape)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        runs = clip.reshape(self.runs_shape)
        y = None
        for group, conv in zip(self.groups, self.convs):
            out = conv(self.tap_input(runs, group))
            g = group[0]  # output t' read run t' + g: zero frames where it is outside the clip
            out = self.pad_frames(out, max(-g, 0), max(g, 0))
            y = out if y is None else y + out
        return self.act(y)
