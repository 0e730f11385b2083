"""PyTorch target: a tiny VMF exported to a ``torch.export`` program (``.pt2``) through the real API.

One export (module fixture) of a tiny VMF checkpoint (4 blocks, 8 frames, 32^2)
with non-trivial weights; the written file is loaded back with
``torch.export.load`` and held to the deployable module it was captured from
(bit for bit, up to 1e-5) and to the reference 5-D network (the fp32 gate).
"""

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

from vmf.contract import targets as registry
from vmf.contract.card import CARD_FILE, read_sidecar, validate_sidecar
from vmf.export import export
from vmf.export.deployable import make_deployable
from vmf.export.metadata import read_embedded
from vmf.export.parity import structured_clips
from vmf.model import VARIANTS, VmfError, build_model, save_checkpoint

# torch.export captures, like ExecuTorch lowering: the full suite, not the fast loop
pytestmark = pytest.mark.integration

FRAMES, RES, CLASSES = 8, 32, 10

TINY = dataclasses.replace(
    VARIANTS["560M"],
    blocks_per_stage=(1, 1, 1, 1),
    base_channels=8,
    head_hidden=64,
    frames=FRAMES,
    resolution=RES,
)


def _non_trivial(model: nn.Module) -> nn.Module:
    """BN statistics and LayerNorm/Linear weights away from their initial values, so a wrong
    fold or a program that drops a layer shows in the logits."""
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)
            elif isinstance(m, (nn.Linear, nn.LayerNorm)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def tiny_pt2(tmp_path_factory):
    torch.manual_seed(0)
    model = _non_trivial(build_model(TINY, num_classes=CLASSES))
    root = tmp_path_factory.mktemp("torch_program")
    classes = [f"class{i}" for i in range(CLASSES)]
    ckpt = save_checkpoint(model, root / "tiny.pt", classes=classes)
    lines = []
    report = export(
        None, targets=("torch",), weights=ckpt, out_dir=root / "out", log=lines.append, warn=lines.append
    )
    (artifact,) = report.artifacts
    return model, artifact, lines


def _reference(model, clip: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(clip).permute(1, 0, 2, 3)[None]).numpy()[0]


def test_pt2_is_written_beside_its_sidecar_with_the_same_card_inside(tiny_pt2):
    _, art, lines = tiny_pt2
    assert art.path.name == f"vmf-560m_t{FRAMES}_r{RES}_fp32.pt2" and art.path.parent.name == "torch"
    card = read_sidecar(art.path)
    inside = read_embedded(art.path)
    assert inside == card  # the card inside the archive is the sidecar
    validate_sidecar(inside, "the card inside")
    extra = {CARD_FILE: ""}
    torch.export.load(str(art.path), extra_files=extra)  # where it is: torch.export's extra files
    assert validate_sidecar(json.loads(extra[CARD_FILE])) == card
    assert (card["target"], card["converter"], card["form"]) == ("torch", "torch.export", "deployable")
    assert card["input_layout"] == "TCHW" and card["input_shape"] == [FRAMES, 3, RES, RES]
    assert card["input_name"] == "clip" and card["labels"] == [f"class{i}" for i in range(CLASSES)]
    parity = card["parity"]
    assert parity["checked"] and parity["passed"] and parity["threshold"] == 1e-4
    assert any("torch.export captured the deployable form" in line for line in lines)


def test_loaded_program_is_the_deployable_module_and_close_to_the_reference(tiny_pt2):
    model, art, _ = tiny_pt2
    program = torch.export.load(str(art.path)).module()
    deployable = make_deployable(model, frames=FRAMES, layout="TCHW", resolution=RES)
    clip = structured_clips(1, FRAMES, RES, seed=99)[0]  # not one the exporter checked
    x = torch.from_numpy(clip)
    with torch.no_grad():
        loaded, direct = program(x).numpy()[0], deployable(x).numpy()[0]
    np.testing.assert_allclose(loaded, direct, atol=1e-5, rtol=0)
    reference = _reference(model, clip)
    scale = np.abs(reference).max()
    assert scale > 0.5  # non-trivial weights: a wrong program cannot hide under the bound
    assert np.abs(loaded - reference).max() <= 1e-4 * scale


def test_parity_is_judged_on_the_program_loaded_from_the_file(tiny_pt2, tmp_path, monkeypatch):
    """A program whose logits are wrong fails the gate, and nothing is left in --out."""
    from vmf.export import torch_program

    model, _, _ = tiny_pt2
    real = torch_program.program_predictor

    def negated(path):
        predict = real(path)
        return lambda clip: -predict(clip)

    monkeypatch.setattr(torch_program, "program_predictor", negated)
    ckpt = save_checkpoint(model, tmp_path / "m.pt", classes=[f"c{i}" for i in range(CLASSES)])
    out = tmp_path / "out"
    with pytest.raises(VmfError, match=r"parity check failed for .*\.pt2: max rel err .* > 1e-04"):
        export(None, targets=("torch",), weights=ckpt, out_dir=out, log=lambda m: None, warn=lambda m: None)
    assert not list(out.rglob("*.pt2")) and not list(out.rglob("*.json"))


def test_the_record_plans_fp32_only_and_with_all():
    assert registry.plan(("torch",), None, None, "deployable", None) == [
        registry.Job("torch", ("fp32",), None)
    ]
    with pytest.raises(
        VmfError, match=r"--target torch does not support --precision int8 \(supported: fp32\)"
    ):
        registry.plan(("torch",), ("int8",), None, "deployable", None)
    with pytest.raises(VmfError, match=r"naive form exports to .* \(PyTorch takes the deployable form\)"):
        registry.plan(("torch",), None, None, "naive", None)
    assert "torch" in registry.all_names()
    assert registry.by_suffix(".PT2").name == "torch" and registry.timed_by("torch").name == "torch"
