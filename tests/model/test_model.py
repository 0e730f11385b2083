"""Reference model: shapes, gradients, FL-DyReLU, tokens, Table 1/2 budgets."""

from __future__ import annotations

import pytest
import torch

from vmf.model import (
    VARIANTS,
    UnknownVariantError,
    VmfError,
    build_model,
    count_macs,
    count_params,
    get_variant,
)
from vmf.model.bridges import Former, FormerToMobile, MobileToFormer
from vmf.model.dyrelu import FrameDyReLU
from vmf.model.summary import TOLERANCE, summary_rows

SMALL_RES = 48  # enough for four stride-2 stages; keeps CPU tests fast


def small_clip(cfg, batch=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = 2 * cfg.temporal_stride  # two output frames after the stem
    return torch.randn(batch, 3, frames, SMALL_RES, SMALL_RES, generator=g)


@pytest.fixture(params=list(VARIANTS), ids=list(VARIANTS))
def variant(request):
    return request.param


@pytest.mark.parametrize("baseline", [False, True], ids=["vmf", "mobile3d"])
def test_output_shape_and_finite(variant, baseline):
    torch.manual_seed(0)
    model = build_model(variant, baseline=baseline, num_classes=17).eval()
    with torch.no_grad():
        logits = model(small_clip(model.cfg, batch=2))
    assert logits.shape == (2, 17)
    assert torch.isfinite(logits).all(), "output included NaN/inf"


def test_backward_reaches_every_parameter(variant):
    torch.manual_seed(0)
    model = build_model(variant, num_classes=10).train()
    loss = model(small_clip(model.cfg, batch=2)).logsumexp(dim=1).sum()
    loss.backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not no_grad, f"parameters without gradient: {no_grad[:5]}"


def test_baseline_has_no_tokens_former_or_bridges():
    model = build_model("1G", baseline=True)
    assert model.tokens is None
    kinds = {type(m) for m in model.modules()}
    assert not kinds & {Former, MobileToFormer, FormerToMobile, FrameDyReLU}


def test_six_tokens_of_dim_128(variant):
    model = build_model(variant)
    assert tuple(model.tokens.shape) == (6, 128)
    formers = [m for m in model.modules() if isinstance(m, Former)]
    assert len(formers) == sum(VARIANTS[variant].blocks_per_stage)  # one Former per block (Fig. 2)
    seen = []
    hook = formers[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with torch.no_grad():
        model.eval()(small_clip(model.cfg, batch=2))
    hook.remove()
    assert seen == [torch.Size([2, 6, 128])]


def _randomised_dyrelu(channels=8, token_dim=16):
    torch.manual_seed(1)
    act = FrameDyReLU(channels, token_dim)
    for lin in (act.fc1, act.fc2):  # the default init gives a near-plain ReLU; make it dynamic
        torch.nn.init.normal_(lin.weight, 0.0, 0.5)
        torch.nn.init.normal_(lin.bias, 0.0, 0.5)
    return act


def test_frame_dyrelu_differs_between_frames_and_matches_for_identical_frames():
    act = _randomised_dyrelu()
    z0 = torch.randn(1, 16)
    frames = torch.randn(1, 8, 3, 5, 5)  # frames 0, 1, 2 differ
    frames[:, :, 2] = frames[:, :, 0]  # frame 2 is a copy of frame 0
    a1, a2 = act.coefficients(frames, z0)
    assert a1.shape == (1, 8, 3, 1, 1)
    assert not torch.allclose(a1[:, :, 0], a1[:, :, 1])
    assert not torch.allclose(a2[:, :, 0], a2[:, :, 1])
    torch.testing.assert_close(a1[:, :, 0], a1[:, :, 2], atol=0, rtol=0)
    torch.testing.assert_close(a2[:, :, 0], a2[:, :, 2], atol=0, rtol=0)
    # the token also conditions the coefficients
    b1, _ = act.coefficients(frames, z0 + 1.0)
    assert not torch.allclose(a1, b1)


def test_frame_dyrelu_is_max_of_two_slopes():
    act = _randomised_dyrelu()
    x, z0 = torch.randn(2, 8, 3, 4, 4), torch.randn(2, 16)
    a1, a2 = act.coefficients(x, z0)
    assert a1.min() >= 0 and a1.max() <= 2 and a2.min() >= -1 and a2.max() <= 1
    torch.testing.assert_close(act(x, z0), torch.maximum(a1 * x, a2 * x))


@pytest.mark.parametrize("baseline", [False, True], ids=["vmf", "mobile3d"])
def test_changing_one_frame_changes_the_logits(variant, baseline):
    torch.manual_seed(0)
    model = build_model(variant, baseline=baseline).eval()
    clip = small_clip(model.cfg)
    stride = model.cfg.temporal_stride
    with torch.no_grad():
        base = model(clip)
        for t in (0, stride):  # frames the stem reads (560M never reads 8t+3..8t+5)
            changed = clip.clone()
            changed[:, :, t] += 1.0
            assert not torch.allclose(model(changed), base, atol=1e-6), f"frame {t} ignored"


def test_tokens_see_the_whole_clip():
    """A change in the last frame the stem reads reaches the tokens of the last block."""
    torch.manual_seed(0)
    model = build_model("1G").eval()
    clip = small_clip(model.cfg)
    tokens = []
    hook = model.blocks[-1].former.register_forward_hook(lambda m, i, o: tokens.append(o.clone()))
    with torch.no_grad():
        model(clip)
        changed = clip.clone()
        changed[:, :, 6] += 1.0  # T=8, s_t=4: output frame 1 reads frames 2..6
        model(changed)
    hook.remove()
    assert not torch.allclose(tokens[0], tokens[1], atol=1e-6)


def test_unknown_variant_names_the_valid_ones():
    with pytest.raises(UnknownVariantError) as err:
        build_model("3G")
    message = str(err.value)
    assert "3G" in message and all(name in message for name in VARIANTS)
    assert isinstance(err.value, VmfError)
    assert get_variant("1G") is VARIANTS["1G"]


def test_bad_num_classes_is_a_clear_error():
    with pytest.raises(VmfError, match="num_classes"):
        build_model("560M", num_classes=0)


# What the paper's text fixes for every variant (§3, "Network Specification"): s_t = 8 at
# the stem of 560M and 4 elsewhere, input 172 px for 560M and 224 px elsewhere, six global
# tokens of dimension 128, four stages each starting with a spatial stride of 2.
PAPER_STRIDE = {"560M": 8, "1G": 4, "2G": 4, "5G": 4}
PAPER_RESOLUTION = {"560M": 172, "1G": 224, "2G": 224, "5G": 224}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_built_network_has_the_structure_of_section_3(variant):
    model = build_model(variant).eval()
    cfg = model.cfg
    assert cfg.resolution == PAPER_RESOLUTION[variant] and cfg.frames == 64
    assert tuple(model.tokens.shape) == (6, 128)
    shapes = []  # measured, not read from the config: what each part outputs on a clip
    hooks = [model.stem.register_forward_hook(lambda m, i, o: shapes.append(("stem", o.shape)))]
    for block in model.blocks:
        hooks.append(
            block.register_forward_hook(
                lambda m, i, o: shapes.append(("block", (o[0] if isinstance(o, tuple) else o).shape))
            )
        )
    with torch.no_grad():
        model(torch.zeros(1, 3, 16, 64, 64))
    for hook in hooks:
        hook.remove()
    (_, stem), blocks = shapes[0], [shape for _, shape in shapes[1:]]
    assert stem[2] == 16 // PAPER_STRIDE[variant]  # the stem's temporal stride
    assert stem[1] == cfg.base_channels  # #Dim
    assert all(b[2] == stem[2] for b in blocks)  # no temporal stride after the stem
    # Stages: runs of blocks at one spatial size; each run starts by halving it.
    sizes = [stem[-1]] + [b[-1] for b in blocks]
    starts = [i for i in range(1, len(sizes)) if sizes[i] == sizes[i - 1] // 2]
    assert len(starts) == 4 and all(
        sizes[i] in (sizes[i - 1], sizes[i - 1] // 2) for i in range(1, len(sizes))
    )
    depths = [b - a for a, b in zip(starts, starts[1:] + [len(sizes)])]
    assert tuple(depths) == tuple(cfg.blocks_per_stage)  # #Blocks, as the network realises it
    assert [blocks[i - 1][1] for i in starts] == list(cfg.stage_channels)


def test_params_and_macs_within_5_percent_of_the_paper():
    rows = summary_rows()
    checked = 0
    for row in rows:
        if row.paper_params:
            assert abs(row.params / row.paper_params - 1) <= TOLERANCE, row
            checked += 1
        if row.paper_macs:
            assert abs(row.macs / row.paper_macs - 1) <= TOLERANCE, row
            checked += 1
    assert checked == 4 + 4 + 3  # VMF params and MACs; Mobile3D-1G/2G/5G MACs (Table 2)


def test_macs_scale_with_frames_and_count_the_attention():
    model = build_model("1G")
    full, half = count_macs(model, frames=64), count_macs(model, frames=32)
    assert 0.45 < half / full < 0.55
    baseline = build_model("1G", baseline=True)
    assert count_macs(model) > count_macs(baseline)  # bridges + Former are counted
    assert count_params(model) == 4_714_406  # 1G: Table 1's 4.7M, +0.3 %
