"""Refreshers of figures an export measures: accelerator partitions (README,
docs/mobile-accelerators.md), ExecuTorch's delegation of every variant
(docs/executorch.md), and the demo model's accuracy through every export
(docs/training.md). All are slow: each converts several models, int8 included.
"""

from __future__ import annotations

import json
import re

from figure_steps import Refresher, Result, StepFailed, console, joined, pct, script, table

VARIANTS = ("560M", "1G", "2G", "5G")
# partition_table.py's keys, in the columns of docs/mobile-accelerators.md's support matrix.
PARTITION_KEYS = (
    "onnx fp32 coreml_mlprogram",
    "onnx fp32 nnapi",
    "ort fp32 coreml_mlprogram",
    "ort fp32 nnapi",
    "tflite fp32 xnnpack",
    "tflite fp32 gpu",
    "tflite int8 xnnpack",
    "tflite int8 gpu",
)


def resolution(variant: str) -> int:
    from vmf.model.variants import VARIANTS as TABLE  # torch-free

    return TABLE[variant].resolution


def partition_steps():
    return [
        script(
            "scripts/partition_table.py",
            "--frames",
            "16",
            "--out",
            "{scratch}/partitions",
            "--json",
            "{scratch}/partitions.json",
        )
    ]


def partition_rows(results: list[Result]) -> dict:
    rows = json.loads(results[0].file("partitions.json").read_text())
    missing = [v for v in VARIANTS if v not in rows]
    if missing:
        raise StepFailed(f"partition_table.py wrote no row for {', '.join(missing)}")
    return rows


def spaced(cell: str) -> str:
    return re.sub(r"(\d)%", r"\1 %", cell)  # '18 (97.8%)' -> '18 (97.8 %)', as the docs write shares


def render_partitions(results: list[Result]) -> str:
    rows = partition_rows(results)
    header = [
        "variant",
        "ONNX server: Core ML MLProgram",
        "ONNX server: NNAPI",
        "ort: Core ML MLProgram",
        "ort: NNAPI",
        "TFLite fp32: XNNPACK",
        "TFLite fp32: GPU",
        "TFLite int8: XNNPACK",
        "TFLite int8: GPU",
    ]
    body = [[f"VMF-{v} ({resolution(v)}²)", *(spaced(rows[v][k]) for k in PARTITION_KEYS)] for v in VARIANTS]
    return table(header, body)


# --------------------------------------------------------------------------- partitions-readme


def readme_partition_steps():
    steps = partition_steps()
    for v in VARIANTS:  # the .pte column: the delegation lint of an fp32 and an int8 export
        steps.append(
            console(
                "vmf-export",
                "--variant",
                v,
                "--target",
                "executorch",
                "--precision",
                "fp32",
                "--precision",
                "int8",
                "--frames",
                "16",
                "--out",
                "{scratch}/pte-" + v,
            )
        )
    return steps


def count(cell: str) -> str:
    m = re.match(r"\s*(\d+|n/a)", cell)
    if not m:
        raise StepFailed(f"cannot read a partition count from {cell!r}")
    return m.group(1)


def pair(a: str, b: str) -> str:
    return a if a == b else f"{a}, {b}"


def card_of(results: list[Result], folder: str, precision: str) -> dict:
    found = sorted((results[0].scratch / folder).rglob(f"*_{precision}*.json"))
    cards = [json.loads(p.read_text()) for p in found]
    cards = [c for c in cards if c.get("target") == "executorch" and c.get("precision") == precision]
    if len(cards) != 1:
        raise StepFailed(f"expected one {precision} .pte card under {folder}, found {len(cards)}")
    return cards[0]


