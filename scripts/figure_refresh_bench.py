"""Refreshers of the ``vmf-bench`` figures: the main table (docs/performance.md and the
README's summary of it), the paced rows, stem reuse per hop, and the params/MACs summary.

Each renders the block in the columns it has in the docs today (figure_steps.Refresher).
"""

from __future__ import annotations

import re

from figure_steps import Refresher, Result, StepFailed, console, joined, num, script, sci, table

BACKENDS = {
    "onnxruntime": "ONNX Runtime",
    "openvino": "OpenVINO",
    "tflite": "LiteRT (XNNPACK)",
    "torch": "PyTorch",
}
PLOT = "benchmarks/results/perf.png"  # beside perf.csv: CONTRIBUTING.md, "Regenerating figures"
PLOT_LINE = re.compile(r"!\[latency per clip against MACs\]\([^)]*\)")


def rows_of(result: Result) -> list[dict]:
    return list(result.json().get("results", []))


def find(rows: list[dict], model: str, backend: str, form: str = "deployable") -> dict | None:
    """The ok fp32 row of this model, backend and form, if the run has one."""
    for row in rows:
        if (row["model"], row["backend"], row["form"], row["precision"]) == (model, backend, form, "fp32"):
            return row if row["status"] == "ok" else None
    return None


# --------------------------------------------------------------------------- bench-main


def main_steps():
    # The run docs/performance.md shows (its prose says why 2G, 5G and int8 are left out);
    # --plot and --csv rewrite benchmarks/results/perf.{png,csv} with it.
    return [
        console(
            "vmf-bench",
            *("--variant", "560M", "1G", "--baseline", "--naive", "--x3d"),
            *("--backend", "onnxruntime", "openvino", "tflite", "torch", "--threads", "2", "--min-time", "3"),
            *(
                "--markdown",
                "{scratch}/perf.md",
                "--plot",
                PLOT,
                "--csv",
                "benchmarks/results/perf.csv",
                "--json",
            ),
        )
    ]


def render_main(results: list[Result]) -> str:
    """vmf-bench's own --markdown section (machine, command, table, ratios, plot, every column)."""
    section = results[0].file("perf.md").read_text(encoding="utf-8")
    # The section links the plot relative to where it was written (the scratch folder).
    section = PLOT_LINE.sub(f"![latency per clip against MACs](../{PLOT})", section)
    # ... and its command names the scratch folder the markdown went to.
    section = section.replace(f"{results[0].scratch}/", "")
    return section.strip()


def render_readme(results: list[Result]) -> str:
    """The README's summary: p50 per runtime of VMF-560M, VMF-1G and X3D-S, and file sizes."""
    rows = rows_of(results[0])
    header = ["model, clip", "ONNX Runtime", "OpenVINO", "LiteRT (XNNPACK)", "PyTorch", "`.onnx` / `.tflite`"]
    body = []
    for model, label, form in (
        ("VMF-560M", "VMF-560M", "deployable"),
        ("VMF-1G", "VMF-1G", "deployable"),
        ("X3D-S", "X3D-S for comparison", "naive"),
    ):
        found = {b: find(rows, model, b, form) for b in BACKENDS}
        any_row = next((r for r in found.values() if r), None)
        if any_row is None:
            raise StepFailed(f"the vmf-bench run has no ok row of {model}")
        clip = f"{label}, {any_row['frames']} × {any_row['resolution']}² ({any_row['macs'] / 1e9:.2f} GMACs)"
        cells = [num(r["p50_ms"], 1, " ms") if r else "—" for r in found.values()]
        sizes = [r["size_mb"] for r in (found["onnxruntime"], found["tflite"]) if r and r.get("size_mb")]
        body.append([clip, *cells, " / ".join(f"{s:.1f}" for s in sizes) + " MB" if sizes else "—"])
    return table(header, body)


# --------------------------------------------------------------------------- bench-paced


def paced_steps():
    # Every runtime and form with the pool spinning (ONNX Runtime's default), then ONNX
    # Runtime's deployable row again with spin-wait off: docs/performance.md, "Paced runs".
    pace = ("--threads", "2", "--paced", "267")
    backends = ("--backend", "onnxruntime", "openvino", "tflite", "torch", "--naive")
    return [
        console("vmf-bench", "--variant", "560M", *backends, *pace, "--spin", "on", "--json"),
        console(
            "vmf-bench", "--variant", "560M", "--backend", "onnxruntime", *pace, "--spin", "off", "--json"
        ),
    ]


