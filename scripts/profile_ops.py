"""Where does a clip's time go? Kernel time per op type of one exported ``.onnx``.

vmf-bench says how long a clip takes; this says which kernels take it, with
the runtime's own profiler (ONNX Runtime's per-node trace, OpenVINO's
performance counters), averaged over ``--runs`` clips after ``--warmup``:

    python scripts/profile_ops.py exports/onnx/vmf-560m_fp32.onnx --backend openvino --threads 1
    python scripts/profile_ops.py exports/onnx/vmf-560m_fp32.onnx --backend onnxruntime --json

Rows are (op type, kernel): OpenVINO names the kernel it picked (``jit_avx512_f32``,
``ref_f32`` for its reference fallback, ...) and lists what it fused as ``Subgraph``;
ONNX Runtime names the op as its optimised graph runs it (``ReorderInput`` and
``ReorderOutput`` are its NCHW <-> blocked-layout copies). The sum is kernel time
only: less than the wall time per clip, which also has the framework's overhead.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

BACKENDS = ("onnxruntime", "openvino")


class ProfileError(Exception):
    """A user error: one line, exit 1."""


def random_clip(shape) -> np.ndarray:
    return np.random.default_rng(0).standard_normal([int(d) for d in shape]).astype(np.float32)


def profile_onnxruntime(path: Path, threads: int, warmup: int, runs: int) -> dict:
    """{(op type, provider): total ms over the last ``runs`` runs}."""
    from vmf.model.ort_session import ort_session

    with tempfile.TemporaryDirectory(prefix="vmf-profile-") as scratch:
        try:
            session = ort_session(path, threads=threads, profile_prefix=str(Path(scratch) / "ort"))
        except Exception as exc:  # ORT's own Fail/InvalidGraph/... types
            raise ProfileError(
                f"{path.name} is not a loadable ONNX model ({str(exc).strip().splitlines()[0][:160]})"
            ) from None
        inp = session.get_inputs()[0]
        clip = random_clip(inp.shape)
        for _ in range(warmup + runs):
            session.run(None, {inp.name: clip})
        events = json.loads(Path(session.end_profiling()).read_text())
    # Each run is one "model_run" window; keep the node events inside the last `runs` ones.
    windows = sorted(
        (e["ts"], e["ts"] + e["dur"])
        for e in events
        if e.get("cat") == "Session" and e.get("name") == "model_run"
    )[-runs:]
    totals: dict = collections.Counter()
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        if any(start <= e["ts"] <= end for start, end in windows):
            args = e.get("args", {})
            totals[(args.get("op_name", "?"), args.get("provider", "").replace("ExecutionProvider", ""))] += (
                e["dur"] / 1e3
            )
    return totals


def profile_openvino(path: Path, threads: int, warmup: int, runs: int) -> dict:
    """{(node type, kernel): total ms over ``runs`` runs}."""
    try:
        import openvino as ov
    except ImportError:
        raise ProfileError("--backend openvino needs openvino: pip install 'vmf[openvino]'") from None
    from vmf.runtime.backend_openvino import compile_onnx

    try:  # as vmf's openvino backend compiles it, with the performance counters on
        compiled = compile_onnx(ov.Core(), path, threads, PERF_COUNT=True)
    except Exception:  # OpenVINO raises RuntimeError and its own types
        raise ProfileError(f"{path.name} is not a loadable ONNX model for OpenVINO") from None
    request = compiled.create_infer_request()
    clip = random_clip(compiled.inputs[0].get_partial_shape().to_shape())
    for _ in range(warmup):
        request.infer({0: clip})
    totals: dict = collections.Counter()
    for _ in range(runs):
        request.infer({0: clip})
        for info in request.profiling_info:
            if info.status == info.Status.EXECUTED:
                totals[(info.node_type, info.exec_type)] += info.real_time.total_seconds() * 1e3
    return totals


def summarise(totals: dict, runs: int) -> list[dict]:
    """Rows of op, kernel, ms per clip and share of the kernel time, slowest first."""
    rows = [{"op": op, "kernel": kernel, "ms_per_clip": ms / runs} for (op, kernel), ms in totals.items()]
    whole = sum(r["ms_per_clip"] for r in rows) or 1.0
    for r in rows:
        r["share"] = r["ms_per_clip"] / whole
    return sorted(rows, key=lambda r: -r["ms_per_clip"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="an exported .onnx file")
    p.add_argument("--backend", choices=BACKENDS, default="onnxruntime")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--top", type=int, default=20, help="rows to print (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = p.parse_args(argv)
    try:
        if not args.model.is_file():
            raise ProfileError(f"model file not found: {args.model}")
        if min(args.threads, args.runs) < 1 or args.warmup < 0:
            raise ProfileError("--threads and --runs must be >= 1, --warmup >= 0")
        profile = profile_openvino if args.backend == "openvino" else profile_onnxruntime
        rows = summarise(profile(args.model, args.threads, args.warmup, args.runs), args.runs)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    total = sum(r["ms_per_clip"] for r in rows)
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(args.model),
                    "backend": args.backend,
                    "threads": args.threads,
                    "runs": args.runs,
                    "kernel_ms_per_clip": total,
                    "rows": rows,
                }
            )
        )
        return 0
    print(
        f"{args.model.name} on {args.backend}, {args.threads} thread(s): "
        f"{total:.2f} ms of kernels per clip (mean of {args.runs} runs)"
    )
    for r in rows[: args.top]:
        print(f"{r['ms_per_clip']:8.2f} ms {r['share']:6.1%}  {r['op']} [{r['kernel']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
