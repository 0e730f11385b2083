"""vmf-bench end to end on a fake exporter, backend and clock: rows, outputs, cache, failures."""

import csv
import json

import pytest

from vmf.benchmarks import cli
from vmf.benchmarks.rows import COLUMNS, ISSUE_COLUMNS
from vmf.contract.targets import get as get_target
from vmf.model import MissingDependencyError

# 8 frames (560M's temporal stride) at 8 px: the real reference model's MACs are counted on it.
TINY = ["--frames", "8", "--resolution", "8", "--warmup", "1", "--runs", "4", "--threads", "1"]


def bench(args, tools, tmp_path, capsys):
    code = cli.main([*TINY, *args, "--cache", str(tmp_path / "cache")], tools=tools)
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_json_rows_carry_the_core_columns_and_the_fake_delays(tools, loader, tmp_path, capsys):
    loader.delays = (0.004, 0.006)  # warm-up takes one, then 4 timed runs: 6, 4, 6, 4 ms
    code, out, _ = bench(["--backend", "onnxruntime", "tflite", "--json"], tools, tmp_path, capsys)
    assert code == 0
    result = last_json(out)
    assert result["columns"] == list(COLUMNS)
    assert list(COLUMNS[: len(ISSUE_COLUMNS)]) == list(ISSUE_COLUMNS)
    rows = result["results"]
    assert [(r["backend"], r["status"]) for r in rows] == [("onnxruntime", "ok"), ("tflite", "ok")]
    for r in rows:
        assert list(r) == list(COLUMNS)
        assert r["variant"] == "560M" and r["baseline"] is False and r["model"] == "VMF-560M"
        assert (r["frames"], r["resolution"], r["threads"], r["device"]) == (8, 8, 1, "cpu")
        assert r["runs"] == 4
        assert r["p50_ms"] == pytest.approx(5.0) and r["mean_ms"] == pytest.approx(5.0)
        assert r["std_ms"] == pytest.approx(1.0)
        assert r["p90_ms"] == pytest.approx(6.0) and r["p99_ms"] == pytest.approx(6.0)
        assert r["clips_per_s"] == pytest.approx(200.0)
        assert r["gmacs_per_s"] == pytest.approx(r["macs"] * 200.0 / 1e9)
        assert r["macs"] > 0 and r["params"] == 4_714_454  # the reference VMF-560M
        assert r["size_mb"] == pytest.approx(1.0)
        assert r["peak_rss_mb"] > 0
        assert "max_abs=1.5e-05" in r["parity"]  # the sidecar's parity record
    # TFLite rows name the converter (the exporter's default when none is asked for).
    assert [r["converter"] for r in rows] == ["fake-default", get_target("tflite").default_converter]
    assert "VMF-560M" in out and "p50 ms" in out  # the table printed before the JSON


def test_csv_and_markdown_have_the_same_rows(tools, tmp_path, capsys):
    csv_path, md_path = tmp_path / "out" / "bench.csv", tmp_path / "bench.md"
    code, out, _ = bench(
        [
            "--backend",
            "onnxruntime",
            "torch",
            "--baseline",
            "--csv",
            str(csv_path),
            "--markdown",
            str(md_path),
            "--json",
        ],
        tools,
        tmp_path,
        capsys,
    )
    assert code == 0
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(COLUMNS)
        table = list(reader)
    rows = last_json(out)["results"]
    assert [(r["model"], r["backend"]) for r in table] == [(r["model"], r["backend"]) for r in rows]
    assert [r["model"] for r in rows] == ["VMF-560M", "VMF-560M", "Mobile3D-560M", "Mobile3D-560M"]
    assert float(table[0]["p50_ms"]) == pytest.approx(rows[0]["p50_ms"])
    md = md_path.read_text()
    assert "vmf-bench --frames 8 --resolution 8" in md  # the command that made it
    assert "--backend onnxruntime torch --baseline --csv" in md
    assert "| " + " | ".join(COLUMNS) + " |" in md  # the full schema, folded
    assert md.count("| Mobile3D-560M |") == 4  # readable table + full table, 2 rows each
    # the machine it ran on: this CPU, this Python, the runtime versions that were timed
    from importlib.metadata import version
    from platform import python_version

    from vmf.benchmarks.machine import cpu_model

    assert cpu_model() in md and f"Python {python_version()}" in md
    assert f"onnxruntime {version('onnxruntime')}" in md