FORMS = {"deployable": "deployable", "naive": "naive", "reference": "reference (checkpoint)"}


def render_paced(results: list[Result]) -> str:
    first, second = rows_of(results[0]), rows_of(results[1])
    header = ["runtime, form", "spin-wait", "back to back p50", "paced p50 (p90)", "paced / back to back"]

    def line(row: dict, note: str = "") -> list[str]:
        form = FORMS[row["form"]]
        if row["backend"] == "torch" and row["form"] == "deployable":
            form += " (`.pt2`)"
        spin = "—" if row.get("spin") is None else ("on" if row["spin"] else "off")
        ratio = row["paced_p50_ms"] / row["p50_ms"]
        return [
            f"{BACKENDS[row['backend']]}, {form}{note}",
            spin,
            num(row["p50_ms"], 2, " ms"),
            f"{row['paced_p50_ms']:.2f} ({row['paced_p90_ms']:.2f}) ms",
            f"{ratio:.2f}×",
        ]

    body = []
    for backend in BACKENDS:
        for form in FORMS:
            row = find(first, "VMF-560M", backend, form)
            if row is not None and row.get("paced_p50_ms") is not None:
                body.append(line(row))
                if (backend, form) == ("onnxruntime", "deployable"):
                    other = find(second, "VMF-560M", backend, form)
                    if other is None:
                        raise StepFailed("the --spin off run has no ONNX Runtime row")
                    body.append(line(other, " (second run)"))
    return table(header, body, right={2, 3, 4})


# --------------------------------------------------------------------------- stem-reuse


STREAM_RUNS = (
    # (label, model glob, backend, hop, min-time)
    ("VMF-560M, ONNX Runtime, hop 8", "s560/onnx/*_fp32.onnx", None, 8, 5),
    ("VMF-560M, OpenVINO, hop 8", "s560/onnx/*_fp32.onnx", "openvino", 8, 5),
    ("VMF-560M, LiteRT (`.tflite` halves, litert-torch), hop 8", "s560/tflite/*_fp32.tflite", None, 8, 5),
    ("VMF-1G, ONNX Runtime, hop 4 (`--min-time 10`)", "s1g/onnx/*_fp32.onnx", None, 4, 10),
)


def stem_steps():
    steps = [
        console("vmf-export", "--variant", "560M", "--target", "onnx", "--split", "--out", "{scratch}/s560"),
        console(
            "vmf-export", "--variant", "560M", "--target", "tflite", "--split", "--out", "{scratch}/s560"
        ),
        console("vmf-export", "--variant", "1G", "--target", "onnx", "--split", "--out", "{scratch}/s1g"),
    ]
    for _, model, backend, hop, min_time in STREAM_RUNS:
        extra = ("--backend", backend) if backend else ()
        steps.append(
            console(
                "vmf-bench",
                "--model",
                "{glob:" + model + "}",
                *extra,
                "--stream",
                "--hop",
                str(hop),
                "--threads",
                "2",
                "--min-time",
                str(min_time),
                "--json",
            )
        )
    return steps


def render_stem(results: list[Result]) -> str:
    header = ["model, backend, hop", "full clip p50", "per hop p50", "ratio", "composed vs full"]
    body = []
    for (label, *_), result in zip(STREAM_RUNS, results[3:]):
        (run,) = result.json()["stream"]
        body.append(
            [
                label,
                num(run["full_clip"]["p50_ms"], 2, " ms"),
                num(run["per_hop"]["p50_ms"], 2, " ms"),
                f"{run['ratio_p50']:.3f}",
                sci(run["max_rel_err"]),
            ]
        )
    return table(header, body)


# --------------------------------------------------------------------------- model-summary


def render_summary(results: list[Result]) -> str:
    """``python -m vmf.model``'s output, as the code block docs/architecture.md shows."""
    # The table only: the note under it ("Paper: Table 1 ...") is prose the page says itself.
    text = results[0].stdout.strip("\n").split("\n\n")[0]
    if "VMF-560M" not in text:
        raise StepFailed("python -m vmf.model printed no VMF-560M row")
    return "```\n" + text + "\n```"


def _summary_steps():
    return [script("-m", "vmf.model")]


