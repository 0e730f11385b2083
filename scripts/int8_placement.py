"""Which ops should ONNX int8 quantize? Latency of each placement against fp32, paired.

    python scripts/int8_placement.py --threads 2
    python scripts/int8_placement.py --variant 1G --backend onnxruntime --json

Exports the variant's fp32 ONNX through ``vmf.export``, writes one static QDQ int8
copy per placement with ``vmf.export.onnx``'s quantizer settings (per-channel int8
weights, uint8 activations, min/max calibration) and times every copy against fp32
on each backend, interleaved in rounds in one process so that machine noise hits
all of them alike. Calibration uses random clips: ranges change the scales, not the
kernels a runtime picks, and this measures speed only (accuracy: scripts/accuracy_table.py).

Placements:
- ``stem``: the dense spatial convolutions only (group 1, kernel wider than 1x1):
  what ``vmf-export`` ships (``export/onnx.py``, ``QUANTIZED_OPS``);
- ``conv``: every convolution (what it shipped before);
- ``1x1``: the pointwise convolutions only;
- ``stem+matmul``: the stem and the bridges', Former's and head's MatMul/Gemm.

Prints a markdown table (p50 of the rounds' medians and its ratio to fp32 per backend);
``--json`` prints the figures as JSON instead. docs/performance.md, "int8 on ONNX
Runtime and OpenVINO", was measured with this script.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

PLACEMENTS = ("stem", "conv", "1x1", "stem+matmul")
BACKENDS = ("onnxruntime", "openvino")


def _conv_groups(model) -> dict[str, list[str]]:
    """Conv node names by kind: depthwise, 1x1 and dense (group 1, a wider kernel)."""
    from vmf.export.onnx import activation_bound_convs

    bound = set(activation_bound_convs(model))  # names unnamed nodes too
    groups = {"depthwise": [], "1x1": [], "dense": []}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        kind = "depthwise" if group > 1 else "1x1" if node.name in bound else "dense"
        groups[kind].append(node.name)
    return groups


def quantize_placement(fp32: Path, out: Path, placement: str, clips: list[np.ndarray]) -> Path:
    """An int8 QDQ copy of ``fp32`` quantizing ``placement``'s ops, with the exporter's settings."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from vmf.export.onnx import unshare_conv_parameters
    from vmf.export.quiet import quiet

    model = unshare_conv_parameters(onnx.load(str(fp32)))
    groups = _conv_groups(model)
    name = model.graph.input[0].name
    op_types = ["Conv", "MatMul", "Gemm"] if placement == "stem+matmul" else ["Conv"]
    exclude = {
        "stem": groups["depthwise"] + groups["1x1"],
        "conv": [],
        "1x1": groups["depthwise"] + groups["dense"],
        "stem+matmul": groups["depthwise"] + groups["1x1"],
    }[placement]

    class Clips(CalibrationDataReader):
        def __init__(self):
            self._clips = iter(clips)

        def get_next(self):
            clip = next(self._clips, None)
            return None if clip is None else {name: clip}

    with quiet(), warnings.catch_warnings():  # its advice to pre-process is logged to stderr
        warnings.simplefilter("ignore")
        quantize_static(
            model,
            str(out),
            Clips(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=op_types,
            nodes_to_exclude=exclude,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibTensorRangeSymmetric": False},
        )
    # The backends read what a file is from its sidecar: the fp32 one, marked int8.
    card = json.loads(fp32.with_suffix(".json").read_text())
    card["precision"] = "int8"
    out.with_suffix(".json").write_text(json.dumps(card))
    return out


def time_paired(paths: dict[str, Path], backend: str, threads: int, rounds: int, runs: int) -> dict:
    """{label: [median ms per round]}: every model timed once per round, in turn."""
    from vmf.runtime.backends import load_backend

    loaded = {k: load_backend(p, backend=backend, threads=threads) for k, p in paths.items()}
    clip = np.random.default_rng(1).standard_normal(next(iter(loaded.values())).meta["input_shape"])
    clip = clip.astype(np.float32)
    medians: dict[str, list[float]] = {k: [] for k in loaded}
    for _ in range(rounds):
        for label, model in loaded.items():
            for _ in range(3):  # warm this model's pool and caches after the previous one
                model.run(clip)
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                model.run(clip)
                times.append((time.perf_counter() - start) * 1e3)
            medians[label].append(statistics.median(times))
    return medians


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="560M")
    p.add_argument("--frames", type=int, default=None, help="default: the variant's 64")
    p.add_argument("--resolution", type=int, default=None, help="default: the variant's")
    p.add_argument("--backend", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    p.add_argument("--placement", nargs="+", choices=PLACEMENTS, default=list(PLACEMENTS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--runs", type=int, default=15, help="timed runs per model per round (default 15)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.runs < 1 or args.threads < 1:
        print("error: --rounds, --runs and --threads must be >= 1", file=sys.stderr)
        return 2

    from vmf.export.api import export
    from vmf.model import VmfError

    with tempfile.TemporaryDirectory(prefix="vmf-int8-") as scratch:
        scratch = Path(scratch)
        try:
            report = export(
                args.variant,
                targets=("onnx",),
                precisions=("fp32",),
                frames=args.frames,
                resolution=args.resolution,
                out_dir=scratch / "export",
                log=lambda line: None,
            )
        except VmfError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        fp32 = report.artifacts[0].path
        shape = [int(d) for d in json.loads(fp32.with_suffix(".json").read_text())["input_shape"]]
        clips = [np.random.default_rng(i).standard_normal(shape).astype(np.float32) for i in range(2)]
        paths = {"fp32": fp32}
        for placement in args.placement:
            paths[placement] = quantize_placement(
                fp32, scratch / f"{placement.replace('+', '_')}.onnx", placement, clips
            )
        sizes = {k: round(v.stat().st_size / 1e6, 1) for k, v in paths.items()}
        results = {}
        for backend in args.backend:
            medians = time_paired(paths, backend, args.threads, args.rounds, args.runs)
            base = statistics.median(medians["fp32"])
            results[backend] = {
                k: {
                    "p50_ms": round(statistics.median(v), 2),
                    "vs_fp32": round(statistics.median(v) / base, 2),
                }
                for k, v in medians.items()
            }
        shutil.rmtree(scratch / "export", ignore_errors=True)

    shape_text = f"{shape[0]}x{shape[-1]}"
    if args.json:
        print(
            json.dumps(
                {
                    "variant": args.variant,
                    "clip": shape_text,
                    "threads": args.threads,
                    "size_mb": sizes,
                    "results": results,
                },
                indent=1,
            )
        )
        return 0
    head = " | ".join(f"{b} p50 | ×fp32" for b in args.backend)
    print(f"VMF-{args.variant} {shape_text}², {args.threads} threads, {args.rounds} interleaved rounds\n")
    print(f"| quantized | file MB | {head} |")
    print("|---|---:|" + "---:|---:|" * len(args.backend))
    for label in paths:
        cells = " | ".join(
            f"{results[b][label]['p50_ms']:.2f} ms | {results[b][label]['vs_fp32']:.2f}" for b in args.backend
        )
        print(f"| {'— (fp32)' if label == 'fp32' else label} | {sizes[label]} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