def test_second_run_does_not_re_export(tools, exporter, tmp_path, capsys):
    args = ["--backend", "onnxruntime", "tflite", "--precision", "fp32", "int8", "--json"]
    code, out, _ = bench(args, tools, tmp_path, capsys)
    # One exporter call per model/form/target: the conversion is shared by its precisions.
    assert code == 0 and [c[2:4] for c in exporter.calls] == [
        (("onnx",), ("fp32", "int8")),
        (("tflite",), ("fp32", "int8")),
    ]
    assert last_json(out)["exports"] == {"exported": 4, "cached": 0}
    tools.exported.clear()
    code, out, _ = bench(args, tools, tmp_path, capsys)
    assert code == 0 and len(exporter.calls) == 2  # nothing exported again
    assert last_json(out)["exports"] == {"exported": 0, "cached": 4}
    assert all(r["status"] == "ok" for r in last_json(out)["results"])
    # A different clip is a different artifact.
    cli.main(
        [
            "--backend",
            "onnxruntime",
            "--cache",
            str(tmp_path / "cache"),
            *TINY[:2],
            "--resolution",
            "16",
            *TINY[4:],
        ],
        tools=tools,
    )
    assert len(exporter.calls) == 3 and exporter.calls[-1][6] == 16


def test_openvino_times_the_onnx_export_onnxruntime_times(tools, exporter, loader, tmp_path, capsys):
    code, out, _ = bench(
        ["--backend", "onnxruntime", "openvino", "--precision", "fp32", "int8", "--json"],
        tools,
        tmp_path,
        capsys,
    )
    assert code == 0 and [c[2:4] for c in exporter.calls] == [(("onnx",), ("fp32", "int8"))]
    rows = last_json(out)["results"]
    assert [(r["backend"], r["precision"], r["status"]) for r in rows] == [
        ("onnxruntime", "fp32", "ok"),
        ("onnxruntime", "int8", "ok"),
        ("openvino", "fp32", "ok"),
        ("openvino", "int8", "ok"),
    ]
    assert last_json(out)["exports"] == {"exported": 2, "cached": 0}
    # The same two files, each loaded once by each backend, by name.
    loaded = [(b.path.name, b.name) for b in loader.loaded]
    files = {name for name, _ in loaded}
    assert len(files) == 2 and all(name.endswith(".onnx") for name in files)
    assert sorted(loaded) == sorted((f, b) for f in files for b in ("onnxruntime", "openvino"))


def test_all_exports_happen_before_any_timing(tools, tmp_path, capsys):
    events, export, load = [], tools.export, tools.load_backend
    tools.export = lambda *a, **k: events.append("export") or export(*a, **k)
    tools.load_backend = lambda *a, **k: events.append("load") or load(*a, **k)
    bench(["--backend", "onnxruntime", "tflite", "--baseline"], tools, tmp_path, capsys)
    assert events == ["export"] * 4 + ["load"] * 4


def test_exporter_gets_the_job(tools, exporter, tmp_path, capsys):
    bench(
        ["--backend", "tflite", "--naive", "--converter", "litert-torch", "--precision", "fp16"],
        tools,
        tmp_path,
        capsys,
    )
    assert exporter.calls == [
        ("560M", False, ("tflite",), ("fp16",), "deployable", 8, 8, "litert-torch"),
        ("560M", False, ("tflite",), ("fp16",), "naive", 8, 8, "onnx2tf"),
    ]  # its only route


def test_torch_times_its_pt2_and_with_naive_the_reference_checkpoint(
    tools, exporter, loader, tmp_path, capsys
):
    code, out, _ = bench(["--backend", "torch", "--naive", "--json"], tools, tmp_path, capsys)
    assert code == 0
    rows = last_json(out)["results"]
    assert [(r["backend"], r["form"], r["status"]) for r in rows] == [
        ("torch", "deployable", "ok"),
        ("torch", "reference", "ok"),
    ]
    # The deployable row is the torch target's export; the reference row a seeded checkpoint.
    assert [c[2:5] for c in exporter.calls] == [(("torch",), ("fp32",), "deployable")]
    assert [b.path.parent.name for b in loader.loaded[:1]] == ["torch"]  # <out>/<target>/
    assert loader.loaded[1].path.suffix == ".pt"
    assert "VMF-560M torch fp32 1t: deployable 10.0 ms vs reference network 10.0 ms" in out


