"""``vmf-bench`` end to end with nothing faked: one real row, and the stream mode on a split export."""

from __future__ import annotations

import json

import pytest

from vmf.benchmarks import cli as bench_cli
from vmf.export import cli as export_cli

pytestmark = pytest.mark.integration  # real exports and timing processes

TINY = ["--frames", "16", "--resolution", "64"]


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_one_real_row(tmp_path, capsys):
    args = ["--variant", "560M", "--backend", "onnxruntime", *TINY, "--threads", "1", "--runs", "3"]
    args += ["--paced", "20", "--paced-runs", "3", "--spin", "off"]  # and paced, in its own process
    assert bench_cli.main([*args, "--warmup", "1", "--cache", str(tmp_path / "cache"), "--json"]) == 0
    (row,) = _last_json(capsys.readouterr().out)["results"]
    assert row["status"] == "ok" and row["backend"] == "onnxruntime" and row["model"] == "VMF-560M"
    assert (row["frames"], row["resolution"], row["threads"], row["runs"]) == (16, 64, 1, 3)
    assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
    assert row["macs"] > 0 and row["size_mb"] > 1 and "ok" in row["parity"]
    assert (row["paced_ms"], row["paced_runs"], row["spin"]) == (20.0, 3, False)
    assert 0 < row["paced_p50_ms"] <= row["paced_p90_ms"]


def test_stream_mode_times_stem_reuse_on_a_split_export(tmp_path, capsys):
    out = tmp_path / "exp"
    assert (
        export_cli.main(["--variant", "560M", "--target", "onnx", "--split", *TINY, "--out", str(out)]) == 0
    )
    model = out / "onnx" / "vmf-560m_t16_r64_fp32.onnx"
    assert model.with_suffix(".stem.onnx").is_file() and model.with_suffix(".body.onnx").is_file()
    capsys.readouterr()
    args = ["--model", str(model), "--stream", "--threads", "1", "--runs", "3", "--warmup", "1", "--json"]
    assert bench_cli.main(args) == 0
    (row,) = _last_json(capsys.readouterr().out)["stream"]
    assert row["frames"] == 16 and row["hop"] == 8  # the stem's temporal stride
    assert row["per_hop"]["p50_ms"] > 0 and row["full_clip"]["p50_ms"] > 0
    assert row["stem_frames_reused"] > 0  # the point of the mode: frames a hop already saw
    assert row["max_rel_err"] <= 1e-4  # the reused stem gives the full clip's logits


def test_stream_mode_needs_a_model(capsys):
    assert bench_cli.main(["--stream", "--variant", "560M"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model" in err[0]