def render_readme_partitions(results: list[Result]) -> str:
    rows = partition_rows(results)
    header = [
        "variant",
        "server `.onnx`: Core ML EP / NNAPI",
        "`.ort`: Core ML EP / NNAPI",
        "`.tflite` fp32, int8: XNNPACK / GPU",
        "`.pte` fp32, int8: XNNPACK (portable ops)",
    ]
    body = []
    for v in VARIANTS:
        r = {k: count(rows[v][k]) for k in PARTITION_KEYS}
        pte = []
        for precision in ("fp32", "int8"):
            lint = card_of(results, f"pte-{v}", precision).get("lint") or {}
            pte.append(f"{lint.get('partitions')} ({lint.get('portable_ops')})")
        body.append(
            [
                f"VMF-{v}",
                f"{r['onnx fp32 coreml_mlprogram']} / {r['onnx fp32 nnapi']}",
                f"{r['ort fp32 coreml_mlprogram']} / {r['ort fp32 nnapi']}",
                f"{pair(r['tflite fp32 xnnpack'], r['tflite int8 xnnpack'])} / {pair(r['tflite fp32 gpu'], r['tflite int8 gpu'])}",
                pair(*pte),
            ]
        )
    return table(header, body)


# --------------------------------------------------------------------------- executorch-variants

# (label, folder, vmf-export arguments): docs/executorch.md's table of every variant.
ET_MODELS = (
    ("VMF-560M (demo weights)", "et-demo", ("--weights", "train/demo/vmf-560m-motion.pt")),
    ("VMF-1G", "et-1g", ("--variant", "1G", "--frames", "8", "--resolution", "64")),
    ("VMF-2G", "et-2g", ("--variant", "2G", "--frames", "8", "--resolution", "64")),
    ("VMF-5G", "et-5g", ("--variant", "5G", "--frames", "8", "--resolution", "64")),
    (
        "Mobile3D-560M",
        "et-b560m",
        ("--variant", "560M", "--baseline", "--frames", "16", "--resolution", "64"),
    ),
    ("Mobile3D-1G", "et-b1g", ("--variant", "1G", "--baseline", "--frames", "8", "--resolution", "64")),
    ("Mobile3D-2G", "et-b2g", ("--variant", "2G", "--baseline", "--frames", "8", "--resolution", "64")),
    ("Mobile3D-5G", "et-b5g", ("--variant", "5G", "--baseline", "--frames", "8", "--resolution", "64")),
)


def et_steps():
    return [
        console("vmf-export", *args, "--target", "executorch", "--out", "{scratch}/" + folder)
        for _, folder, args in ET_MODELS
    ]


def render_et(results: list[Result]) -> str:
    header = ["model", "clip", "partitions", "ops delegated / portable", "size", "max rel err (gate 1e-4)"]
    body = []
    for label, folder, _ in ET_MODELS:
        card = card_of(results, folder, "fp32")
        lint, parity = card.get("lint") or {}, card.get("parity") or {}
        pte = sorted((results[0].scratch / folder).rglob("*_fp32*.pte"))
        if len(pte) != 1:
            raise StepFailed(f"expected one fp32 .pte under {folder}, found {len(pte)}")
        err = parity.get("max_rel_err")
        body.append(
            [
                label,
                f"{card['frames']} x {card['resolution']}^2",
                str(lint.get("partitions")),
                f"{lint.get('delegated_ops')} / {lint.get('portable_ops')}",
                f"{pte[0].stat().st_size / 2**20:.1f} MB",  # MB as vmf-bench counts them (2**20 bytes)
                "—" if err is None else re.sub(r"e-0(\d)", r"e-\1", f"{err:.1e}"),
            ]
        )
    return table(header, body)


# --------------------------------------------------------------------------- accuracy-demo

