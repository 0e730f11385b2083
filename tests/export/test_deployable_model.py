"""Whole-model equivalence and structure of the deployable form.

Every variant and every Mobile3D baseline, at a short clip and at the paper's
64 frames and resolution: fp32 logits within 1e-4 of the reference. The
structural tests run the deployable form under a ``TorchFunctionMode`` that
sees every torch call, so a rank-5 intermediate inside a forward (not only
at module boundaries) fails the test.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from vmf.export.deployable import FORMS, DeployableVideoMobileFormer, make_deployable
from vmf.model import VARIANTS, VmfError, build_model

CASES = [(v, b) for v in VARIANTS for b in (False, True)]
IDS = [f"{v}-{'mobile3d' if b else 'vmf'}" for v, b in CASES]
SHORT_RES = 64


def reference_input(clip: torch.Tensor, layout: str) -> torch.Tensor:
    """Deployable input ``[T, 3, R, R]`` / ``[T, R, R, 3]`` -> reference ``(1, 3, T, R, R)``."""
    tchw = clip if layout == "TCHW" else clip.permute(0, 3, 1, 2)
    return tchw.permute(1, 0, 2, 3)[None]


def check_equivalence(model, deployable, layout, seed, assert_equivalent, what):
    g = torch.Generator().manual_seed(seed)
    clip = torch.randn(deployable.input_shape, generator=g)
    with torch.no_grad():
        expected = model(reference_input(clip, layout))
        got = deployable(clip)
    assert got.shape == (1, model.num_classes)
    assert expected.abs().max() > 0.5, "logits too small for the 1e-4 bound to mean anything"
    assert_equivalent(expected, got, what)


class CallRecorder(TorchFunctionMode):
    """Every torch function/method called inside the block, with the ranks of its tensor outputs."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, tuple[int, ...], tuple, dict]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        ranks = tuple(o.dim() for o in outs if isinstance(o, torch.Tensor))
        self.calls.append((getattr(func, "__name__", str(func)), ranks, args, kwargs))
        return out


# THWC differs only in the stem's gather (tested per stride in the block tests): two cases here.
SHORT_CASES = [(v, b, "TCHW") for v, b in CASES] + [("560M", False, "THWC"), ("1G", True, "THWC")]


@pytest.mark.parametrize(
    "variant,baseline,layout",
    SHORT_CASES,
    ids=[f"{i}-TCHW" for i in IDS] + ["560M-vmf-THWC", "1G-mobile3d-THWC"],
)
def test_equivalent_at_short_clip(variant, baseline, layout, randomize, assert_equivalent):
    model = randomize(build_model(variant, baseline=baseline), seed=1)
    frames = 2 * model.cfg.temporal_stride
    deployable = make_deployable(model, frames=frames, layout=layout, resolution=SHORT_RES)
    assert deployable.input_shape == (
        (frames, 3, SHORT_RES, SHORT_RES) if layout == "TCHW" else (frames, SHORT_RES, SHORT_RES, 3)
    )
    check_equivalence(model, deployable, layout, 2, assert_equivalent, f"{variant} T={frames}")


@pytest.mark.parametrize("variant,baseline", CASES, ids=IDS)
def test_equivalent_at_64_frames_full_resolution(variant, baseline, randomize, assert_equivalent):
    model = randomize(build_model(variant, baseline=baseline), seed=3)
    deployable = make_deployable(model)
    assert deployable.input_shape == (64, 3, model.cfg.resolution, model.cfg.resolution)
    check_equivalence(model, deployable, "TCHW", 4, assert_equivalent, f"{variant} T=64")


@pytest.fixture(scope="module")
def small_vmf():
    torch.manual_seed(0)
    return build_model("560M").eval()


def test_attributes_and_mode(small_vmf):
    dep = make_deployable(small_vmf, frames=16, layout="THWC", resolution=32)
    assert isinstance(dep, DeployableVideoMobileFormer)
    assert (dep.input_layout, dep.input_shape) == ("THWC", (16, 32, 32, 3))
    assert (dep.frames, dep.resolution, dep.num_classes) == (16, 32, 400)
    assert (dep.variant, dep.baseline) == ("560M", False)
    assert not dep.training and not any(m.training for m in dep.modules())
    assert not any(p.requires_grad for p in dep.parameters())
    default = make_deployable(small_vmf)
    assert (default.frames, default.resolution, default.input_layout) == (64, 172, "TCHW")


