"""vmf.train.fast_backward: the CPU trainer's DY-ReLU and stem compute the reference function."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from vmf.model import build_model, get_variant
from vmf.model.blocks import Stem
from vmf.model.dyrelu import FrameDyReLU
from vmf.train.fast_backward import (
    ChannelsLastDepthwise,
    FastFrameDyReLU,
    FastStem,
    _TiledTemporalSum,
    _TwoSlopeMax,
    speed_up_training,
)


def test_two_slope_max_gradients_are_exact_in_double():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, 5, dtype=torch.double, requires_grad=True)
    a1 = torch.rand(2, 3, 4, 1, 1, dtype=torch.double) * 2
    a2 = torch.rand(2, 3, 4, 1, 1, dtype=torch.double) * 2 - 1
    a_max = torch.maximum(a1, a2).requires_grad_()
    a_min = torch.minimum(a1, a2).requires_grad_()
    assert torch.autograd.gradcheck(_TwoSlopeMax.apply, (x, a_max, a_min))
    assert torch.allclose(_TwoSlopeMax.apply(x, a_max, a_min), torch.maximum(x * a1, x * a2), atol=1e-12)


@pytest.mark.parametrize("frames", [8, 16])
def test_tiled_temporal_sum_gradients_are_exact_in_double(frames):
    torch.manual_seed(1)
    x = torch.randn(2, 3, frames, 4, 4, dtype=torch.double, requires_grad=True)
    w = torch.randn(3, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(_TiledTemporalSum.apply, (x, w))
    conv = torch.nn.functional.conv3d(x, w.view(3, 1, 4, 1, 1), stride=(4, 1, 1), groups=3)
    assert torch.allclose(_TiledTemporalSum.apply(x, w), conv)


def test_channels_last_depthwise_matches_the_reference_and_returns_contiguous():
    torch.manual_seed(6)
    ref = torch.nn.Conv3d(12, 12, 3, stride=(1, 2, 2), padding=1, groups=12, bias=False)
    fast = copy.deepcopy(ref)
    fast.__class__ = ChannelsLastDepthwise
    x = torch.randn(2, 12, 4, 14, 14)
    y_ref, g_ref = _grads(ref, x)
    y_fast, g_fast = _grads(fast, x)
    assert y_fast.is_contiguous()
    assert torch.allclose(y_fast, y_ref, atol=1e-5)
    assert torch.allclose(g_fast["weight"], g_ref["weight"], rtol=1e-4, atol=1e-5)


def _grads(module, *inputs):
    out = module(*inputs)
    out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))
    return out.detach(), {n: p.grad.clone() for n, p in module.named_parameters()}


def test_fast_dyrelu_matches_the_reference_in_value_and_gradient():
    torch.manual_seed(2)
    ref = FrameDyReLU(16, 8)
    fast = copy.deepcopy(ref)
    fast.__class__ = FastFrameDyReLU
    x = torch.randn(2, 16, 4, 7, 7)
    z0 = torch.randn(2, 8)
    y_ref, g_ref = _grads(ref, x, z0)
    y_fast, g_fast = _grads(fast, x, z0)
    assert torch.allclose(y_fast, y_ref, atol=1e-6)
    for name in g_ref:
        assert torch.allclose(g_fast[name], g_ref[name], rtol=1e-4, atol=1e-6), name


@pytest.mark.parametrize(
    "kernel,stride,padding,fast_path",
    [(8, 8, 0, True), (5, 4, 2, False), (4, 4, 1, False)],  # the 560M stem tiles; X3D's does not
)
def test_fast_stem_matches_the_reference_and_falls_back_when_the_kernel_does_not_tile(
    kernel, stride, padding, fast_path, monkeypatch
):
    torch.manual_seed(3)
    ref = Stem(8, kernel, stride, padding)
    fast = copy.deepcopy(ref)
    fast.__class__ = FastStem
    calls = []
    original = _TiledTemporalSum.apply
    monkeypatch.setattr(_TiledTemporalSum, "apply", lambda *a: calls.append(1) or original(*a))
    video = torch.randn(2, 3, 16, 12, 12)
    y_ref, g_ref = _grads(ref, video)
    y_fast, g_fast = _grads(fast, video)
    assert bool(calls) == fast_path
    assert torch.allclose(y_fast, y_ref, atol=1e-5)
    for name in g_ref:
        assert torch.allclose(g_fast[name], g_ref[name], rtol=1e-4, atol=1e-5), name


def test_a_whole_network_keeps_its_state_dict_and_trains_the_same():
    cfg = replace(get_variant("560M"), frames=16, resolution=32)
    torch.manual_seed(4)
    ref = build_model(cfg, num_classes=5).train()
    fast = copy.deepcopy(ref)
    changed = speed_up_training(fast)
    n_dyrelu = sum(isinstance(m, FrameDyReLU) for m in ref.modules())
    n_depthwise = sum(isinstance(m, ChannelsLastDepthwise) for m in fast.modules())
    assert n_depthwise == sum(cfg.blocks_per_stage)  # one 3x3x3 depthwise per block
    assert n_dyrelu > 0 and changed == n_dyrelu + 1 + n_depthwise  # every DY-ReLU, the stem, the depthwise
    assert isinstance(fast.stem.conv_t, torch.nn.Conv3d) and type(fast.stem.conv_t) is torch.nn.Conv3d
    assert list(fast.state_dict()) == list(ref.state_dict())
    video = torch.randn(2, 3, 16, 32, 32)
    labels = torch.tensor([1, 3])
    torch.manual_seed(5)  # the same dropout mask for both
    loss_ref = torch.nn.functional.cross_entropy(ref(video), labels)
    loss_ref.backward()
    torch.manual_seed(5)
    loss_fast = torch.nn.functional.cross_entropy(fast(video), labels)
    loss_fast.backward()
    assert abs(float(loss_fast) - float(loss_ref)) < 1e-5
    g_ref = torch.cat([p.grad.flatten() for p in ref.parameters()])
    g_fast = torch.cat([p.grad.flatten() for p in fast.parameters()])
    assert float((g_fast - g_ref).norm() / g_ref.norm()) < 1e-4
    # running statistics moved the same way
    for (name, a), b in zip(ref.state_dict().items(), fast.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), name


def test_the_cpu_trainer_trains_the_fast_forms(tmp_path):
    from vmf.train.recipe import TrainConfig
    from vmf.train.trainer import Run

    cfg = TrainConfig(
        data="synth",
        frames=16,
        resolution=32,
        epoch_size=4,
        val_size=2,
        device="cpu",
        out=str(tmp_path / "run"),
        ema=0.9,
    )
    trainer = Run(cfg, progress=False)
    kinds = {type(m) for m in trainer.model.modules()}
    assert {FastFrameDyReLU, FastStem, ChannelsLastDepthwise} <= kinds and FrameDyReLU not in kinds
    assert FastStem in {type(m) for m in trainer.ema.model.modules()}  # the average is a copy of it


def _step_speed_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "train_step_speed.py"
    spec = importlib.util.spec_from_file_location("train_step_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_step_speed_prints_both_rows_and_an_agreeing_first_step(capsys):
    script = _step_speed_script()
    argv = ["--frames", "16", "--resolution", "32", "--batch", "2", "--threads", "1", "--rounds", "1"]
    assert script.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("| ")]
    assert [r[0].strip() for r in rows[1:]] == ["PyTorch's own backward", "`vmf.train.fast_backward`"]
    # the ratio is of step times, i.e. the inverse of the clips/s (printed to 0.01, finer than the ms)
    ref_rate, fast_rate, ratio = float(rows[1][2]), float(rows[2][2]), float(rows[2][3])
    assert float(rows[1][3]) == 1.0 and ratio == pytest.approx(ref_rate / fast_rate, abs=0.006)
    loss_diff, grad_diff = (float(part.split()[-1]) for part in lines[-1].split(":", 1)[1].split(","))
    assert loss_diff < 1e-4 and grad_diff < 1e-2  # the same function, to float rounding


def test_train_step_speed_refuses_bad_numbers_and_variants(capsys):
    script = _step_speed_script()
    assert script.main(["--batch", "0"]) == 1
    assert script.main(["--variant", "9G", "--rounds", "1"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: --frames, --resolution, --batch, --threads and --rounds must be positive"
    assert err[1].startswith("error: ") and "9G" in err[1] and len(err) == 2