# The committed demo model predates no_motion (docs/training.md, "The demo model"): its
# held-out and calibration videos are the ten classes it knows.
TEN = "moving_left,moving_right,moving_up,moving_down,rotating_clockwise,rotating_anticlockwise,growing,shrinking,appearing,disappearing"
ROWS = (
    ("PyTorch fp32", "PyTorch fp32 (checkpoint)"),
    ("ONNX Runtime fp32", "ONNX Runtime fp32"),
    ("ONNX Runtime int8", "ONNX Runtime int8"),
    ("OpenVINO fp32", "OpenVINO fp32"),
    ("OpenVINO int8", "OpenVINO int8"),
    ("LiteRT fp32", "LiteRT fp32 (litert-torch)"),
    ("LiteRT int8", "LiteRT int8 (litert-torch)"),
)


def accuracy_steps():
    return [
        console(
            "vmf-data",
            "synth",
            "--out",
            "{scratch}/heldout",
            "--per-class",
            "20",
            "--seed",
            "2026",
            "--classes",
            TEN,
        ),
        console(
            "vmf-data",
            "synth",
            "--out",
            "{scratch}/calib",
            "--per-class",
            "6",
            "--seed",
            "77",
            "--classes",
            TEN,
        ),
        script(
            "scripts/accuracy_table.py",
            "--weights",
            "train/demo/vmf-560m-motion.pt",
            "--data",
            "{scratch}/heldout",
            "--calibration",
            "{scratch}/calib",
            "--out",
            "{scratch}/accuracy",
            "--json",
            "{scratch}/accuracy.json",
            "--rows",
            ",".join(name for name, _ in ROWS),
        ),
    ]


def agreement(a: dict, b: dict) -> float:
    """The share of videos two runs predict the same class for."""
    theirs = {p["video"]: p["predicted"] for p in b["predictions"]}
    same = [p["predicted"] == theirs.get(p["video"]) for p in a["predictions"]]
    return sum(same) / len(same) if same else 0.0


def render_accuracy(results: list[Result]) -> str:
    record = json.loads(results[2].file("accuracy.json").read_text())
    rows = record["rows"]
    torch = rows["PyTorch fp32"]["heldout"]
    header = [
        "model",
        "top-1",
        "top-5",
        "mean class acc.",
        "agreement with PyTorch",
        "int8 / fp32 top-1",
        "int8 agreement with its fp32",
    ]
    body = []
    for name, label in ROWS:
        h = rows[name]["heldout"]
        fp32 = rows.get(name.replace("int8", "fp32"), {}).get("heldout") if name.endswith("int8") else None
        body.append(
            [
                label,
                pct(h["top1"]),
                pct(h["top5"]),
                pct(h["mean_class_accuracy"]),
                "—" if name == "PyTorch fp32" else pct(agreement(h, torch)),
                pct(h["top1"] / fp32["top1"]) if fp32 else "—",
                pct(agreement(h, fp32)) if fp32 else "—",
            ]
        )
    s = record["shuffled"]
    body.append(
        [
            "PyTorch fp32, **frames shuffled** (`vmf-eval --shuffle-frames`)",
            pct(s["top1"]),
            pct(s["top5"]),
            pct(s["mean_class_accuracy"]),
            pct(agreement(s, torch)),
            "—",
            "—",
        ]
    )
    return table(header, body)


REFRESHERS = [
    Refresher(
        "partitions",
        partition_steps,
        render_partitions,
        joined(partition_steps()),
        slow=True,
        about="partitions per accelerator of the four variants (partition_table.py: ONNX, .ort, TFLite fp32 and int8)",
    ),
    Refresher(
        "partitions-readme",
        readme_partition_steps,
        render_readme_partitions,
        joined(readme_partition_steps()),
        slow=True,
        about="the README's partition summary, with ExecuTorch's fp32 and int8 lint",
    ),
    Refresher(
        "executorch-variants",
        et_steps,
        render_et,
        joined(et_steps()),
        slow=True,
        about="ExecuTorch lowering of every variant and baseline (minutes each)",
    ),
    Refresher(
        "accuracy-demo",
        accuracy_steps,
        render_accuracy,
        joined(accuracy_steps()),
        slow=True,
        about="the demo model's accuracy through every export on 200 held-out videos",
    ),
]
