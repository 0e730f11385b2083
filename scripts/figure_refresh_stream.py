"""Refreshers of the figures that time a stream: ``--spin`` idle and busy, whole files
through ``vmf-stream``'s loop (docs/streaming.md, "Measured figures"), and the browser
against native ONNX Runtime (docs/web.md, "Figures").
"""

from __future__ import annotations

import importlib.metadata

from figure_steps import Refresher, Result, StepFailed, console, joined, num, script, table

MODEL_ONNX = "{glob:m560/onnx/*_fp32.onnx}"
MODEL_TFLITE = "{glob:m560/tflite/*_fp32.tflite}"


def export_560m(*targets: str):
    """VMF-560M with seeded weights (latency does not depend on them), into the scratch folder."""
    return [
        console("vmf-export", "--variant", "560M", "--target", t, "--out", "{scratch}/m560") for t in targets
    ]


# --------------------------------------------------------------------------- stream-spin

SPINS = ("auto", "on", "off")
BUSY_LOOPS = 2  # two busy loops on the 2-core machine: "busy" as docs/streaming.md measured it


def spin_steps():
    steps = export_560m("onnx")
    for busy in (0, BUSY_LOOPS):
        for spin in SPINS:
            steps.append(
                script(
                    "scripts/bench_stream.py",
                    "--model",
                    MODEL_ONNX,
                    "--backend",
                    "onnxruntime",
                    "--threads",
                    "2",
                    "--seconds",
                    "20",
                    "--spin",
                    spin,
                    "--json",
                    busy=busy,
                    settle=not busy,  # --spin auto reads the load: let the steps before fade
                )
            )
    return steps


def render_spin(results: list[Result]) -> str:
    runs = results[1:]
    idle = runs[: len(SPINS)]
    low = min(min(r.load_before, r.load_after) for r in idle)
    high = max(max(r.load_before, r.load_after) for r in idle)
    header = ["machine", "`--spin`", "chosen", "inference p50", "end-to-end p50 / p99", "hops skipped"]
    body = []
    for k, result in enumerate(runs):
        summary = result.json()
        spin = SPINS[k % len(SPINS)]
        busy = k >= len(SPINS)
        machine = ("busy" if busy else "idle") + (f" (load {low:.1f}–{high:.1f})" if k == 0 else "")
        plan = summary.get("thread_plan") or {}
        chosen = "on" if plan.get("spin") else "off"
        if spin == "auto":
            chosen += f" ({str(plan.get('spin_reason', '')).removeprefix('auto: ')})"
        lat = summary["latency_ms"]
        e2e = lat["end_to_end"]
        body.append(
            [
                machine,
                spin,
                chosen,
                num(lat["inference"]["p50"], 1, " ms"),
                f"{num(e2e['p50'])} / {num(e2e['p99'])} ms",
                f"{summary['hops_skipped']} of {summary['expected_inferences']}",
            ]
        )
    return table(header, body, right={3, 4, 5})


# --------------------------------------------------------------------------- file-stream

FILE_RUNS = (
    ("ONNX Runtime", MODEL_ONNX, None),
    ("OpenVINO", MODEL_ONNX, "openvino"),
    ("LiteRT", MODEL_TFLITE, None),
)


def file_steps():
    steps = export_560m("onnx", "tflite")
    for _, model, backend in FILE_RUNS:
        extra = ("--backend", backend) if backend else ()
        steps.append(script("scripts/bench_file_stream.py", "--model", model, *extra, "--json"))
    return steps


def render_files(results: list[Result]) -> str:
    header = ["backend", "decode + preprocess", "inference p50 alone", "parts", "stream", "ratio"]
    body = []
    for (label, *_), result in zip(FILE_RUNS, results[2:]):
        r = result.json()
        body.append(
            [
                label,
                f"{r['decode_preprocess_ms']:.2f} ms/frame",
                num(r["inference_p50_ms"], 1, " ms"),
                num(r["parts_s"], 2, " s"),
                num(r["stream_s"], 2, " s"),
                f"{r['ratio']:.2f}x",
            ]
        )
    return table(header, body)


# --------------------------------------------------------------------------- web-latency


def web_steps():
    return [
        script(
            "scripts/web_latency.py",
            "--weights",
            "train/demo/vmf-560m-motion.pt",
            "--bench",
            "30",
            "--json",
            "{scratch}/web-latency.json",
        )
    ]


def render_web(results: list[Result]) -> str:
    import json

    record = json.loads(results[0].file("web-latency.json").read_text())
    try:
        native = ".".join(importlib.metadata.version("onnxruntime").split(".")[:2])
    except importlib.metadata.PackageNotFoundError:
        native = ""
    header = [
        "runtime",
        "threads",
        "p50 ms",
        "paced p50 ms",
        "paced ÷ p50",
        "min ms",
        "first run ms",
        "model load ms",
    ]
    body = []
    for name, row in record["rows"].items():
        if name.startswith("WASM"):
            label = "ONNX Runtime Web, WASM (Chromium)"
        elif name.startswith("native"):
            label = f"ONNX Runtime {native} (Python), CPU".replace("  ", " ")
        else:
            raise StepFailed(f"web_latency.py wrote a row {name!r} this table has no place for")
        body.append(
            [
                label,
                str(row["threads"]),
                num(row["p50_ms"]),
                num(row.get("paced_p50_ms")),
                "—" if row.get("paced_ratio") is None else f"{row['paced_ratio']:.2f}x",
                num(row["min_ms"]),
                num(row["first_ms"]),
                num(row["load_ms"], 0),
            ]
        )
    return table(header, body, right={1, 2, 3, 4, 5, 6, 7})


REFRESHERS = [
    Refresher(
        "stream-spin",
        spin_steps,
        render_spin,
        joined(spin_steps()),
        about="vmf-stream's loop on a 30 fps camera, --spin auto/on/off, idle and beside two busy loops",
    ),
    Refresher(
        "file-stream",
        file_steps,
        render_files,
        joined(file_steps()),
        about="a 600-frame file through the stream vs its parts one after the other",
    ),
    Refresher(
        "web-latency",
        web_steps,
        render_web,
        joined(web_steps()),
        about="the demo model's web export in headless Chromium vs Python ONNX Runtime",
    ),
]
