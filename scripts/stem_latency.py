"""Latency of VMF-560M's deployable form with the stem's temporal kernel 8 (every frame) vs 5.

    python scripts/stem_latency.py --runs 40 --threads 2

Exports both to ONNX fp32 at the variant's clip (64 x 172^2) through
``vmf.export`` and times them with ONNX Runtime through ``vmf.runtime``,
interleaved in one process (A, B, A, B, ...) so that machine noise hits both;
prints the median of each and their ratio. Kernel 5 lets the deployable stem
skip the 26 frames its temporal conv never reads (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from vmf.export.api import export
from vmf.model import build_model, get_variant, save_checkpoint
from vmf.runtime.backends import load_backend


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    cfg = get_variant("560M")
    stems = {
        "k8 (every frame)": cfg,
        "k5 (X3D)": replace(cfg, stem_temporal_kernel=5, stem_temporal_padding=None),
    }
    backends = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, variant in stems.items():
            torch.manual_seed(0)
            ckpt = save_checkpoint(build_model(variant), Path(tmp) / f"{variant.stem_temporal_kernel}.pt")
            report = export(
                None,
                targets=("onnx",),
                weights=ckpt,
                out_dir=Path(tmp) / str(variant.stem_temporal_kernel),
                log=lambda m: None,
                warn=lambda m: None,
            )
            backends[name] = load_backend(report.artifacts[0].path, threads=args.threads)
        clip = (
            np.random.default_rng(0)
            .standard_normal(next(iter(backends.values())).input_shape)
            .astype(np.float32)
        )
        times = {name: [] for name in backends}
        for b in backends.values():  # warm-up
            for _ in range(3):
                b.run(clip)
        for _ in range(args.runs):
            for name, b in backends.items():
                start = time.perf_counter()
                b.run(clip)
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    for name, m in medians.items():
        print(f"{name}: median {m:.1f} ms over {args.runs} runs ({backends[name].device})")
    a, b = medians.values()
    print(f"ratio k8 / k5: {a / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
