"""scripts/profile_ops.py: per-op kernel time from the runtimes' own profilers."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "profile_ops.py"


@pytest.fixture(scope="module")
def profile_ops():
    spec = importlib.util.spec_from_file_location("profile_ops", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory):
    from vmf.export import export

    out = tmp_path_factory.mktemp("profile")
    report = export(
        "560M",
        targets=("onnx",),
        frames=8,
        resolution=64,
        out_dir=out,
        log=lambda m: None,
        warn=lambda m: None,
    )
    return report.artifacts[0].path


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_rows_cover_the_graph_and_add_up(profile_ops, small_onnx, backend, capsys):
    if backend == "openvino":
        pytest.importorskip("openvino")
    code = profile_ops.main([str(small_onnx), "--backend", backend, "--runs", "3", "--warmup", "1", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["backend"] == backend and out["runs"] == 3
    rows = out["rows"]
    assert rows and all(r["ms_per_clip"] >= 0 for r in rows)
    assert [r["ms_per_clip"] for r in rows] == sorted((r["ms_per_clip"] for r in rows), reverse=True)
    assert abs(sum(r["share"] for r in rows) - 1) < 1e-6
    assert abs(sum(r["ms_per_clip"] for r in rows) - out["kernel_ms_per_clip"]) < 1e-6
    ops = {r["op"] for r in rows}
    # Every network has convolutions; the runtime's own names for them.
    assert ops & {"Conv", "FusedConv", "Convolution", "GroupConvolution"}, ops


def test_plain_output_and_errors(profile_ops, small_onnx, tmp_path, capsys):
    assert profile_ops.main([str(small_onnx), "--runs", "2", "--warmup", "0", "--top", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "ms of kernels per clip" in lines[0] and len(lines) == 4
    assert profile_ops.main([str(tmp_path / "missing.onnx")]) == 1
    assert capsys.readouterr().err.strip() == f"error: model file not found: {tmp_path / 'missing.onnx'}"
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    assert profile_ops.main([str(garbage)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: garbage.onnx is not a loadable ONNX model")
