"""Accuracy of one trained checkpoint through every export and runtime (docs/training.md tables).

    python scripts/accuracy_table.py --weights train/demo/vmf-560m-motion.pt \
        --data runs/data/heldout --other runs/data/other --timeline runs/data/timeline \
        --stream runs/data/stream --calibration runs/data/calib --out runs/accuracy --json runs/accuracy.json

Exports the checkpoint (``vmf.export.export``) to ONNX fp32/int8, LiteRT
fp32/int8 and ExecuTorch (XNNPACK) fp32/int8, then measures every artifact
through the runtime's own backends and preprocessing, as ``vmf-eval`` does:

- ``--data``: whole videos, one uniform clip each (the paper's protocol);
- ``--other``: the same, on videos of the independent renderer
  (``scripts/render_other_motions.py``);
- ``--timeline``: untrimmed videos with segments files, streamed through a
  ``Classifier`` exactly as ``vmf-stream`` does (``vmf.train.window_eval``):
  window top-1, per-class window accuracy, switch latency, flicker. Each video is
  decoded once and its frames are pushed into every row's classifier;
- ``--stream``: the same window scoring on a few streaming checks (``vmf-data
  left-right`` and ``vmf-data still``): every window inside a segment must be right.

int8 rows also report their top-1 as a fraction of the same runtime's fp32
row. A last row runs PyTorch on frame-shuffled clips of ``--data``: a model
that uses temporal order falls towards chance there. Prints Markdown tables;
``--json`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from vmf.export.api import export
from vmf.train.evaluate import evaluate
from vmf.train.window_eval import (
    find_timelines,
    load_segments,
    open_video,
    score_video,
    stream_predictions_many,
    summarise,
)

# (row name, export target, precision, runtime backend, fp32 row an int8 row is compared with)
ROWS = (
    ("PyTorch fp32", None, "fp32", "torch", None),
    ("ONNX Runtime fp32", "onnx", "fp32", "onnxruntime", None),
    ("ONNX Runtime int8", "onnx", "int8", "onnxruntime", "ONNX Runtime fp32"),
    ("OpenVINO fp32", "onnx", "fp32", "openvino", None),
    ("OpenVINO int8", "onnx", "int8", "openvino", "OpenVINO fp32"),
    ("LiteRT fp32", "tflite", "fp32", "tflite", None),
    ("LiteRT int8", "tflite", "int8", "tflite", "LiteRT fp32"),
    ("ExecuTorch fp32", "executorch", "fp32", "executorch", None),
    ("ExecuTorch int8", "executorch", "int8", "executorch", "ExecuTorch fp32"),
)


def export_all(weights: str, out: Path, calibration: str | None, targets, log) -> dict:
    """{(target, precision): artifact path}; an artifact exported by an earlier run is reused."""
    suffix = {"onnx": "onnx", "tflite": "tflite", "executorch": "pte"}
    paths = {}
    for target in targets:
        folder = out / target / target
        found = {p: sorted(folder.glob(f"*_{p}.{suffix[target]}")) for p in ("fp32", "int8")}
        if all(len(f) == 1 for f in found.values()):
            paths.update({(target, p): f[0] for p, f in found.items()})
            continue
        report = export(
            None,
            targets=(target,),
            precisions=("fp32", "int8"),
            out_dir=out / target,
            weights=weights,
            calibration=calibration,
            log=log,
            warn=log,
        )
        for artifact in report.artifacts:
            paths[(target, artifact.precision)] = artifact.path
    return paths


def windows_of_all(models: dict, data: str, threads: int, log) -> dict:
    """Window figures of every model over ``data``'s timelines, each video decoded once."""
    from vmf.runtime.backends import load_backend
    from vmf.runtime.classifier import Classifier

    pairs, _ = find_timelines(data, log)
    classifiers, labels = {}, None
    for name, (path, backend) in models.items():
        model = load_backend(path, backend=backend, threads=threads)
        classifiers[name] = Classifier(model, hop=8)
        labels = labels or list(model.labels)
    segments = load_segments(pairs, labels)
    scored = {name: [] for name in models}
    started = time.perf_counter()
    for k, ((video, _), segs) in enumerate(zip(pairs, segments)):
        for c in classifiers.values():
            c.reset()
        fps, frames = open_video(video)
        predictions, count = stream_predictions_many(list(classifiers.values()), frames, fps)
        for name, preds in zip(classifiers, predictions):
            scored[name].append(score_video(str(video), fps, count, preds, segs))
        log(f"windows: {video.name} ({k + 1}/{len(pairs)}, {time.perf_counter() - started:.0f} s)")
    out = {}
    for name, videos in scored.items():
        figures = summarise(videos, labels)
        figures["minutes"] = round(sum(v.frames / v.fps for v in videos) / 60, 2)
        out[name] = figures
    return out


