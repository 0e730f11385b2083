"""Accuracy of one trained checkpoint through every export and backend (docs/training.md table).

    python scripts/accuracy_table.py --weights train/demo/vmf-560m-motion.pt \
        --data runs/data/heldout --calibration runs/data/calib --out runs/accuracy

Exports the checkpoint to ONNX fp32/int8 and TFLite fp32/fp16/int8 with both
converters (``vmf.export.export``), then measures each artifact with
``vmf.train.evaluate`` (the runtime's own backends and preprocessing, one
uniform clip per video) on the same held-out videos: PyTorch, ONNX Runtime,
OpenVINO (on the ONNX files), LiteRT. Besides top-1/top-5/mean class
accuracy it reports each row's top-1 agreement with the PyTorch fp32
predictions and, for int8, top-1 as a fraction of the same path's fp32.
A last row runs PyTorch on frame-shuffled clips: a model that uses temporal
order falls towards chance there. Prints a Markdown table; ``--json`` writes
every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vmf.export.api import export
from vmf.train.evaluate import evaluate

# (row name, export target, converter, precision, backend, fp32 row it is compared with)
ROWS = (
    ("PyTorch fp32", None, None, "fp32", "torch", None),
    ("ONNX Runtime fp32", "onnx", None, "fp32", "onnxruntime", None),
    ("ONNX Runtime int8", "onnx", None, "int8", "onnxruntime", "ONNX Runtime fp32"),
    ("OpenVINO fp32", "onnx", None, "fp32", "openvino", None),
    ("OpenVINO int8", "onnx", None, "int8", "openvino", "OpenVINO fp32"),
    ("LiteRT fp32 (litert-torch)", "tflite", "litert-torch", "fp32", "tflite", None),
    ("LiteRT fp16 (litert-torch)", "tflite", "litert-torch", "fp16", "tflite", None),
    ("LiteRT int8 (litert-torch)", "tflite", "litert-torch", "int8", "tflite", "LiteRT fp32 (litert-torch)"),
    ("LiteRT fp32 (onnx2tf)", "tflite", "onnx2tf", "fp32", "tflite", None),
    ("LiteRT fp16 (onnx2tf)", "tflite", "onnx2tf", "fp16", "tflite", None),
    ("LiteRT int8 (onnx2tf)", "tflite", "onnx2tf", "int8", "tflite", "LiteRT fp32 (onnx2tf)"),
)


def export_all(weights: str, out: Path, calibration: str | None, log) -> dict:
    """{(target, converter, precision): artifact path}, one export call per target/converter."""
    paths = {}
    for target, converter, precisions in (
        ("onnx", None, ("fp32", "int8")),
        ("tflite", "litert-torch", ("fp32", "fp16", "int8")),
        ("tflite", "onnx2tf", ("fp32", "fp16", "int8")),
    ):
        folder = out / (converter or target) / target
        done = {
            p: sorted(folder.glob(f"*_{p}{'_onnx2tf' if converter == 'onnx2tf' else ''}.{target}"))
            for p in precisions
        }
        if all(len(found) == 1 for found in done.values()):  # exported by an earlier run
            paths.update({(target, converter, p): found[0] for p, found in done.items()})
            continue
        report = export(
            None,
            targets=(target,),
            precisions=precisions,
            converter=converter,
            out_dir=out / (converter or target),
            weights=weights,
            calibration=calibration,
            log=log,
            warn=log,
        )
        for artifact in report.artifacts:
            paths[(target, converter, artifact.precision)] = artifact.path
    return paths


def agreement(a: dict, b: dict) -> float:
    pa = {p["video"]: p["predicted"] for p in a["predictions"]}
    pb = {p["video"]: p["predicted"] for p in b["predictions"]}
    common = pa.keys() & pb.keys()
    return sum(pa[v] == pb[v] for v in common) / max(1, len(common))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", required=True)
    p.add_argument("--data", required=True, help="held-out labelled videos")
    p.add_argument("--calibration", help="labelled videos for int8 calibration (not --data)")
    p.add_argument("--out", default="runs/accuracy")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write all figures to this file")
    args = p.parse_args(argv)
    out = Path(args.out)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    paths = export_all(args.weights, out, args.calibration, log)
    results: dict[str, dict] = {}
    for name, target, converter, precision, backend, _ in ROWS:
        model = args.weights if target is None else paths[(target, converter, precision)]
        log(f"evaluating {name}: {model}")
        results[name] = evaluate(model, args.data, backend=backend, threads=args.threads)
    results["PyTorch fp32, frames shuffled"] = evaluate(
        args.weights, args.data, backend="torch", threads=args.threads, shuffle_frames=True
    )

    reference = results["PyTorch fp32"]
    lines = [
        "| model | backend (device) | top-1 | top-5 | mean class acc. | agreement with PyTorch | int8 / fp32 top-1 | int8 agreement with fp32 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    table = []
    for name, r in results.items():
        base = next((row[5] for row in ROWS if row[0] == name), None)
        ratio = r["top1"] / results[base]["top1"] if base else None
        agree_fp32 = agreement(r, results[base]) if base else None
        row = {
            "name": name,
            "device": r["device"],
            "top1": r["top1"],
            "top5": r["top5"],
            "mean_class_accuracy": r["mean_class_accuracy"],
            "n": r["n"],
            "agreement_with_torch": agreement(r, reference),
            "int8_over_fp32": ratio,
            "int8_agreement_with_fp32": agree_fp32,
        }
        table.append(row)
        lines.append(
            f"| {name} | {r['device']} | {r['top1']:.1%} | {r['top5']:.1%} | "
            f"{r['mean_class_accuracy']:.1%} | {row['agreement_with_torch']:.1%} | "
            + (f"{ratio:.1%} | {agree_fp32:.1%} |" if base else "— | — |")
        )
    print(f"{reference['n']} held-out videos from {args.data}")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": table, "data": args.data, "weights": args.weights}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