@pytest.mark.parametrize("layout,spelling", list(FORMS), ids=[f"{lay}-{sp}" for lay, sp in FORMS])
@pytest.mark.parametrize("variant,baseline", [("560M", False), ("1G", True)], ids=["vmf", "mobile3d"])
def test_structure_is_rank4_with_every_block_converted(variant, baseline, layout, spelling):
    model = build_model(variant, baseline=baseline)
    dep = make_deployable(
        model, frames=2 * model.cfg.temporal_stride, resolution=64, layout=layout, spelling=spelling
    )
    reference_types = {type(m) for m in model.modules()}
    for name, m in dep.named_modules():
        assert not isinstance(m, (nn.Conv3d, nn.modules.batchnorm._BatchNorm, nn.Dropout)), name
        assert not type(m).__module__.startswith("vmf.model"), f"{name} is a reference block"
        assert type(m) not in reference_types or type(m).__module__.startswith("torch.nn"), name
    recorder = CallRecorder()
    with torch.no_grad(), recorder:
        dep(torch.randn(dep.input_shape))
    names = {name for name, *_ in recorder.calls}
    # DY-ReLU's max(x a1, x a2) is a maximum in TCHW, x a2 + relu(x (a1 - a2)) in THWC (int8 TFLite).
    dyrelu = {"maximum"} if layout == "TCHW" else {"relu"}
    attention = {"bmm"} if spelling == "xnnpack" else {"matmul"}  # XNNPACK's mm wants equal batches
    expected = {"conv2d"} if baseline else {"conv2d", "softmax"} | attention | dyrelu
    assert expected <= names, f"the rewrite's ops did not run: {expected - names}"
    assert not names & {"conv3d", "einsum", "batch_norm"}, names & {"conv3d", "einsum", "batch_norm"}
    too_big = [(name, ranks) for name, ranks, *_ in recorder.calls if ranks and max(ranks) > 4]
    assert not too_big, f"rank > 4 activations: {too_big[:5]}"
    for name, _, args, kwargs in recorder.calls:
        if name == "softmax":
            dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
            assert dim in (-1, args[0].dim() - 1), "Softmax must run on the last axis"


def test_no_hooks_and_reference_untouched(small_vmf):
    before = {k: v.clone() for k, v in small_vmf.state_dict().items()}
    dep = make_deployable(small_vmf, frames=16, resolution=32)
    for module in list(dep.modules()) + list(small_vmf.modules()):
        assert not (module._forward_hooks or module._forward_pre_hooks or module._backward_hooks)
    after = small_vmf.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.device.type == "cpu" for p in small_vmf.parameters())  # the meta pass used a copy
    assert dep.stem.convs[0].weight.data_ptr() not in {p.data_ptr() for p in small_vmf.parameters()}


def test_model_in_training_mode_gives_its_eval_form(randomize, assert_equivalent):
    model = randomize(build_model("1G")).train()
    dep = make_deployable(model, frames=8, resolution=48)
    assert model.training and all(m.training for m in model.modules())  # mode untouched
    clip = torch.randn(dep.input_shape)
    with torch.no_grad():
        got = dep(clip)
        expected = model.eval()(reference_input(clip, "TCHW"))
    assert_equivalent(expected, got, "train-mode model")


def test_traces_with_static_shapes(small_vmf):
    dep = make_deployable(small_vmf, frames=16, resolution=32)
    clip = torch.randn(dep.input_shape)
    traced = torch.jit.trace(dep, clip)  # coremltools' route
    with torch.no_grad():
        torch.testing.assert_close(traced(clip), dep(clip), atol=1e-6, rtol=0)
    exported = torch.export.export(dep, (clip,))  # litert-torch's route
    ranks = [
        len(n.meta["val"].shape) for n in exported.graph.nodes if isinstance(n.meta.get("val"), torch.Tensor)
    ]
    assert ranks and max(ranks) <= 4


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"frames": 12}, "multiple of the stem's temporal stride 8"),
        ({"frames": 0}, "frames must be a positive integer"),
        ({"frames": 16.0}, "frames must be a positive integer"),
        ({"layout": "NCTHW"}, "unknown input layout 'NCTHW'; valid layouts: TCHW, THWC"),
        ({"resolution": -1}, "resolution must be a positive integer"),
    ],
)
def test_bad_arguments_raise_one_clear_error(small_vmf, kwargs, message):
    with pytest.raises(VmfError, match=message):
        make_deployable(small_vmf, **kwargs)


def test_refuses_what_is_not_the_model():
    with pytest.raises(VmfError, match="needs a VideoMobileFormer, got Linear"):
        make_deployable(nn.Linear(2, 2))