def test_failure_rows_keep_the_table(tools, exporter, loader, tmp_path, capsys):
    exporter.fail[("tflite", "int8")] = "int8 parity gate failed: top-1 agreement 0.80 < 0.95"
    loader.fail["onnxruntime"] = MissingDependencyError(
        "running an ONNX model needs onnxruntime, which is not installed: pip install 'vmf[ort]'"
    )
    code, out, _ = bench(
        [
            "--backend",
            "onnxruntime",
            "tflite",
            "torch",
            "--precision",
            "fp32",
            "int8",
            "--threads",
            "1",
            "2",
            "--json",
        ],
        tools,
        tmp_path,
        capsys,
    )
    assert code == 0  # something was timed
    rows = {(r["backend"], r["precision"], r["threads"]): r for r in last_json(out)["results"]}
    assert len(rows) == 12
    assert rows[("tflite", "fp32", 2)]["status"] == "ok"
    bad = rows[("tflite", "int8", 1)]
    assert bad["status"] == "failed" and bad["p50_ms"] is None
    assert bad["reason"] == "export failed: int8 parity gate failed: top-1 agreement 0.80 < 0.95"
    assert rows[("onnxruntime", "fp32", 1)]["reason"].endswith("pip install 'vmf[ort]'")
    assert rows[("torch", "int8", 2)]["reason"] == "the torch backend times fp32 only"
    # One call per model/target; the fp32 it finished before int8 failed is kept, and int8 is
    # not tried again (neither singly nor per thread count). torch times its fp32 .pt2.
    assert [c[2:4] for c in exporter.calls] == [
        (("onnx",), ("fp32", "int8")),
        (("tflite",), ("fp32", "int8")),
        (("torch",), ("fp32",)),
    ]
    assert "failed: export failed: int8 parity gate failed" in out  # in the printed table too


def test_a_failed_conversion_fails_every_precision_of_its_batch(tools, exporter, tmp_path, capsys):
    exporter.fail[("tflite", "fp16")] = "conversion failed"  # before anything was made
    code, out, _ = bench(
        ["--backend", "tflite", "onnxruntime", "--precision", "fp16", "int8", "--json"],
        tools,
        tmp_path,
        capsys,
    )
    assert code == 0
    assert [c[2:4] for c in exporter.calls] == [
        (("tflite",), ("fp16", "int8")),
        (("onnx",), ("fp16", "int8")),
    ]
    rows = last_json(out)["results"]
    assert [(r["backend"], r["precision"], r["reason"]) for r in rows] == [
        ("tflite", "fp16", "export failed: conversion failed"),
        ("tflite", "int8", "export failed: conversion failed"),
        ("onnxruntime", "fp16", None),
        ("onnxruntime", "int8", None),
    ]


def test_precisions_after_a_failed_one_are_exported_singly(tools, exporter, tmp_path, capsys):
    exporter.fail[("tflite", "fp16")] = "fp16 parity failed"  # after fp32 was made
    code, out, _ = bench(
        ["--backend", "tflite", "--precision", "fp32", "fp16", "int8", "--json"], tools, tmp_path, capsys
    )
    assert code == 0
    assert [c[3] for c in exporter.calls] == [("fp32", "fp16", "int8"), ("int8",)]
    rows = last_json(out)["results"]
    assert [(r["precision"], r["status"]) for r in rows] == [
        ("fp32", "ok"),
        ("fp16", "failed"),
        ("int8", "ok"),
    ]
    assert rows[1]["reason"] == "export failed: fp16 parity failed"


def test_the_exporters_own_check_refuses_before_any_work(tools, exporter, tmp_path, capsys):
    from vmf.benchmarks.jobs import check_with_exporter

    tools.check_export = check_with_exporter  # the real exporter's option check
    code, out, _ = bench(
        ["--backend", "coreml", "--precision", "fp16", "int8", "--json"], tools, tmp_path, capsys
    )
    assert code == 0 and [c[3] for c in exporter.calls] == [("fp16",)]
    bad = last_json(out)["results"][1]
    # The exporter's own sentence (its wording is the exporter's business).
    assert bad["reason"].startswith("not exported: ") and "int8" in bad["reason"]


