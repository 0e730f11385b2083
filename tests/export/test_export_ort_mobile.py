"""ONNX Runtime Mobile (``--target ort``) and the partition counts of the phone forms.

The partition counts are ONNX Runtime's own checker's (Core ML MLProgram,
NNAPI) and the LiteRT interpreter's own DELEGATE nodes (XNNPACK), on VMF-560M
at 16 x 64 x 64 (the op set does not depend on the clip size).
"""

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

from vmf.contract import targets as registry
from vmf.export import export
from vmf.export import partitions as parts
from vmf.export.deployable import make_deployable
from vmf.export.deployable.ort_mobile_spelling import SpelledGELU, SpelledHardswish, SpelledLayerNorm
from vmf.export.metadata import read_embedded
from vmf.export.onnx import onnx_predictor, torch2onnx
from vmf.export.ort_format import read_operators
from vmf.export.parity import structured_clips
from vmf.model import VmfError, build_model, get_variant

FRAMES, RES = 16, 64


pytestmark = pytest.mark.integration  # ONNX Runtime Mobile conversions of real models


@pytest.fixture(scope="module")
def reference_560m():
    torch.manual_seed(0)
    return build_model(get_variant("560M")).eval()


@pytest.fixture(scope="module")
def ort_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("ort")
    lines = []
    report = export(
        "560M",
        targets=("ort",),
        precisions=None,
        frames=FRAMES,
        resolution=RES,
        out_dir=out,
        log=lines.append,
        warn=lines.append,
    )
    return report, out / "ort", lines


def test_spelled_ops_match_torch(rng):
    x = torch.linspace(-12, 12, 20001)
    assert (SpelledGELU()(x) - nn.GELU()(x)).abs().max() <= 2e-6  # A&S 7.1.26: 1.5e-7 on erf
    assert torch.allclose(SpelledHardswish()(x), nn.Hardswish()(x), atol=1e-6, rtol=0)
    norm = nn.LayerNorm(128)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5, generator=rng)
        norm.bias.normal_(generator=rng)
    z = torch.randn(1, 6, 128, generator=rng) * 3 + 1
    assert torch.allclose(SpelledLayerNorm(norm)(z), norm(z), atol=1e-5, rtol=0)


def test_mobile_form_equals_the_reference(reference_560m, randomize, assert_equivalent):
    model = randomize(build_model(get_variant("560M")))
    mobile = make_deployable(model, frames=FRAMES, resolution=RES, spelling="ort_mobile")
    clip = torch.randn(FRAMES, 3, RES, RES, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert_equivalent(model(clip.permute(1, 0, 2, 3)[None]), mobile(clip), "ort_mobile form")
    with pytest.raises(VmfError, match="the ort_mobile spelling has no THWC form"):
        make_deployable(model, frames=FRAMES, resolution=RES, layout="THWC", spelling="ort_mobile")


def test_ort_target_writes_mobile_onnx_ort_and_config_with_the_card(ort_export):
    report, folder, _ = ort_export
    stem = f"vmf-560m_t{FRAMES}_r{RES}_fp32"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [
            f"{stem}.ort",
            f"{stem}.json",
            f"{stem}.required_operators.config",
            f"{stem}_mobile.onnx",
            f"{stem}_mobile.json",
        ]
    )
    card = json.loads((folder / f"{stem}.json").read_text())
    assert read_embedded(folder / f"{stem}.ort") == card  # the .ort carries its own card
    assert read_embedded(folder / f"{stem}_mobile.onnx")["variant"] == "560M"
    assert card["target"] == "ort" and card["ort_config"] == f"{stem}.required_operators.config"
    assert card["parity"]["passed"] and card["parity"]["max_rel_err"] <= 1e-4
    config = folder / f"{stem}.required_operators.config"
    assert f"model card {stem}.json" in config.read_text()
    ops = set().union(*read_operators(config).values())
    assert {"Conv", "Softmax", "MatMul"} <= ops and not ops & {"Gather", "Flatten", "Gelu", "Erf"}


def test_ort_round_trip_agrees_with_the_onnx(ort_export):
    _, folder, _ = ort_export
    stem = f"vmf-560m_t{FRAMES}_r{RES}_fp32"
    clip = structured_clips(1, FRAMES, RES, seed=91)[0]  # a clip the exporter never saw
    from_ort = onnx_predictor(folder / f"{stem}.ort")(clip)
    from_onnx = onnx_predictor(folder / f"{stem}_mobile.onnx")(clip)
    assert from_ort.shape == (1, 400)
    np.testing.assert_allclose(from_ort, from_onnx, atol=1e-5, rtol=0)


def test_checker_counts_one_partition_for_both_phone_eps(ort_export):
    report, folder, lines = ort_export
    stem = f"vmf-560m_t{FRAMES}_r{RES}_fp32"
    counts = parts.ort_partitions(folder / f"{stem}_mobile.onnx")  # independently of the card
    for ep in ("coreml_mlprogram", "nnapi"):
        assert counts[ep].partitions == 1 and counts[ep].coverage == 1.0, counts[ep]
        assert counts[ep].verdict == "should work well"
    card = json.loads((folder / f"{stem}.json").read_text())["partitions"]
    assert card["coreml_mlprogram"]["partitions"] == 1 and card["nnapi"]["partitions"] == 1
    assert card["within_budget"] and card["budget"] == {"coreml_mlprogram": 1, "nnapi": 3}
    assert any("partitions coreml_mlprogram 1, nnapi 1" in line for line in lines)