INT8_BACKENDS = {**BACKENDS, "executorch": "ExecuTorch (XNNPACK)"}


def _int8_backend_steps():
    backends = ("--backend", "onnxruntime", "openvino", "tflite", "executorch")
    return [
        console(
            "vmf-bench",
            "--variant",
            "560M",
            *backends,
            "--precision",
            "fp32",
            "int8",
            "--threads",
            "2",
            "--min-time",
            "5",
            "--json",
        )
    ]


def render_int8_backends(results: list[Result]) -> str:
    """fp32 against int8 per runtime, VMF-560M at its own clip: the int8 goal's table."""
    rows = rows_of(results[0])
    header = ["runtime", "fp32 p50", "int8 p50", "int8 / fp32"]
    body = []
    for backend, label in INT8_BACKENDS.items():
        got = {
            r["precision"]: r
            for r in rows
            if r["backend"] == backend and r["form"] == "deployable" and r["status"] == "ok"
        }
        if "fp32" in got and "int8" in got:
            fp32, int8 = got["fp32"]["p50_ms"], got["int8"]["p50_ms"]
            body.append([label, num(fp32, 2, " ms"), num(int8, 2, " ms"), f"{int8 / fp32:.2f}×"])
    if not body:
        raise StepFailed("vmf-bench timed no runtime at both fp32 and int8")
    return table(header, body, right={1, 2, 3})


def _int8_steps():
    return [script("scripts/int8_placement.py", "--threads", "2")]


def render_int8(results: list[Result]) -> str:
    """scripts/int8_placement.py's table: which ops ONNX int8 quantizes, against fp32."""
    rows = [line for line in results[0].stdout.splitlines() if line.startswith("|")]
    if len(rows) < 4 or not any(row.startswith("| stem |") for row in rows):
        raise StepFailed("scripts/int8_placement.py printed no placement table")
    return "\n".join(rows)


def _train_step_steps():
    return [
        script(
            "scripts/train_step_speed.py",
            "--variant",
            "560M",
            "--frames",
            "64",
            "--resolution",
            "112",
            "--batch",
            "16",
            "--threads",
            "2",
            "--rounds",
            "6",
        )
    ]


def render_train_step(results: list[Result]) -> str:
    """scripts/train_step_speed.py's table: a CPU training step with and without fast_backward."""
    lines = results[0].stdout.splitlines()
    rows = [line for line in lines if line.startswith("|")]
    notes = [line for line in lines if line.startswith("first step:")]
    if len(rows) != 4 or not notes:
        raise StepFailed("scripts/train_step_speed.py printed no step table")
    return "\n".join(rows) + "\n\n" + notes[0][0].upper() + notes[0][1:] + "."


REFRESHERS = [
    Refresher(
        "bench-main",
        main_steps,
        render_main,
        joined(main_steps()),
        about="the vmf-bench run of docs/performance.md (exports are cached in ~/.cache/vmf/bench; the timed run about 3 min)",
    ),
    Refresher(
        "bench-main-readme",
        main_steps,
        render_readme,
        joined(main_steps()),
        about="the README's summary of that same run",
    ),
    Refresher(
        "bench-paced",
        paced_steps,
        render_paced,
        joined(paced_steps()),
        about="back to back vs one clip every 267 ms, per runtime",
    ),
    Refresher(
        "stem-reuse",
        stem_steps,
        render_stem,
        joined(stem_steps()),
        about="per-hop latency with stem reuse vs the full clip (split exports)",
    ),
    Refresher(
        "model-summary",
        _summary_steps,
        render_summary,
        joined(_summary_steps()),
        about="params and MACs against Tables 1-2 (counted, not timed)",
    ),
    Refresher(
        "int8-placement",
        _int8_steps,
        render_int8,
        joined(_int8_steps()),
        about="ONNX int8 placements against fp32 on ONNX Runtime and OpenVINO, paired (about 4 min)",
    ),
    Refresher(
        "int8-backends",
        _int8_backend_steps,
        render_int8_backends,
        joined(_int8_backend_steps()),
        about="fp32 vs int8 per runtime, VMF-560M 64x172 (about 4 min)",
    ),
    Refresher(
        "train-step",
        _train_step_steps,
        render_train_step,
        joined(_train_step_steps()),
        about="a CPU training step of VMF-560M with and without vmf.train.fast_backward, paired (about 1 min)",
    ),
]
