"""The ExecuTorch (xnnpack) spelling of the deployable form is weight-exact, like the others.

No ExecuTorch needed: this checks the arithmetic of ``deploy_xnnpack``'s twins
against the reference network (the lowering is tested in test_export_executorch).
"""

import dataclasses

import pytest
import torch

from vmf.export.deployable import make_deployable
from vmf.model import VARIANTS, VmfError, build_model


@pytest.mark.parametrize(
    "variant, baseline, frames",
    [
        ("560M", False, 16),  # k_t = s_t = 8: one stem tap group, no zero frames in the stem
        ("1G", False, 8),  # k_t = 5, s_t = 4, padding 2: stem groups shifted by zero frames
        ("1G", True, 8),  # Mobile3D: no tokens, plain ReLU
    ],
)
def test_xnnpack_spelling_matches_the_reference(variant, baseline, frames, randomize, assert_equivalent):
    cfg = dataclasses.replace(
        VARIANTS[variant], blocks_per_stage=(1, 1, 1, 1), base_channels=8, head_hidden=64
    )
    model = randomize(build_model(cfg, baseline=baseline, num_classes=10), seed=2)
    clip = torch.randn(1, 3, frames, 32, 32, generator=torch.Generator().manual_seed(0))
    twin = make_deployable(model, frames=frames, resolution=32, spelling="xnnpack")
    with torch.no_grad():
        assert_equivalent(model(clip), twin(clip[0].transpose(0, 1)), f"{variant} xnnpack")


def test_unknown_spelling_is_one_error():
    model = build_model(VARIANTS["560M"], num_classes=10)
    with pytest.raises(VmfError, match="unknown spelling 'tflite'"):
        make_deployable(model, frames=8, resolution=32, spelling="tflite")