def test_a_reintroduced_unsupported_op_is_named_with_its_place(reference_560m, tmp_path):
    """The server spelling (Flatten, ReduceSum, LayerNormalization...) fails the phone budget."""
    server = make_deployable(reference_560m, frames=8, resolution=32)
    path = torch2onnx(server, torch.zeros(8, 3, 32, 32), tmp_path / "server.onnx")
    counts = parts.ort_partitions(path)
    assert counts["coreml_mlprogram"].partitions > 1 and counts["nnapi"].partitions > 3
    assert counts["coreml_mlprogram"].unsupported_ops == ["Flatten"]  # DY-ReLU's frame means
    assert counts["coreml_mlprogram"].first_unsupported["where"] == "block 0, mobile"
    assert "LayerNormalization" in counts["nnapi"].unsupported_ops
    with pytest.raises(
        VmfError,
        match=r"Core ML MLProgram EP would run it in \d+ partitions "
        r"\(budget 1\); first unsupported op Flatten in block 0, "
        r"mobile \(/blocks.0/mobile/Flatten\)",
    ):
        parts.check_budget(counts, "ort", "server.onnx")
    # One mobile twin swapped back to the server spelling is caught the same way.
    mobile = make_deployable(reference_560m, frames=8, resolution=32, spelling="ort_mobile")
    mobile.blocks[2].former.ffn[1] = nn.GELU()
    counts = parts.ort_partitions(torch2onnx(mobile, torch.zeros(8, 3, 32, 32), tmp_path / "gelu.onnx"))
    assert counts["coreml_mlprogram"].partitions == 1
    assert counts["nnapi"].unsupported_ops == ["Gelu"]
    assert counts["nnapi"].first_unsupported["where"] == "block 2, former.ffn.1"


def test_over_budget_export_fails_in_one_line_unless_allowed(monkeypatch, tmp_path):
    ort = registry.get("ort")
    monkeypatch.setitem(registry.REGISTRY, "ort", dataclasses.replace(ort, partition_budget={"nnapi": 0}))
    with pytest.raises(
        VmfError, match="NNAPI EP would run it in 1 partitions .budget 0.; --allow-partitions keeps it"
    ):
        export(
            "560M",
            targets=("ort",),
            frames=8,
            resolution=32,
            out_dir=tmp_path,
            log=lambda m: None,
            warn=lambda m: None,
        )
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    warnings = []
    report = export(
        "560M",
        targets=("ort",),
        frames=8,
        resolution=32,
        out_dir=tmp_path,
        allow_partitions=True,
        log=lambda m: None,
        warn=warnings.append,
    )
    assert any("exceeds its partition budget" in w for w in warnings)
    assert report.artifacts[-1].path.suffix == ".ort"
    card = json.loads(report.artifacts[-1].sidecar.read_text())["partitions"]
    assert card["within_budget"] is False


def test_where_in_network_reads_onnx_and_litert_names():
    assert parts.where_in_network("/blocks.3/former/ffn/ffn.1/Gelu") == "block 3, former.ffn.1"
    assert parts.where_in_network("/head/Flatten") == "head"
    scope = (
        "vmf.export.deployable.network.DeployableVideoMobileFormer/vmf.export.deployable.network."
        "DeployBlock_4/vmf.export.deployable.channels_last.ChannelsLastFormerToMobile_bridge_f2m;11"
    )
    assert parts.where_in_network(scope) == "block 4, bridge_f2m"


# -- LiteRT: XNNPACK partitions read back from the interpreter ------------------------------
class _Repeat(nn.Module):
    """What the bridges did before: a ``repeat``, which litert-torch lowers to BROADCAST_TO."""

    def forward(self, x):
        return torch.relu(x.reshape(8, 4).repeat(1, 2) * 2.0) + 1.0


class _BlockDiagonal(nn.Module):
    """The bridges' block-diagonal token matrix, as they build it now."""

    def __init__(self):
        super().__init__()
        from vmf.export.deployable.channels_last import head_mask

        self.register_buffer("mask", head_mask(2, 4, 4), persistent=False)

    def forward(self, x):
        from vmf.export.deployable.channels_last import block_diagonal

        return torch.relu(block_diagonal(x.reshape(2, 4, 4), self.mask) * 2.0) + 1.0


def _tflite(module, tmp_path, name):
    pytest.importorskip("litert_torch", reason="the TFLite extra is not installed")
    from vmf.export.tflite import torch2tflite

    return torch2tflite(module.eval(), torch.randn(2, 4, 4), tmp_path / name)


def test_xnnpack_partitions_are_read_back_and_broadcast_to_is_caught(tmp_path):
    cut = parts.xnnpack_partitions(_tflite(_Repeat(), tmp_path, "repeat.tflite"))
    assert cut.partitions == 2 and cut.unsupported_ops == ["BROADCAST_TO"]
    assert cut.first_unsupported["op"] == "BROADCAST_TO"
    with pytest.raises(
        VmfError,
        match="XNNPACK delegate would run it in 2 partitions .budget 1.; first unsupported op BROADCAST_TO",
    ):
        parts.check_budget({"xnnpack": cut}, "tflite", "repeat.tflite")
    whole = parts.xnnpack_partitions(_tflite(_BlockDiagonal(), tmp_path, "diag.tflite"))
    assert whole.partitions == 1 and whole.unsupported_ops == [] and whole.coverage == 1.0
