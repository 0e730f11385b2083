"""X3D-S as built for the Table 12 comparison, and one real run through ONNX Runtime and torch."""

import json

import pytest
import torch

from vmf.benchmarks import cli
from vmf.benchmarks.x3d import X3D_S, X3D, X3DClip, build_x3d, round_width
from vmf.model import count_macs, count_params


def test_x3d_s_matches_the_published_cost():
    model = X3D(X3D_S)
    assert count_params(model) == pytest.approx(3.79e6, rel=0.01)  # X3D-S: 3.76M (paper), 3.79M
    # 1.96 GMACs on 13x160x160 (X3D paper, Table 3); the 9.66 G on 64 frames.
    assert count_macs(model, 13, 160) == pytest.approx(1.96e9, rel=0.01)
    assert count_macs(model, 64, 160) == pytest.approx(9.66e9, rel=0.005)


def test_structure():
    model = X3D(X3D_S)
    assert len(model.blocks) == sum(X3D_S.stage_depths) == 26
    widths = [b.conv_c.out_channels for b in model.blocks]
    assert widths[0] == 24 and widths[3] == 48 and widths[8] == 96 and widths[-1] == 192
    se = [b.se.fc1.out_channels if hasattr(b.se, "fc1") else 0 for b in model.blocks[:5]]
    # SE on every other block of each stage (from its first), 54 * 1/16 rounded up to 8.
    assert se == [8, 0, 8, 8, 0]
    assert [round_width(x) for x in (3.375, 13.5, 27.0)] == [8, 16, 32]


def test_clip_wrapper_is_the_same_network():
    net = build_x3d().eval()
    frames = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(X3DClip(net)(frames),
                                   net(frames.permute(1, 0, 2, 3).unsqueeze(0)), rtol=0, atol=0)


def test_real_run_on_onnxruntime_and_torch(tmp_path, capsys):
    """The real exporter, X3D-S's naive export and a checkpoint, timed by the real backends."""
    args = ["--variant", "560M", "--backend", "onnxruntime", "torch", "--x3d", "--frames", "8",
            "--resolution", "32", "--runs", "2", "--warmup", "1", "--threads", "1",
            "--cache", str(tmp_path), "--json"]
    code = cli.main(args)
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["exports"] == {"exported": 3, "cached": 0}
    rows = result["results"]
    by_model = {(r["model"], r["backend"]): r for r in rows}
    x3d = by_model[("X3D-S", "onnxruntime")]
    assert x3d["status"] == "ok" and x3d["form"] == "naive" and x3d["runs"] == 2
    assert x3d["macs"] == count_macs(X3D(X3D_S), 8, 32)
    assert x3d["p50_ms"] > 0 and x3d["parity"].startswith("max rel err")
    assert x3d["parity"].endswith(" ok")  # gated by the exporter's ONNX fp32 tolerance
    torch_row = by_model[("VMF-560M", "torch")]
    assert torch_row["status"] == "ok" and torch_row["device"] == "cpu"
    assert torch_row["form"] in ("reference", "deployable")
    vmf = by_model[("VMF-560M", "onnxruntime")]
    assert (vmf["status"], vmf["form"], vmf["converter"]) == ("ok", "deployable", "torch.onnx")
    assert vmf["parity"].startswith("max rel err") and vmf["parity"].endswith(" ok")
    assert code == 0
    # Second run: everything comes from the cache.
    assert cli.main(args) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["exports"] == {"exported": 0, "cached": 3}
    assert [r["status"] for r in again["results"]] == ["ok"] * 3