def pct(x) -> str:
    return "—" if x is None else f"{x:.1%}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", required=True)
    p.add_argument("--data", required=True, help="held-out labelled videos (whole-video protocol)")
    p.add_argument("--other", help="videos of scripts/render_other_motions.py")
    p.add_argument("--timeline", help="untrimmed videos with segments files (vmf-data timeline)")
    p.add_argument("--stream", help="streaming checks with segments files (left-right, still)")
    p.add_argument("--calibration", help="labelled videos for int8 calibration (not --data)")
    p.add_argument("--rows", help="comma-separated row names to run (default: all)")
    p.add_argument("--out", default="runs/accuracy")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write all figures to this file")
    args = p.parse_args(argv)
    out = Path(args.out)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    rows = [r for r in ROWS if not args.rows or r[0] in args.rows.split(",")]
    targets = sorted({r[1] for r in rows if r[1]})
    paths = export_all(args.weights, out, args.calibration, targets, log)
    models = {
        name: (args.weights if t is None else paths[(t, prec)], backend) for name, t, prec, backend, _ in rows
    }
    results: dict[str, dict] = {name: {} for name in models}
    for name, (model, backend) in models.items():
        log(f"whole videos: {name}: {model}")
        results[name]["heldout"] = evaluate(model, args.data, backend=backend, threads=args.threads)
        if args.other:
            results[name]["other"] = evaluate(model, args.other, backend=backend, threads=args.threads)
    for key, folder in (("timeline", args.timeline), ("stream", args.stream)):
        if folder:
            for name, figures in windows_of_all(models, folder, args.threads, log).items():
                results[name][key] = figures
    shuffled = evaluate(args.weights, args.data, backend="torch", threads=args.threads, shuffle_frames=True)

    base = {r[0]: r[4] for r in rows}
    lines = [
        "| model | held-out top-1 | independent renderer top-1 (worst class) | window top-1 (worst class) "
        "| switch latency median / p90 (frames) | flips / min | streaming checks | int8 / fp32 (held-out, renderer) "
        "| int8 − fp32 window top-1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        h, o, w, s = r["heldout"], r.get("other"), r.get("timeline"), r.get("stream")
        ref = results.get(base[name] or "", {})
        worst_o = min(o["per_class"].values()) if o else None
        worst_w = min(v for v in w["per_class"].values() if v is not None) if w else None
        ratio = (
            f"{h['top1'] / ref['heldout']['top1']:.1%}, "
            + (f"{o['top1'] / ref['other']['top1']:.1%}" if o else "—")
            if ref
            else "—"
        )
        delta = f"{(w['window_top1'] - ref['timeline']['window_top1']) * 100:+.1f} pts" if ref and w else "—"
        lat = w["switch_latency_frames"] if w else None
        lines.append(
            f"| {name} | {pct(h['top1'])} | {pct(o['top1']) if o else '—'} ({pct(worst_o)}) | "
            f"{pct(w['window_top1']) if w else '—'} ({pct(worst_w)}) | "
            f"{lat['median'] if lat else '—'} / {lat['p90'] if lat else '—'} | "
            f"{w['flips_per_minute'] if w else '—'} | {pct(s['window_top1']) if s else '—'} | {ratio} | {delta} |"
        )
    lines.append(f"| PyTorch fp32, frames shuffled | {pct(shuffled['top1'])} | — | — | — | — | — | — | — |")
    print(f"{results[rows[0][0]]['heldout']['n']} held-out videos from {args.data}")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"weights": args.weights, "rows": results, "shuffled": shuffled, "args": vars(args)},
                indent=1,
                default=str,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