def test_nothing_timed_is_an_error_naming_the_first_reason(tools, loader, tmp_path, capsys):
    loader.fail["coreml"] = MissingDependencyError(
        "running a Core ML model needs coremltools, which is not installed: pip install 'vmf[coreml]'"
    )
    code, out, err = bench(["--backend", "coreml"], tools, tmp_path, capsys)
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "error: nothing was timed; first failure: running a Core ML model needs coremltools, "
        "which is not installed: pip install 'vmf[coreml]'"
    )
    assert "VMF-560M" in out  # the table is still printed


def test_plot_is_written(tools, tmp_path, capsys):
    plot = tmp_path / "plots" / "latency.png"
    code, _, _ = bench(
        ["--backend", "onnxruntime", "torch", "--baseline", "--plot", str(plot)], tools, tmp_path, capsys
    )
    assert code == 0
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert not list(plot.parent.glob("*.tmp*"))


def test_cuda_request_uses_cuda_backends_only(tools, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "cuda_status", lambda: None)  # pretend a GPU is present
    code, out, _ = bench(
        ["--backend", "onnxruntime", "tflite", "--device", "cuda", "--json"], tools, tmp_path, capsys
    )
    rows = last_json(out)["results"]
    assert code == 0
    # The fake backend reports a CPU device: the row says what really ran, not what was asked.
    assert rows[0]["backend"] == "onnxruntime" and rows[0]["device"] == "cpu"
    assert rows[1]["status"] == "failed" and "no CUDA path" in rows[1]["reason"]


@pytest.mark.parametrize(
    "args, message, code",
    [
        (["--variant", "3G"], "argument --variant: invalid choice: '3G'", 2),
        (["--backend", "tensorrt"], "argument --backend: invalid choice: 'tensorrt'", 2),
        (["--precision", "int4"], "argument --precision: invalid choice: 'int4'", 2),
        (["--device", "tpu"], "argument --device: invalid choice: 'tpu'", 2),
        (["--threads", "0"], "argument --threads: '0' must be >= 1", 2),
        (
            ["--variant", "1G", "560M", "--frames", "12"],
            "--frames 12 is not a multiple of variant 560M's temporal stride 8",
            1,
        ),
        (["--device", "cuda"], "--device cuda: no usable CUDA GPU here (no GPU in this test)", 1),
    ],
)
def test_errors_are_one_line_exit_2_for_the_command_line(args, message, code, monkeypatch, capsys):
    monkeypatch.setattr(cli, "cuda_status", lambda: "no GPU in this test")
    assert cli.main(args) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: " + message)
    assert err.rstrip().endswith("(see vmf-bench --help)") == (code == 2)


def test_unreadable_model_is_one_line(tmp_path, capsys):
    from bench_fakes import sidecar_meta
    from vmf.export.sidecar import write_sidecar

    assert cli.main(["--model", str(tmp_path / "missing.onnx")]) == 1
    assert capsys.readouterr().err == f"error: --model {tmp_path / 'missing.onnx'}: no such file\n"
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"not an onnx file")
    write_sidecar(bad, sidecar_meta())
    assert cli.main(["--model", str(bad), "--threads", "1", "--runs", "1"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: garbage.onnx is not a loadable ONNX model")


def test_model_file_rows_come_from_its_sidecar(tools, tmp_path, capsys):
    from bench_fakes import sidecar_meta
    from vmf.export.sidecar import write_sidecar

    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0" * 2**19)
    write_sidecar(model, sidecar_meta("1G", True, 2, 8, "int8", "onnx2tf"))
    code = cli.main(["--model", str(model), "--threads", "1", "2", "--runs", "3", "--json"], tools=tools)
    rows = last_json(capsys.readouterr().out)["results"]
    assert code == 0
    assert [(r["model"], r["precision"], r["converter"], r["threads"], r["size_mb"]) for r in rows] == [
        ("Mobile3D-1G", "int8", "onnx2tf", 1, 0.5),
        ("Mobile3D-1G", "int8", "onnx2tf", 2, 0.5),
    ]
    assert rows[0]["macs"] == 1000  # what the sidecar says


def test_summary_prints_tables_1_and_2(capsys):
    assert cli.main(["--summary", "--json"]) == 0
    out = capsys.readouterr().out
    assert "VMF-560M" in out and "Mobile3D-5G" in out and "Table 1" in out
    summary = last_json(out)["summary"]
    assert [r["model"] for r in summary][-1] == "X3D-S"
    assert len(summary) == 9
    x3d = summary[-1]
    assert x3d["macs"] == pytest.approx(9.66e9, rel=0.005)
