"""Partition counts per target and phone accelerator for the four variants (the support matrix).

Exports each variant with ``vmf.export.export`` (seeded weights: partitions do
not depend on the weights) to the server ONNX, ONNX Runtime Mobile (``ort``)
and TFLite fp32 + int8, and prints the counts the exporter wrote into each
model card: ONNX Runtime's mobile checker for Core ML MLProgram and NNAPI,
the LiteRT interpreter's XNNPACK partitions and TensorFlow's GPU-delegate
analyzer (docs/mobile-accelerators.md). ``--frames`` shortens the clip (the
graph's ops do not change with T as long as T' = T / s_t > 1):

    .venv/bin/python scripts/partition_table.py --frames 16 --out /tmp/partitions
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vmf.export import export
from vmf.model import VARIANTS, VmfError

COLUMNS = (
    ("onnx", "fp32", "coreml_mlprogram"),
    ("onnx", "fp32", "nnapi"),
    ("ort", "fp32", "coreml_mlprogram"),
    ("ort", "fp32", "nnapi"),
    ("tflite", "fp32", "xnnpack"),
    ("tflite", "fp32", "gpu"),
    ("tflite", "int8", "xnnpack"),
    ("tflite", "int8", "gpu"),
)


def cell(card: dict, accelerator: str) -> str:
    count = (card.get("partitions") or {}).get(accelerator)
    if count is None:
        return "n/a"
    text = str(count["partitions"])
    if count["coverage"] < 1:
        text += f" ({count['coverage']:.1%})"
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", nargs="+", default=list(VARIANTS))
    p.add_argument("--frames", type=int, help="clip length (default: each variant's 64)")
    p.add_argument("--out", default="exports/partitions", help="export folder")
    p.add_argument("--json", help="also write the table as JSON here")
    args = p.parse_args(argv)
    rows = {}
    for variant in args.variant:
        cards = {}
        try:
            kw = dict(
                frames=args.frames,
                out_dir=Path(args.out) / variant,
                allow_partitions=True,
                log=lambda m: None,
                warn=lambda m: None,
            )
            reports = [
                export(variant, targets=("onnx",), precisions=("fp32",), **kw),
                export(variant, targets=("ort",), precisions=("fp32",), **kw),
                export(variant, targets=("tflite",), precisions=("fp32", "int8"), **kw),
            ]
        except VmfError as exc:
            print(f"error: {variant}: {exc}", file=sys.stderr)
            return 1
        for report in reports:
            for art in report.artifacts:
                if art.path.suffix in (".onnx", ".tflite") and not art.path.stem.endswith("_mobile"):
                    cards[(art.target, art.precision)] = json.loads(art.sidecar.read_text())
                elif art.path.suffix == ".ort":
                    cards[("ort", art.precision)] = json.loads(art.sidecar.read_text())
        rows[variant] = {f"{t} {p} {a}": cell(cards[(t, p)], a) for t, p, a in COLUMNS}
        frames = reports[0].frames
        print(f"{variant} ({frames} x {reports[0].resolution}^2): {rows[variant]}", flush=True)
    header = ["variant"] + [f"{t} {p} {a}" for t, p, a in COLUMNS]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for variant, row in rows.items():
        print("| " + " | ".join([variant] + list(row.values())) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
