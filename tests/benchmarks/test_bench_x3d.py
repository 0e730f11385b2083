"""X3D-S as built for the Table 12 comparison, and one real run through ONNX Runtime and torch."""

import dataclasses
import json

import pytest
import torch

from vmf.benchmarks import cli
from vmf.benchmarks.x3d import X3D_S, X3D, X3DClip, build_x3d, round_width
from vmf.model import count_macs, count_params


pytestmark = pytest.mark.integration  # X3D-S built and exported


def test_x3d_s_matches_the_published_cost():
    model = X3D(X3D_S)
    assert count_params(model) == pytest.approx(3.79e6, rel=0.01)  # X3D-S: 3.76M (paper), 3.79M
    # 1.96 GMACs on 13x160x160 (X3D paper, Table 3); 9.66 G on the 64-frame clip vmf-bench times.
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
    net = build_x3d(dataclasses.replace(X3D_S, stage_depths=(1, 1, 1, 1))).eval()  # small: quick
    frames = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            X3DClip(net)(frames), net(frames.permute(1, 0, 2, 3).unsqueeze(0)), rtol=0, atol=0
        )


def test_real_run_on_onnxruntime_and_torch(tmp_path, capsys):
    """The real exporter, X3D-S's naive export and a checkpoint, timed by the real backends."""
    clip = [
        "--variant",
        "560M",
        "--frames",
        "8",
        "--resolution",
        "32",
        "--runs",
        "2",
        "--warmup",
        "1",
        "--threads",
        "1",
        "--cache",
        str(tmp_path),
        "--json",
    ]
    # Each row timed in its own process (the default).
    code = cli.main([*clip, "--backend", "onnxruntime", "--x3d"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and result["exports"] == {"exported": 2, "cached": 0}
    x3d, vmf = sorted(result["results"], key=lambda r: r["model"], reverse=True)
    assert x3d["model"] == "X3D-S" and x3d["status"] == "ok" and x3d["form"] == "naive"
    assert x3d["macs"] == count_macs(X3D(X3D_S), 8, 32) and x3d["runs"] == 2 and x3d["p50_ms"] > 0
    assert x3d["parity"].startswith("max rel err") and x3d["parity"].endswith(" ok")
    assert (vmf["status"], vmf["form"], vmf["converter"]) == ("ok", "deployable", "torch.onnx")
    assert vmf["parity"].startswith("max rel err") and vmf["parity"].endswith(" ok")
    assert 50 < vmf["peak_rss_mb"] < 2000  # the timing process's own peak
    # Second run, in-process: the ONNX files come from the cache; torch gets its .pt2.
    code = cli.main([*clip, "--backend", "onnxruntime", "torch", "--x3d", "--in-process"])
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and again["exports"] == {"exported": 1, "cached": 2}
    assert [(r["model"], r["backend"], r["status"]) for r in again["results"]] == [
        ("VMF-560M", "onnxruntime", "ok"),
        ("VMF-560M", "torch", "ok"),
        ("X3D-S", "onnxruntime", "ok"),
    ]
    assert again["results"][1]["form"] == "deployable"  # what torch really ran: the .pt2
