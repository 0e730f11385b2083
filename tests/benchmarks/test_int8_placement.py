"""scripts/int8_placement.py and scripts/paced_latency.py: the probes behind the int8 and paced figures."""

import importlib.util
import json
from pathlib import Path

import onnx
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory):
    from vmf.export import export

    report = export(
        "560M",
        targets=("onnx",),
        frames=8,
        resolution=64,
        out_dir=tmp_path_factory.mktemp("int8"),
        log=lambda m: None,
        warn=lambda m: None,
    )
    return report.artifacts[0].path


def _quantized_weights(path):
    """Names of the nodes whose weight input comes through a DequantizeLinear of an initializer."""
    graph = onnx.load(str(path)).graph
    made_by = {o: n for n in graph.node for o in n.output}
    inits = {t.name for t in graph.initializer}
    return {
        n.name
        for n in graph.node
        if n.op_type in ("Conv", "MatMul", "Gemm")
        and any(
            i in made_by and made_by[i].op_type == "DequantizeLinear" and made_by[i].input[0] in inits
            for i in n.input[1:]
        )
    }


def test_each_placement_quantizes_what_it_says(small_onnx, tmp_path):
    import numpy as np

    placement = _load("int8_placement")
    groups = placement._conv_groups(onnx.load(str(small_onnx)))
    assert groups["dense"] and groups["depthwise"] and groups["1x1"]
    clip = np.random.default_rng(0).standard_normal((8, 3, 64, 64)).astype(np.float32)
    quantized = {
        p: _quantized_weights(placement.quantize_placement(small_onnx, tmp_path / f"{i}.onnx", p, [clip]))
        for i, p in enumerate(placement.PLACEMENTS)
    }
    assert quantized["stem"] == set(groups["dense"])
    assert quantized["conv"] == set(groups["dense"] + groups["depthwise"] + groups["1x1"])
    assert quantized["1x1"] == set(groups["1x1"])
    assert quantized["stem+matmul"] > set(groups["dense"]) and not quantized["stem+matmul"] & set(
        groups["1x1"]
    )
    # what vmf-export ships is the "stem" placement
    from vmf.export.onnx import quantize_onnx

    shipped = quantize_onnx(small_onnx, tmp_path / "shipped.onnx", clip[None])
    assert _quantized_weights(shipped) == set(groups["dense"])


@pytest.mark.integration  # exports, quantizes four times and times: the fast loop skips it
def test_int8_placement_reports_every_placement_against_fp32(capsys):
    placement = _load("int8_placement")
    code = placement.main(
        [
            "--frames",
            "8",
            "--resolution",
            "64",
            "--backend",
            "onnxruntime",
            "--rounds",
            "1",
            "--runs",
            "1",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["clip"] == "8x64"
    rows = out["results"]["onnxruntime"]
    assert set(rows) == {"fp32", *placement.PLACEMENTS} and rows["fp32"]["vs_fp32"] == 1.0
    assert all(r["p50_ms"] > 0 for r in rows.values())
    # the MatMul weights are most of the file: quantizing them shrinks it, the stem alone does not
    assert out["size_mb"]["stem+matmul"] < 0.5 * out["size_mb"]["fp32"] <= out["size_mb"]["stem"]


def test_paced_latency_probes_each_gap_and_mode(small_onnx, capsys):
    paced = _load("paced_latency")
    code = paced.main(
        [str(small_onnx), "--gaps", "0", "0.002", "--runs", "2", "--pre-spin", "0.001", "--prewarm"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "back to back:" in out
    for mode in ("idle", "cores busy 1 ms before", "untimed run before"):
        assert f"after a gap, {mode}: 2 ms:" in out


def test_paced_latency_bad_input_is_one_line(tmp_path, capsys):
    paced = _load("paced_latency")
    assert paced.main([str(tmp_path / "missing.onnx")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
    assert paced.main([str(tmp_path / "m.onnx"), "--runs", "0"]) == 2
