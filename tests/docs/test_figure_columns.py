"""Each refresher renders its block in the columns the page has today, from output shaped as
its commands print it (nothing is run or timed here).

The expected header of every table is read from the page's own block, not retyped: a
refresher whose columns drift from the page, or a page whose table is reshaped without
its refresher, fails here, before anyone spends an idle machine's hour measuring.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import figure_blocks as fb  # noqa: E402
from figure_registry import REGISTRY  # noqa: E402
from figure_steps import Result, Step, StepFailed  # noqa: E402


def page_header(refresh: str) -> tuple[list[str], list[str]]:
    """The header cells and the alignment row of the first table in the block naming ``refresh``."""
    (block,) = [b for b in fb.all_blocks(ROOT) if b.refresh == refresh]
    table = fb.markdown_tables("\n".join(block.body))[0]
    separator = fb.cells("\n".join(block.body).splitlines()[table.start + 1])
    return table.header, [c.strip(" ") for c in separator]


def rendered_header(text: str) -> tuple[list[str], list[str]]:
    table = fb.markdown_tables(text)[0]
    return table.header, fb.cells(text.splitlines()[table.start + 1])


def result(scratch: Path, stdout: str = "", load=(0.5, 0.6)) -> Result:
    return Result(Step(("x",), "x"), stdout, scratch, *load)


def bench_rows() -> list[dict]:
    from vmf.benchmarks.rows import Row

    rows = []
    for model, variant, res, macs in (
        ("VMF-560M", "560M", 172, 538624672),
        ("VMF-1G", "1G", 224, 1371551104),
    ):
        for backend, size in (("onnxruntime", 18.3), ("openvino", 18.3), ("tflite", 18.5), ("torch", 18.2)):
            # As a real run: the naive VMF does not convert to TFLite (its row fails, below), and
            # torch's --naive row is the checkpoint's reference network.
            forms = (
                (("deployable", 20.0), ("naive", 30.0))
                if backend in ("onnxruntime", "openvino")
                else (("deployable", 20.0),)
            )
            for form, p50 in forms:
                rows.append(
                    Row(
                        variant,
                        False,
                        backend,
                        "fp32",
                        None,
                        2,
                        "cpu",
                        64,
                        res,
                        macs=macs,
                        size_mb=size,
                        p50_ms=p50,
                        model=model,
                        form=form,
                        spin=True if backend == "onnxruntime" else None,
                        paced_ms=267.0,
                        paced_p50_ms=p50 * 1.3,
                        paced_p90_ms=p50 * 1.35,
                    )
                )
        rows.append(
            Row(
                variant,
                False,
                "torch",
                "fp32",
                None,
                2,
                "cpu",
                64,
                res,
                macs=macs,
                p50_ms=45.0,
                model=model,
                form="reference",
                paced_ms=267.0,
                paced_p50_ms=50.0,
                paced_p90_ms=51.0,
            )
        )
    for backend in ("onnxruntime", "openvino"):
        rows.append(
            Row(
                "X3D-S",
                False,
                backend,
                "fp32",
                None,
                2,
                "cpu",
                64,
                160,
                macs=9656160512,
                size_mb=14.45,
                p50_ms=195.5,
                model="X3D-S",
                form="naive",
            )
        )
    rows.append(
        Row(
            "560M",
            False,
            "tflite",
            "fp32",
            "onnx2tf",
            2,
            "cpu",
            64,
            172,
            model="VMF-560M",
            form="naive",
            status="failed",
            reason="onnx2tf cannot convert the naive 5-D 560M",
        )
    )
    return rows


def bench_json(rows) -> str:
    return "a progress line\n" + json.dumps({"results": [r.as_dict() for r in rows]})


def test_bench_main_is_vmf_bench_s_own_section_with_the_plot_beside_the_csv(tmp_path):
    from vmf.benchmarks.report import markdown_section

    rows = bench_rows()
    for r in rows:  # a back-to-back run, as docs/performance.md's
        r.paced_ms = r.paced_p50_ms = r.paced_p90_ms = None
    machine = dict(
        cpu="Test CPU",
        usable_cores=2,
        logical_cores=2,
        physical_cores=2,
        memory_gb=8,
        os="Linux",
        python="3.11",
        versions={"vmf": "0.1.0"},
    )
    section = markdown_section(
        rows,
        "vmf-bench ...",
        machine,
        plot=ROOT / "benchmarks/results/perf.png",
        markdown_path=tmp_path / "perf.md",
    )
    (tmp_path / "perf.md").write_text(section)
    text = REGISTRY["bench-main"].render([result(tmp_path)])
    assert "![latency per clip against MACs](../benchmarks/results/perf.png)" in text
    assert text.startswith("**Machine:** Test CPU") and text.endswith("</details>")
    assert rendered_header(text) == page_header("bench-main")


def test_the_readme_summary_of_the_main_run(tmp_path):
    text = REGISTRY["bench-main-readme"].render([result(tmp_path, bench_json(bench_rows()))])
    assert rendered_header(text) == page_header("bench-main-readme")
    assert (
        "| VMF-560M, 64 × 172² (0.54 GMACs) | 20.0 ms | 20.0 ms | 20.0 ms | 20.0 ms | 18.3 / 18.5 MB |"
        in text
    )
    assert "| X3D-S for comparison, 64 × 160² (9.66 GMACs) | 195.5 ms | 195.5 ms | — | — | 14.4 MB |" in text


def test_the_paced_rows(tmp_path):
    rows = bench_rows()
    (ort,) = [r for r in rows if (r.model, r.backend, r.form) == ("VMF-560M", "onnxruntime", "deployable")]
    off = dataclasses.replace(ort, spin=False, p50_ms=21.0)
    text = REGISTRY["bench-paced"].render(
        [result(tmp_path, bench_json(rows)), result(tmp_path, bench_json([off]))]
    )
    assert rendered_header(text) == page_header("bench-paced")
    lines = text.splitlines()[2:]
    assert lines[0] == "| ONNX Runtime, deployable | on | 20.00 ms | 26.00 (27.00) ms | 1.30× |"
    assert lines[1] == "| ONNX Runtime, deployable (second run) | off | 21.00 ms | 26.00 (27.00) ms | 1.24× |"
    assert (
        "| PyTorch, deployable (`.pt2`) | — |" in text and "| PyTorch, reference (checkpoint) | — |" in text
    )
    assert "LiteRT (XNNPACK), naive" not in text and len(lines) == 8  # the failed onnx2tf row is left out


def test_stem_reuse_per_hop(tmp_path):
    run = {
        "full_clip": {"p50_ms": 22.55},
        "per_hop": {"p50_ms": 16.45},
        "ratio_p50": 0.73,
        "max_rel_err": 7.3e-07,
    }
    results = [result(tmp_path)] * 3 + [result(tmp_path, json.dumps({"stream": [run]}))] * 4
    text = REGISTRY["stem-reuse"].render(results)
    assert rendered_header(text) == page_header("stem-reuse")
    assert "| VMF-560M, ONNX Runtime, hop 8 | 22.55 ms | 16.45 ms | 0.730 | 7.3e-7 |" in text


def test_the_model_summary_keeps_the_table_not_the_note(tmp_path):
    stdout = "model  res\n-----  ---\nVMF-560M  172\n\nPaper: Table 1 ...\n"
    text = REGISTRY["model-summary"].render([result(tmp_path, stdout)])
    assert text == "```\nmodel  res\n-----  ---\nVMF-560M  172\n```"


def stream_summary(spin: bool, reason: str, p50: float) -> str:
    return json.dumps(
        {
            "thread_plan": {"spin": spin, "spin_reason": reason},
            "latency_ms": {"inference": {"p50": p50}, "end_to_end": {"p50": p50 + 3, "p99": p50 + 16}},
            "hops_skipped": 0,
            "expected_inferences": 68,
        }
    )


def test_spin_idle_and_busy(tmp_path):
    runs = [
        result(tmp_path, stream_summary(True, "auto: load 0.8 of 2 cores", 22.6), (0.5, 0.6)),
        result(tmp_path, stream_summary(True, "--spin on", 23.2), (0.6, 0.8)),
        result(tmp_path, stream_summary(False, "--spin off", 24.8), (0.7, 0.7)),
        result(tmp_path, stream_summary(False, "auto: load 1.1 of 2 cores", 57.1), (1.9, 2.0)),
        result(tmp_path, stream_summary(True, "--spin on", 57.8)),
        result(tmp_path, stream_summary(False, "--spin off", 56.8)),
    ]
    text = REGISTRY["stream-spin"].render([result(tmp_path)] + runs)
    assert rendered_header(text) == page_header("stream-spin")
    lines = text.splitlines()[2:]
    assert (
        lines[0]
        == "| idle (load 0.5–0.8) | auto | on (load 0.8 of 2 cores) | 22.6 ms | 25.6 / 38.6 ms | 0 of 68 |"
    )
    assert lines[1].startswith("| idle | on | on | 23.2 ms |")
    assert lines[3].startswith("| busy | auto | off (load 1.1 of 2 cores) | 57.1 ms |")


def test_a_file_through_the_stream(tmp_path):
    r = dict(decode_preprocess_ms=3.04, inference_p50_ms=40.3, parts_s=4.57, stream_s=3.56, ratio=1.28)
    text = REGISTRY["file-stream"].render([result(tmp_path)] * 2 + [result(tmp_path, json.dumps(r))] * 3)
    assert rendered_header(text) == page_header("file-stream")
    assert "| OpenVINO | 3.04 ms/frame | 40.3 ms | 4.57 s | 3.56 s | 1.28x |" in text


def test_the_browser_against_native(tmp_path):
    row = dict(p50_ms=35.3, paced_p50_ms=41.2, paced_ratio=1.167, min_ms=34.4, first_ms=87.1, load_ms=715.2)
    rows = {f"WASM {t}t": dict(row, threads=t) for t in (1, 2)} | {
        f"native {t}t": dict(row, threads=t, paced_p50_ms=None, paced_ratio=None) for t in (1, 2)
    }
    (tmp_path / "web-latency.json").write_text(json.dumps({"rows": rows}))
    text = REGISTRY["web-latency"].render([result(tmp_path)])
    assert rendered_header(text) == page_header("web-latency")
    assert "| ONNX Runtime Web, WASM (Chromium) | 1 | 35.3 | 41.2 | 1.17x | 34.4 | 87.1 | 715 |" in text
    assert "(Python), CPU | 2 | 35.3 | — | — | 34.4 |" in text  # a run with --pace 0


def partition_json(tmp_path: Path) -> None:
    keys = __import__("figure_refresh_export").PARTITION_KEYS
    row = {k: ("18 (97.8%)" if k.startswith("onnx") else "1") for k in keys}
    (tmp_path / "partitions.json").write_text(json.dumps({v: row for v in ("560M", "1G", "2G", "5G")}))


def test_partitions_per_accelerator(tmp_path):
    partition_json(tmp_path)
    text = REGISTRY["partitions"].render([result(tmp_path)])
    assert rendered_header(text) == page_header("partitions")
    assert "| VMF-560M (172²) | 18 (97.8 %) | 18 (97.8 %) | 1 | 1 | 1 | 1 | 1 | 1 |" in text


def card(folder: Path, name: str, **fields) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"target": "executorch", **fields}))
    (folder / f"{name}.pte").write_bytes(b"\0" * 2**20)


def test_the_readme_partition_summary_with_executorch(tmp_path):
    partition_json(tmp_path)
    for v in ("560M", "1G", "2G", "5G"):
        lint = {"partitions": 1, "portable_ops": 0}
        card(tmp_path / f"pte-{v}" / "executorch", f"vmf-{v.lower()}_fp32", precision="fp32", lint=lint)
        card(
            tmp_path / f"pte-{v}" / "executorch",
            f"vmf-{v.lower()}_int8",
            precision="int8",
            lint=dict(lint, partitions=2),
        )
    text = REGISTRY["partitions-readme"].render([result(tmp_path)] * 5)
    assert rendered_header(text) == page_header("partitions-readme")
    assert "| VMF-560M | 18 / 18 | 1 / 1 | 1 / 1 | 1 (0), 2 (0) |" in text


def test_executorch_variants(tmp_path):
    from figure_refresh_export import ET_MODELS

    for _, folder, _ in ET_MODELS:
        lint = {"partitions": 1, "delegated_ops": 1204, "portable_ops": 0}
        card(
            tmp_path / folder / "executorch",
            "m_fp32",
            precision="fp32",
            frames=8,
            resolution=64,
            lint=lint,
            parity={"max_rel_err": 2.34e-06},
        )
    text = REGISTRY["executorch-variants"].render([result(tmp_path)] * len(ET_MODELS))
    assert rendered_header(text) == page_header("executorch-variants")
    assert "| VMF-2G | 8 x 64^2 | 1 | 1204 / 0 | 1.0 MB | 2.3e-6 |" in text


def evaluation(top1: float, predicted: list[str]) -> dict:
    videos = [f"v{k}.mp4" for k in range(len(predicted))]
    return {
        "top1": top1,
        "top5": 1.0,
        "mean_class_accuracy": top1,
        "predictions": [{"video": v, "predicted": p} for v, p in zip(videos, predicted)],
    }


def test_accuracy_through_every_export(tmp_path):
    from figure_refresh_export import ROWS

    rows = {name: {"heldout": evaluation(0.975, ["a", "b", "c", "d"])} for name, _ in ROWS}
    rows["LiteRT int8"] = {"heldout": evaluation(0.955, ["a", "b", "c", "x"])}
    record = {"rows": rows, "shuffled": evaluation(0.13, ["x", "b", "x", "x"])}
    (tmp_path / "accuracy.json").write_text(json.dumps(record))
    text = REGISTRY["accuracy-demo"].render([result(tmp_path)] * 3)
    assert rendered_header(text) == page_header("accuracy-demo")
    assert "| PyTorch fp32 (checkpoint) | 97.5 % | 100 % | 97.5 % | — | — | — |" in text
    assert "| LiteRT int8 (litert-torch) | 95.5 % | 100 % | 95.5 % | 75.0 % | 97.9 % | 75.0 % |" in text
    assert (
        "**frames shuffled** (`vmf-eval --shuffle-frames`) | 13.0 % | 100 % | 13.0 % | 25.0 % | — | — |"
        in text
    )


def test_the_int8_placements_keep_the_table_only(tmp_path):
    stdout = (
        "VMF-560M 64x172², 2 threads, 5 interleaved rounds\n\n"
        "| quantized | file MB | onnxruntime p50 | ×fp32 |\n|---|---:|---:|---:|\n"
        "| — (fp32) | 19.2 | 17.20 ms | 1.00 |\n| stem | 19.2 | 15.80 ms | 0.92 |\n"
    )
    text = REGISTRY["int8-placement"].render([result(tmp_path, stdout)])
    assert text.splitlines()[0] == "| quantized | file MB | onnxruntime p50 | ×fp32 |"
    assert text.splitlines()[-1] == "| stem | 19.2 | 15.80 ms | 0.92 |" and "interleaved" not in text
    with pytest.raises(StepFailed, match="no placement table"):
        REGISTRY["int8-placement"].render([result(tmp_path, "error: nothing\n")])


def test_fp32_against_int8_per_runtime(tmp_path):
    def row(backend, precision, p50, status="ok"):
        return {
            "model": "VMF-560M",
            "backend": backend,
            "form": "deployable",
            "precision": precision,
            "status": status,
            "p50_ms": p50,
        }

    rows = [
        row("onnxruntime", "fp32", 17.2),
        row("onnxruntime", "int8", 15.8),
        row("tflite", "fp32", 20.0),
        row("tflite", "int8", 12.0),
        row("executorch", "fp32", 28.0),
        row("executorch", "int8", 1.0, status="failed"),
    ]
    text = REGISTRY["int8-backends"].render([result(tmp_path, json.dumps({"results": rows}))])
    lines = text.splitlines()
    assert lines[0] == "| runtime | fp32 p50 | int8 p50 | int8 / fp32 |"
    assert lines[2] == "| ONNX Runtime | 17.20 ms | 15.80 ms | 0.92× |"
    assert lines[3] == "| LiteRT (XNNPACK) | 20.00 ms | 12.00 ms | 0.60× |"
    assert len(lines) == 4  # a failed row is left out, not quoted
    with pytest.raises(StepFailed, match="both fp32 and int8"):
        REGISTRY["int8-backends"].render([result(tmp_path, json.dumps({"results": rows[4:]}))])


def test_the_training_step_table_and_its_difference_line(tmp_path):
    stdout = (
        "| training step (VMF-560M, 64×112², batch 16, 2 threads) | ms/step (median of 6) | clips/s | ×reference |\n"
        "|---|---:|---:|---:|\n| PyTorch's own backward | 1561 | 10.25 | 1.00 |\n"
        "| `vmf.train.fast_backward` | 1173 | 13.64 | 0.75 |\n\n"
        "first step: |loss difference| 0.0e+00, gradient relative difference 1.8e-03\n"
    )
    text = REGISTRY["train-step"].render([result(tmp_path, stdout)])
    lines = text.splitlines()
    assert lines[3] == "| `vmf.train.fast_backward` | 1173 | 13.64 | 0.75 |"
    assert lines[-1] == "First step: |loss difference| 0.0e+00, gradient relative difference 1.8e-03."
    with pytest.raises(StepFailed, match="no step table"):
        REGISTRY["train-step"].render([result(tmp_path, "error: --batch must be positive\n")])


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_refresher_has_a_renderer_test(name):
    tested = {
        "bench-main",
        "bench-main-readme",
        "bench-paced",
        "stem-reuse",
        "model-summary",
        "stream-spin",
        "file-stream",
        "web-latency",
        "partitions",
        "partitions-readme",
        "executorch-variants",
        "accuracy-demo",
        "int8-placement",
        "int8-backends",
        "train-step",
    }
    assert name in tested, f"refresher {name} has no test of its rendering in this file"
