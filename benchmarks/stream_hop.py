"""``vmf-bench --stream``: what one hop of a stream costs with stem reuse, beside a full clip.

A stream classifies the newest T frames every ``hop`` frames. Without a split
artifact each hop runs the whole model on the clip (*full clip*); with one
(``vmf.export.split``, docs/streaming.md) it runs the stem only on the windows
it has not seen and the body on all T' stem frames (*per hop*). Both are timed
here in the same process, in alternating blocks of calls, on a sliding window
over random frames, so the ratio is not skewed by drift in the machine's load;
the composed logits are also compared with the full model's on every clip.
"""

from __future__ import annotations

import time

import numpy as np

from vmf.model import VmfError

from .timing import DEFAULT_MIN_TIME

BLOCK = 8  # calls of one kind in a row
WARMUP_BLOCKS = 1


def _stats(samples_s: list[float]) -> dict:
    ms = np.asarray(samples_s) * 1e3
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "runs": int(ms.size),
    }


def bench_stream_hop(
    model_path,
    *,
    backend: str | None = None,
    threads: int,
    hop: int | None = None,
    warmup: int = WARMUP_BLOCKS,
    min_time: float = DEFAULT_MIN_TIME,
    runs: int | None = None,
    spin: bool = True,
) -> dict:
    """Per-hop (stem reuse) and full-clip latency of one exported model with a split artifact."""
    from vmf.runtime.backends import load_backend
    from vmf.runtime.stem_reuse import open_stem_reuse

    full = load_backend(model_path, backend=backend, threads=threads, spin=spin)
    reuse = open_stem_reuse(full)
    if reuse is None:
        raise VmfError(
            f"{full.path.name} has no split artifact for {full.name} (its model card "
            'has no "split"): export with vmf-export --split, or python -m '
            "vmf.export.split on the .onnx"
        )
    frames = int(full.meta["frames"])
    hop = int(hop or reuse.stride)
    if not 1 <= hop <= frames:
        raise VmfError(f"--hop must be between 1 and the clip's {frames} frames, got {hop}")
    shape = tuple(full.input_shape[1:])
    rng = np.random.default_rng(0)
    pool = rng.standard_normal((frames + 8 * hop, *shape)).astype(np.float32)
    # A long "video" made of the pool repeated: frame n is pool[n % len(pool)].
    length = len(pool)

    def clip_at(start: int) -> np.ndarray:
        return np.take(pool, np.arange(start, start + frames) % length, axis=0)

    # Blocks of BLOCK calls of one kind, alternating, the first call of each block untimed:
    # an ONNX Runtime pool keeps spinning a moment after its run, and would slow the
    # other session's call right after it (which a stream never does).
    full_s, hop_s, worst = [], [], 0.0
    start, blocks, began = 0, 0, time.perf_counter()
    while True:
        starts = [start + hop * i for i in range(BLOCK)]
        clips = [clip_at(s) for s in starts]
        timed = blocks >= warmup
        outputs = []
        for i, (s, c) in enumerate(zip(starts, clips)):
            t0 = time.perf_counter()
            outputs.append(reuse.run(c, s))
            if timed and i:
                hop_s.append(time.perf_counter() - t0)
        for i, c in enumerate(clips):
            t0 = time.perf_counter()
            want = full.run(c)
            if timed and i:
                full_s.append(time.perf_counter() - t0)
            scale = max(float(np.abs(want).max()), 1e-12)
            worst = max(worst, float(np.abs(outputs[i].reshape(-1) - want).max()) / scale)
        start += hop * BLOCK
        blocks += 1
        if runs is not None:
            if len(hop_s) >= runs:
                break
        elif len(hop_s) >= 5 and time.perf_counter() - began >= 2 * min_time:
            break
    per_hop, whole = _stats(hop_s), _stats(full_s)
    return {
        "model": full.path.name,
        "backend": full.name,
        "device": full.device,
        "threads": threads,
        "hop": hop,
        "frames": frames,
        "per_hop": per_hop,
        "full_clip": whole,
        "ratio_p50": round(per_hop["p50_ms"] / whole["p50_ms"], 3),
        "stem_frames_computed": reuse.computed,
        "stem_frames_reused": reuse.reused,
        "max_rel_err": worst,
    }


def format_stream_hop(result: dict) -> str:
    h, f = result["per_hop"], result["full_clip"]
    return (
        f"{result['model']} | {result['device']} | hop {result['hop']} of {result['frames']} frames\n"
        f"  full clip           p50 {f['p50_ms']:8.2f} ms  p90 {f['p90_ms']:8.2f} ms  ({f['runs']} runs)\n"
        f"  per hop (stem reuse) p50 {h['p50_ms']:7.2f} ms  p90 {h['p90_ms']:8.2f} ms  ({h['runs']} runs)\n"
        f"  per hop / full clip: {result['ratio_p50']:.3f} (p50); stem frames computed "
        f"{result['stem_frames_computed']}, reused {result['stem_frames_reused']}; "
        f"composed vs full max rel err {result['max_rel_err']:.1e}"
    )
