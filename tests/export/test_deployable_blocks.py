"""Block-level equivalence of every rewrite in the deployable form, in every form.

Each reference block is converted with ``to_deployable`` in every allowed
(layout, spelling) of ``FORMS`` (the ``form_key`` fixture), checked to be
the twin the table names, and compared with the reference at tiny shapes
through one helper (``assert_equivalent``: fp32 max abs difference <= 1e-4).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vmf.export.deployable import FORMS, to_deployable
from vmf.export.deployable.channels_last import block_diagonal, head_mask
from vmf.export.deployable.context import DeployableTwin
from vmf.export.deployable.mobile import frame_weight
from vmf.export.deployable.stem import tap_groups
from vmf.model import VmfError
from vmf.model.blocks import Head, MobileBlock, Stem, VideoMobileFormerBlock
from vmf.model.bridges import Former, FormerToMobile, MobileToFormer
from vmf.model.dyrelu import FrameDyReLU

TOKENS, TOKEN_DIM = 6, 128


def features(rng, channels, frames, side):
    return torch.randn(1, channels, frames, side, side, generator=rng)


def tokens(rng):
    return torch.randn(1, TOKENS, TOKEN_DIM, generator=rng)


def run(block, *args):
    with torch.no_grad():
        return block(*args)


@pytest.fixture(params=list(FORMS), ids=[f"{layout}-{spelling}" for layout, spelling in FORMS])
def form_key(request) -> tuple[str, str]:
    """Every allowed (layout, spelling): each block test runs once per form."""
    return request.param


def convert(block, *example, form_key):
    """``to_deployable`` in the form ``form_key``; the twin must be the one its table names."""
    layout, spelling = form_key
    twin = to_deployable(block, *example, layout=layout, spelling=spelling)
    assert type(twin) is FORMS[form_key].twins[type(block)], f"{type(twin).__name__} in {layout}/{spelling}"
    return twin


@pytest.mark.parametrize(
    "kernel,stride,frames",
    [(5, 8, 16), (5, 8, 8), (5, 4, 12), (5, 4, 4), (3, 2, 6), (7, 2, 8)],
    ids=["560M-stem", "560M-stem-T'=1", "1G-stem", "1G-stem-T'=1", "k3s2", "k7s2-later-runs"],
)
def test_stem(rng, kernel, stride, frames, form_key, randomize, fold_time, assert_equivalent):
    stem = randomize(Stem(8, kernel, stride))
    clip = torch.randn(1, 3, frames, 22, 22, generator=rng)
    twin = convert(stem, clip, form_key=form_key)
    folded = clip[0].transpose(0, 1)  # [T, 3, R, R]
    if form_key[0] == "THWC":
        folded = folded.permute(0, 2, 3, 1).contiguous()
    assert_equivalent(fold_time(run(stem, clip)), run(twin, folded), f"stem k={kernel} s={stride} T={frames}")


def test_stem_gathers_only_the_frames_it_reads(randomize):
    # 560M: k_t = 5, s_t = 8, padding 2 -> output t' reads frames 8t'-2 .. 8t'+2, i.e. phases
    # 6, 7 of the previous run and 0, 1, 2 of its own; phases 3, 4, 5 are never read.
    assert tap_groups(64, 5, 8, 2) == [(-1, 6, 2), (0, 0, 3)]
    assert tap_groups(64, 5, 4, 2) == [(-1, 2, 2), (0, 0, 3)]
    assert tap_groups(8, 5, 8, 2) == [(0, 0, 3)]  # one output frame: the previous run is padding
    stem = to_deployable(randomize(Stem(16, 5, 8)), torch.zeros(1, 3, 64, 16, 16))
    assert [conv.in_channels for conv in stem.convs] == [9, 6]  # 5 taps x RGB, nothing else
    # The spatial work: 5 of every 8 frames instead of all 64 (the reference's conv_xy).
    assert sum(conv.in_channels for conv in stem.convs) * 8 == 5 * 3 * 8


@pytest.mark.parametrize("frames", [1, 2, 3])
@pytest.mark.parametrize("stride,in_ch,out_ch", [(1, 16, 16), (2, 16, 32)], ids=["identity", "projection"])
@pytest.mark.parametrize("with_tokens", [True, False], ids=["dyrelu", "relu"])
def test_mobile_block(
    rng, frames, stride, in_ch, out_ch, with_tokens, form_key, randomize, fold_time, assert_equivalent
):
    block = randomize(
        MobileBlock(in_ch, out_ch, int(2.25 * out_ch), stride, TOKEN_DIM if with_tokens else None, 4)
    )
    x = features(rng, in_ch, frames, 10)
    z0 = tokens(rng)[:, 0] if with_tokens else None
    twin = convert(block, x, z0, form_key=form_key)
    assert not any(isinstance(m, (nn.Conv3d, nn.BatchNorm3d)) for m in twin.modules())
    if with_tokens:  # the FL-DyReLU after the expansion pools the (narrower) block input
        assert twin.pool_input and frame_weight(twin.act_pw.fc1_frame).shape[1] == in_ch
    assert_equivalent(fold_time(run(block, x, z0)), run(twin, fold_time(x), z0), "mobile block")


def test_pooling_before_refuses_a_conv_it_cannot_fold(rng, randomize):
    act = to_deployable(randomize(FrameDyReLU(8, TOKEN_DIM, 4)), features(rng, 8, 2, 5), tokens(rng)[:, 0])
    with pytest.raises(ValueError, match="plain 1x1 conv"):
        act.pooling_before(nn.Conv2d(4, 8, 3, padding=1))


def test_depthwise_taps_do_not_grow_with_frames(rng, randomize):
    short = to_deployable(randomize(MobileBlock(8, 8, 16, 1, None, 4)), features(rng, 8, 2, 6), None)
    long = to_deployable(randomize(MobileBlock(8, 8, 16, 1, None, 4)), features(rng, 8, 64, 6), None)
    count = lambda m: sum(isinstance(c, nn.Conv2d) for c in m.conv_dw.modules())  # noqa: E731
    assert count(short) == count(long) == 3  # one 2D depthwise conv per temporal tap


@pytest.mark.parametrize("frames", [1, 4])
def test_frame_dyrelu(rng, frames, form_key, randomize, fold_time, assert_equivalent):
    act = randomize(FrameDyReLU(24, TOKEN_DIM, 4))
    with torch.no_grad():
        act.fc2.weight.mul_(6.0)  # large enough that the h_sigmoid clips on both sides
    x, z0 = features(rng, 24, frames, 5), tokens(rng)[:, 0]
    twin = convert(act, x, z0, form_key=form_key)
    assert_equivalent(fold_time(run(act, x, z0)), run(twin, fold_time(x), z0), "FL-DyReLU")
    a1, a2 = act.coefficients(x, z0)
    assert (a1 == 0).any() and (a1 == 2).any(), "test input should saturate the slopes"


def test_mobile_to_former(rng, form_key, randomize, fold_time, assert_equivalent):
    bridge = randomize(MobileToFormer(32, TOKEN_DIM, 2))
    x, z = features(rng, 32, 3, 7), tokens(rng)
    twin = convert(bridge, x, z, form_key=form_key)
    assert_equivalent(run(bridge, x, z), run(twin, fold_time(x), z), f"Mobile->Former {form_key}")


def test_former(rng, form_key, randomize, assert_equivalent):
    former = randomize(Former(TOKEN_DIM, 4, 2))
    z = tokens(rng)
    assert_equivalent(run(former, z), run(convert(former, z, form_key=form_key), z), f"Former {form_key}")


def test_former_to_mobile(rng, form_key, randomize, fold_time, assert_equivalent):
    bridge = randomize(FormerToMobile(32, TOKEN_DIM, 2))
    y, z = features(rng, 32, 3, 7), tokens(rng)
    twin = convert(bridge, y, z, form_key=form_key)
    assert_equivalent(fold_time(run(bridge, y, z)), run(twin, fold_time(y), z), f"Former->Mobile {form_key}")


def test_former_to_mobile_softmax_is_stable_for_large_scores(
    rng, form_key, randomize, fold_time, assert_equivalent
):
    # The default TCHW twin writes the softmax over the tokens out as exp / sum; scores of a
    # few hundred would overflow exp without the max subtraction (exp(89) = inf in fp32).
    scale = 100.0
    bridge = randomize(FormerToMobile(32, TOKEN_DIM, 2))
    y, z = features(rng, 32, 3, 7) * scale, tokens(rng)
    default = to_deployable(bridge, y, z)
    scores = torch.matmul(default.keys(z), fold_time(y).reshape(default.query_shape))
    assert scores.abs().max() > 200, "the test needs scores large enough to overflow exp"
    out = run(convert(bridge, y, z, form_key=form_key), fold_time(y), z)
    assert torch.isfinite(out).all()
    # Compared at the inputs' scale: the outputs are O(scale), so fp32 rounding is too.
    assert_equivalent(fold_time(run(bridge, y, z)) / scale, out / scale, "Former->Mobile, large scores")


def test_block_diagonal_keeps_heads_apart():
    blocks = torch.arange(1.0, 13.0).reshape(2, 2, 3)
    full = block_diagonal(blocks, head_mask(2, 2, 3))
    assert full.shape == (4, 6)
    assert torch.equal(full[:2, :3], blocks[0]) and torch.equal(full[2:, 3:], blocks[1])
    assert not full[:2, 3:].any() and not full[2:, :3].any()


@pytest.mark.parametrize("with_tokens", [True, False], ids=["vmf", "mobile3d"])
def test_head(rng, with_tokens, form_key, randomize, fold_time, assert_equivalent):
    head = randomize(Head(16, 6, 64, 10, TOKEN_DIM if with_tokens else None, 0.3))
    x = features(rng, 16, 3, 4)
    z = tokens(rng) if with_tokens else None
    twin = convert(head, x, z, form_key=form_key)
    assert_equivalent(run(head, x, z), run(twin, fold_time(x), z), "head")


def test_whole_block(rng, form_key, randomize, fold_time, assert_equivalent):
    block = randomize(VideoMobileFormerBlock(16, 32, 72, 2, TOKEN_DIM, 2, 4, 2, 4))
    x, z = features(rng, 16, 2, 12), tokens(rng)
    twin = convert(block, x, z, form_key=form_key)
    ref_x, ref_z = run(block, x, z)
    dep_x, dep_z = run(twin, fold_time(x), z)
    assert_equivalent(fold_time(ref_x), dep_x, "block features")
    assert_equivalent(ref_z, dep_z, "block tokens")


def test_conversion_does_not_touch_the_block(rng, randomize):
    block = randomize(MobileBlock(16, 32, 36, 2, TOKEN_DIM, 4))
    before = {k: v.clone() for k, v in block.state_dict().items()}
    to_deployable(block, features(rng, 16, 2, 8), tokens(rng)[:, 0])
    after = block.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_every_twin_follows_the_protocol(form_key):
    for reference, twin in FORMS[form_key].twins.items():
        assert isinstance(twin, DeployableTwin), f"{twin.__name__} (for {reference.__name__})"


def test_unknown_block_is_refused(form_key):
    layout, spelling = form_key
    with pytest.raises(VmfError, match="no deployable form is known for Conv3d"):
        to_deployable(nn.Conv3d(3, 4, 1), torch.zeros(1, 3, 2, 4, 4), layout=layout, spelling=spelling)
