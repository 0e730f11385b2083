"""``vmf-bench``: latency of variants x backends x precisions x threads.

    vmf-bench --variant 560M --backend onnxruntime tflite torch --threads 2 --json
    vmf-bench --variant 560M 1G 2G 5G --baseline --naive --x3d --markdown perf.md --plot perf.png
    vmf-bench --summary                      # params/MACs vs the paper, nothing timed
    vmf-bench --model exports/vmf-560m_fp32.tflite --threads 1 2
    vmf-bench --variant 560M --backend onnxruntime tflite --paced 267   # also one clip every 267 ms
    vmf-bench --variant 560M --backend onnxruntime --hop 8 --fps 30 --spin off   # the same pace

``--paced MS`` (or ``--hop H --fps F``: MS = 1000 H / F) times every row twice in
the same process: back to back, then once every MS milliseconds as a stream runs
the model (the sleep between clips is not counted), and reports both
(docs/performance.md, "Paced runs"). ``--spin`` sets whether the runtime's pool
may busy-wait, as ``vmf-stream --spin`` does.
Exports go into a cache (``--cache``), so a second run only times. Every
requested combination becomes a row; one that fails says why in its
``status`` column and the others are still timed. Exit status: 0 when at
least one row was timed, 1 when none was (the first reason is printed), 2 for
a usage mistake (one line on stderr, no traceback: ``vmf.model.cli``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys

from vmf.contract import targets as registry
from vmf.model import VARIANTS, VmfError
from vmf.model.cli import Parser, run_main
from vmf.runtime.clip_assembler import HOP
from vmf.runtime.thread_plan import SPIN_CHOICES

from .cache import ArtifactCache, default_cache_dir
from .rows import format_table, to_csv, to_json, write_text_atomic
from .jobs import (
    DEVICES,
    PRECISIONS,
    TORCH,
    X3D_NAME,
    Tools,
    backend_targets,
    naive_backends,
    plan_jobs,
    x3d_backends,
)
from .runner import run_jobs, run_model_file
from .timing import (
    DEFAULT_MIN_TIME,
    DEFAULT_ROW_TIMEOUT,
    DEFAULT_WARMUP,
    PACED_MAX_RUNS,
    PACED_MIN_RUNS,
    TimingOptions,
)

DEFAULT_BACKENDS = ("onnxruntime", "tflite", "torch")
# vmf-bench times a runtime as its defaults give it (ONNX Runtime spins), as every figure in
# docs/performance.md was; --spin auto chooses as vmf-stream would on this machine now.
DEFAULT_BENCH_SPIN = "on"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default only where it says something (not None/False, not already in the text)."""

    def _get_help_string(self, action):
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, with a one-line message otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _positive(what: str):
    """An argparse type: a number > 0, with a one-line message otherwise."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {what}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="vmf-bench",
        formatter_class=_HelpFormatter,
        description="Latency of Video Mobile-Former variants x backends x precisions x "
        "threads, as a table, JSON, CSV, markdown and a plot.",
    )
    what = p.add_argument_group("what to time")
    what.add_argument(
        "--variant",
        nargs="+",
        choices=list(VARIANTS),
        default=["560M"],
        metavar="NAME",
        help=f"variants ({', '.join(VARIANTS)})",
    )
    what.add_argument(
        "--backend",
        nargs="+",
        choices=list(backend_targets()),
        default=None,
        metavar="NAME",
        help=f"backends ({', '.join(backend_targets())}); default "
        f"{' '.join(DEFAULT_BACKENDS)}, or the one a --model file's suffix implies",
    )
    what.add_argument(
        "--precision",
        nargs="+",
        choices=PRECISIONS,
        default=["fp32"],
        metavar="P",
        help=f"precisions ({', '.join(PRECISIONS)})",
    )
    what.add_argument(
        "--threads",
        nargs="+",
        type=_positive_int,
        default=None,
        metavar="N",
        help="CPU thread counts to time (default: physical cores)",
    )
    what.add_argument(
        "--baseline", action="store_true", help="also time each variant's Mobile3D baseline (paper Table 2)"
    )
    what.add_argument(
        "--naive",
        action="store_true",
        help=f"also time the naive 5-D export ({', '.join(naive_backends())}) and, on {TORCH}, the "
        "reference network from a checkpoint: what the rank-4 deployable form saves",
    )
    what.add_argument(
        "--x3d",
        action="store_true",
        help=f"also time {X3D_NAME} on a 64x160 clip, exported naively to ONNX "
        f"({', '.join(x3d_backends())}), the paper's Table 12 comparison",
    )
    what.add_argument(
        "--device",
        choices=DEVICES,
        default="cpu",
        help="cuda: ONNX Runtime's CUDA provider and PyTorch on CUDA",
    )
    what.add_argument(
        "--model", metavar="PATH", help="time this exported model (its sidecar says what it is) instead"
    )
    what.add_argument(
        "--stream",
        action="store_true",
        help="with --model: per-hop latency with stem reuse (the model's split "
        "artifact) beside the full-clip latency, alternating in one run",
    )
    what.add_argument(
        "--hop",
        type=_positive_int,
        default=None,
        help="with --stream: frames between clips (default: the stem's temporal stride); "
        f"with --fps: the pace's frames between clips (default: the stream's {HOP})",
    )
    paced = what.add_mutually_exclusive_group()
    paced.add_argument(
        "--paced",
        type=_positive("milliseconds"),
        default=None,
        metavar="MS",
        help="also time one clip every MS milliseconds, as a stream runs the model, beside "
        "the back-to-back runs (the sleep between clips is not counted)",
    )
    paced.add_argument(
        "--fps",
        type=_positive("frames per second"),
        default=None,
        help="pace as a stream of this frame rate does at --hop: --paced 1000*hop/fps",
    )
    what.add_argument(
        "--spin",
        choices=SPIN_CHOICES,
        default=DEFAULT_BENCH_SPIN,
        help="may the runtime's pool busy-wait between operators (ONNX Runtime; the other "
        "runtimes have no switch); auto: as vmf-stream would choose from this machine's load",
    )
    what.add_argument(
        "--converter",
        choices=registry.choices("converter"),
        default=None,
        help=f"TFLite converter to export with (default: the exporter's, "
        f"{registry.get('tflite').default_converter})",
    )
    what.add_argument(
        "--frames",
        type=_positive_int,
        default=None,
        help="clip length instead of the variant's 64 frames (quick checks)",
    )
    what.add_argument(
        "--resolution",
        type=_positive_int,
        default=None,
        help="input side instead of the variant's resolution (quick checks)",
    )
    how = p.add_argument_group("how long")
    how.add_argument(
        "--runs",
        type=_positive_int,
        default=None,
        help="timed runs per row (default: as many as fit in --min-time)",
    )
    how.add_argument(
        "--paced-runs",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"paced runs per row (default: as many as fit in --min-time, sleeps included, "
        f"at least {PACED_MIN_RUNS} and at most {PACED_MAX_RUNS})",
    )
    how.add_argument("--warmup", type=_non_negative_int, default=DEFAULT_WARMUP, help="untimed runs first")
    how.add_argument(
        "--min-time",
        type=_seconds,
        default=DEFAULT_MIN_TIME,
        help="seconds of timed runs per row when --runs is not given",
    )
    how.add_argument(
        "--row-timeout",
        type=_seconds,
        default=DEFAULT_ROW_TIMEOUT,
        help="seconds a row timed in its own process may take before it is stopped and fails",
    )
    how.add_argument(
        "--in-process",
        action="store_true",
        help="time every row in this process instead of a fresh one per row "
        "(faster; but rows then share threads and memory, and peak RSS includes "
        "the converters)",
    )
    how.add_argument(
        "--cache",
        metavar="DIR",
        default=None,
        help=f"exported artifacts are kept here (default {default_cache_dir()})",
    )
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print one JSON object last")
    out.add_argument("--csv", metavar="FILE", help="write the rows as CSV")
    out.add_argument(
        "--markdown",
        metavar="FILE",
        help="write a markdown section (docs/performance.md): machine, command, table, plot",
    )
    out.add_argument("--plot", metavar="FILE.png", help="draw latency against MACs")
    out.add_argument(
        "--summary",
        action="store_true",
        help="print params and MACs against the paper's Tables 1-2; time nothing",
    )
    return p


def cuda_status() -> str | None:
    """None when a CUDA GPU is usable by ONNX Runtime or PyTorch, else why not (one line)."""
    reasons = []
    try:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            return None
        reasons.append("onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)")
    except ImportError:
        reasons.append("onnxruntime is not installed")
    try:
        import torch

        if torch.cuda.is_available():
            return None
        reasons.append(f"torch {torch.__version__} sees no CUDA device")
    except ImportError:
        reasons.append("torch is not installed")
    return "; ".join(reasons)


def _summary(as_json: bool) -> int:
    from vmf.model import count_macs, count_params
    from vmf.model.summary import format_summary, summary_rows

    from .x3d import X3D_S, build_x3d, paper_macs_at

    rows = summary_rows()
    x3d = build_x3d()
    x3d_params, x3d_macs = count_params(x3d), count_macs(x3d, X3D_S.frames, X3D_S.resolution)
    print(format_summary(rows))
    print(
        f"\n{X3D_NAME} (the latency comparison, --x3d): {x3d_params / 1e6:.3f}M params, "
        f"{x3d_macs / 1e9:.3f} GMACs on a {X3D_S.frames}x{X3D_S.resolution} clip (published "
        f"1.96 GMACs at 13 frames = {paper_macs_at(X3D_S.frames) / 1e9:.2f} G at "
        f"{X3D_S.frames})."
    )
    if as_json:
        summary = [dataclasses.asdict(r) for r in rows]
        summary.append(
            {
                "model": X3D_NAME,
                "variant": X3D_NAME,
                "baseline": False,
                "params": x3d_params,
                "macs": x3d_macs,
                "paper_params": 0.0,
                "paper_macs": paper_macs_at(X3D_S.frames),
            }
        )
        print(json.dumps({"summary": summary}))
    return 0


def _command_line(argv) -> str:
    args = sys.argv[1:] if argv is None else list(argv)
    return shlex.join(["vmf-bench", *args])


def main(argv: list[str] | None = None, tools: Tools | None = None) -> int:
    return run_main(lambda: _main(argv, tools or Tools()))


def _main(argv, tools: Tools) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.summary:
        return _summary(args.json)
    if args.device == "cuda":
        reason = cuda_status()
        if reason:
            raise VmfError(f"--device cuda: no usable CUDA GPU here ({reason})")
    if args.plot:  # fail before minutes of timing, not after
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            from vmf.model import MissingDependencyError

            raise MissingDependencyError("--plot needs matplotlib: pip install 'vmf[plot]'") from None
    if args.frames and not args.model:
        for name in args.variant:  # the stem's temporal stride must divide the clip (paper §3)
            stride = VARIANTS[name].temporal_stride
            if args.frames % stride:
                raise VmfError(
                    f"--frames {args.frames} is not a multiple of variant {name}'s temporal stride {stride}"
                )
    if args.threads is None:
        from vmf.runtime.backends import default_threads

        args.threads = [default_threads()]
    paced_ms = _paced_ms(args, parser.error)
    spin, spin_reason = _spin(args.spin, max(args.threads))
    timing = TimingOptions(
        warmup=args.warmup,
        runs=args.runs,
        min_time=args.min_time,
        row_timeout=args.row_timeout,
        paced_ms=paced_ms,
        paced_runs=args.paced_runs,
        spin=spin,
    )
    if args.stream:
        return _stream(args, timing)
    if tools.isolate is None:
        tools.isolate = not args.in_process
    if args.model:
        rows = run_model_file(args.model, args.backend, args.threads, args.device, tools, timing)
    else:
        jobs = plan_jobs(
            args.variant,
            args.backend or list(DEFAULT_BACKENDS),
            args.precision,
            args.threads,
            baseline=args.baseline,
            naive=args.naive,
            x3d=args.x3d,
            device=args.device,
            frames=args.frames,
            resolution=args.resolution,
            converter=args.converter,
        )
        cache = ArtifactCache(args.cache or default_cache_dir())
        rows = run_jobs(jobs, cache, tools, timing)
    return _report(
        rows, args, argv, tools, {"paced_ms": paced_ms, "spin": _spin_record(args.spin, spin, spin_reason)}
    )


def _paced_ms(args, usage_error) -> float | None:
    """``--paced MS``, or ``--fps F`` at ``--hop H`` (the stream's default hop): 1000 H / F."""
    if args.stream and (args.paced or args.fps):
        usage_error(
            f"--{'paced' if args.paced else 'fps'} paces the rows of a table; --stream times "
            "its per-hop runs back to back only"
        )
    if args.hop is not None and not (args.stream or args.fps):
        usage_error("--hop goes with --stream (frames between clips) or --fps (a paced run's pace)")
    if args.paced_runs is not None and not (args.paced or args.fps):
        usage_error("--paced-runs needs --paced MS or --fps F")
    if args.fps:
        return 1000.0 * (args.hop or HOP) / args.fps
    return args.paced


def _spin(asked: str, threads: int) -> tuple[bool, str]:
    """``--spin`` as applied to every row: on/off as asked; auto as vmf-stream would choose."""
    from vmf.runtime.thread_plan import available_cores, choose_spin

    return choose_spin(asked, inference=threads, cores=available_cores())


def _spin_record(asked: str, on: bool, reason: str) -> dict:
    return {"asked": asked, "on": on, "reason": reason}


def _spin_text(run_info: dict | None) -> str | None:
    """``on (auto: load 0.3 of 2 cores)`` for the markdown section."""
    spin = (run_info or {}).get("spin")
    return None if spin is None else f"{'on' if spin['on'] else 'off'} ({spin['reason']})"


def _stream(args, timing: TimingOptions) -> int:
    from .stream_hop import bench_stream_hop, format_stream_hop

    if not args.model:
        raise VmfError("--stream times an exported model with a split artifact: give --model PATH")
    results = [
        bench_stream_hop(
            args.model,
            backend=(args.backend or [None])[0],
            threads=t,
            hop=args.hop,
            min_time=args.min_time,
            runs=args.runs,
            spin=timing.spin,
        )
        for t in args.threads
    ]
    for result in results:
        print(format_stream_hop(result))
    if args.json:
        print(json.dumps({"stream": results}))
    return 0


def _report(rows, args, argv, tools: Tools, run_info: dict | None = None) -> int:
    from .compare import comparisons
    from .machine import machine_info

    print(format_table(rows))
    ratios = comparisons(rows)
    if ratios:
        print("\n" + "\n".join(ratios))
    machine = machine_info()
    if args.csv:
        write_text_atomic(args.csv, to_csv(rows))
    timed = [r for r in rows if r.ok]
    if args.plot and timed:
        from .plot import plot_latency

        plot_latency(rows, args.plot)
    if args.markdown:
        from .report import markdown_section

        write_text_atomic(
            args.markdown,
            markdown_section(
                rows,
                _command_line(argv),
                machine,
                args.plot if timed else None,
                args.markdown,
                ratios,
                spin=_spin_text(run_info),
            ),
        )
    if args.json:  # one line, last: the caller parses the last line of stdout
        print(
            to_json(
                rows,
                command=_command_line(argv),
                machine=machine,
                exports=tools.export_counts(),
                comparisons=ratios,
                **(run_info or {}),
            )
        )
    if not timed:
        first = next((r.reason for r in rows if r.reason), "no rows were requested")
        print(f"error: nothing was timed; first failure: {first}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
