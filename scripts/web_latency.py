"""The browser target's speed against native ONNX Runtime on the same model, in one run.

Opens the web export's ``?bench=N&pace=MS`` page in Chromium with 1 and 2 WASM threads
(the page's own timing: ``VMF-BENCH`` lines, docs/web.md), runs the same ``model/model.onnx``
in Python's ONNX Runtime with 1 and 2 threads (``vmf.model.ort_session``), each timed
back to back and then paced, one run every MS ms as a stream at hop 8 and 30 fps runs
its model (``vmf-bench --paced``, docs/performance.md), times the
first prediction of a live page (page opened to the first ``VMF`` line, the fake camera
playing the left-right video at 25 fps, so at least the 64 frames of the first clip,
2.56 s, are in it), and sums the site's download size (each file's gzip -9). Prints a
markdown section with the machine, commit, date and load it ran under:

    python scripts/web_latency.py                          # exports the demo model first
    python scripts/web_latency.py --site exports/web/vmf-560m_r112_fp32.web --bench 50

Measure on an otherwise idle machine: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if str(Path(__file__).resolve().parent) not in sys.path:  # its helpers beside it, however it is loaded
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import web_camera  # noqa: E402
import web_harness  # noqa: E402

LOAD_S = 600  # model download, WASM compile: bounded, never part of a figure


PACE_MS = 267.0  # hop 8 at 30 fps, as vmf-bench --paced 267


def browser_bench(playwright, server, threads: int, runs: int, pace_ms: float) -> dict:
    """The page's ``?bench=runs&pace=MS&threads=N`` report (p50_ms, paced_p50_ms, ...)."""
    browser = web_harness.launch(playwright)
    try:
        page = browser.new_page()
        log = web_harness.PageLog().attach(page)
        page.goto(server.page_url(bench=runs, pace=f"{pace_ms:g}", threads=threads))
        (report,) = log.wait_for(page, "VMF-BENCH", LOAD_S + 60 * runs + runs * pace_ms / 1e3)
    finally:
        browser.close()
    if report.get("threads") != threads:
        raise RuntimeError(f"asked the page for {threads} threads, it ran {report.get('threads')}: {report}")
    return report


def native_bench(model: Path, card: dict, threads: int, runs: int, pace_ms: float) -> dict:
    """The same model in Python's ONNX Runtime: one warm-up run, ``runs`` timed back to back,
    then ``runs`` paced (the page's order)."""
    from vmf.benchmarks.timing import time_paced
    from vmf.model.ort_session import ort_session

    started = time.perf_counter()
    session = ort_session(model, threads=threads)
    load_ms = (time.perf_counter() - started) * 1e3
    spec = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in spec.shape] or card["input_shape"]
    clip = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        session.run(None, {spec.name: clip})
        times.append((time.perf_counter() - started) * 1e3)
    first, timed = times[0], times[1:]
    record = {
        "p50_ms": float(np.median(timed)),
        "p90_ms": float(np.percentile(timed, 90)),
        "min_ms": float(np.min(timed)),
        "first_ms": first,
        "load_ms": load_ms,
        "threads": threads,
        "paced_ms": pace_ms or None,
        "paced_p50_ms": None,
        "paced_p90_ms": None,
        "paced_ratio": None,
    }
    if pace_ms:
        paced = (
            np.array(time_paced(lambda: session.run(None, {spec.name: clip}), pace_ms / 1e3, runs=runs)) * 1e3
        )
        record.update(
            paced_p50_ms=float(np.median(paced)),
            paced_p90_ms=float(np.percentile(paced, 90)),
            paced_ratio=float(np.median(paced)) / record["p50_ms"],
        )
    return record


def first_prediction(playwright, server, camera: web_camera.CameraVideo, threads: int) -> dict:
    """Seconds from opening the live page to its first ``VMF`` line (and to ``VMF-READY``)."""
    browser = web_harness.launch(playwright, camera=camera.y4m)
    try:
        page = browser.new_page()
        log = web_harness.PageLog().attach(page)
        opened = time.monotonic()
        page.goto(server.page_url(threads=threads))
        log.wait_for(page, "VMF", LOAD_S)
    finally:
        browser.close()
    arrived = {prefix: t for t, prefix, _ in reversed(log.lines)}  # the first of each
    return {"ready_s": arrived["VMF-READY"] - opened, "first_prediction_s": arrived["VMF"] - opened}


def fmt(value, digits=1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    web_harness.site_arguments(p)
    p.add_argument("--bench", type=int, default=30, help="timed runs of each configuration (default 30)")
    p.add_argument(
        "--pace",
        type=float,
        default=PACE_MS,
        metavar="MS",
        help=f"also time runs one every MS ms, as a stream does (default {PACE_MS:g}: hop 8 at 30 fps; 0: off)",
    )
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    if args.bench < 1:
        p.error("--bench must be >= 1")
    if not args.pace >= 0:
        p.error("--pace must be >= 0 (0: no paced runs)")

    from playwright.sync_api import sync_playwright

    from vmf.benchmarks.machine import describe, machine_info

    load_before = web_harness.load_average()
    chromium = web_harness.chromium_path()
    with tempfile.TemporaryDirectory(prefix="vmf-web-latency-") as scratch:
        scratch = Path(scratch)
        site = args.site or web_harness.export_site(scratch / "export", weights=args.weights)
        card = json.loads((site / "model" / "card.json").read_text())
        model = site / "model" / "model.onnx"
        camera = web_camera.make_camera_video(scratch / "camera")
        raw, packed = web_harness.gzip_size(site)
        page_raw, page_packed = web_harness.gzip_size(site, page_only=True)
        rows = {}
        with web_harness.VmfServe(site) as server, sync_playwright() as playwright:
            for threads in (1, 2):
                rows[f"WASM {threads}t"] = browser_bench(playwright, server, threads, args.bench, args.pace)
            for threads in (1, 2):
                rows[f"native {threads}t"] = native_bench(model, card, threads, args.bench, args.pace)
            first = first_prediction(playwright, server, camera, threads=2)
    record = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": web_harness.commit(),
        "machine": describe(machine_info()),
        "load_average": {"before": load_before, "after": web_harness.load_average()},
        "chromium": web_harness.chromium_version(chromium),
        "onnxruntime_web": card.get("versions", {}).get("onnxruntime-web"),
        "site": str(site),
        "model": card.get("variant"),
        "bench_runs": args.bench,
        "pace_ms": args.pace or None,
        "rows": rows,
        "ratio_wasm_native_1t": rows["WASM 1t"]["p50_ms"] / rows["native 1t"]["p50_ms"],
        "first_prediction": first,
        "site_bytes": raw,
        "site_gzip_bytes": packed,
        "page_bytes": page_raw,
        "page_gzip_bytes": page_packed,
    }
    print(markdown(record))
    if args.json:
        from vmf.model.files import write_json

        write_json(args.json, record)
    return 0


def markdown(r: dict) -> str:
    lines = [
        f"### Browser (ONNX Runtime Web) against native ONNX Runtime: {r['model']} ({r['date']})",
        "",
        f"- machine: {r['machine']}",
        f"- commit {r['commit']}; load average (1, 5, 15 min) before {r['load_average']['before']}, "
        f"after {r['load_average']['after']}",
        f"- {r['chromium']} (headless), onnxruntime-web {r['onnxruntime_web'] or 'unknown'}; "
        f"{r['bench_runs']} timed runs each, after one untimed"
        + (f"; then {r['bench_runs']} paced, one every {r['pace_ms']:g} ms" if r.get("pace_ms") else ""),
        "- command: `python scripts/web_latency.py " + " ".join(sys.argv[1:]) + "`",
        "",
        "| runtime | threads | p50 ms | paced p50 ms | paced / p50 | min ms | first run ms | load ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in r["rows"].items():
        kind = "ONNX Runtime Web, WASM" if name.startswith("WASM") else "ONNX Runtime (Python), CPU"
        lines.append(
            f"| {kind} | {row.get('threads')} | {fmt(row.get('p50_ms'))} | {fmt(row.get('paced_p50_ms'))} "
            f"| {fmt(row.get('paced_ratio'), 2)} | {fmt(row.get('min_ms'))} "
            f"| {fmt(row.get('first_ms'))} | {fmt(row.get('load_ms'))} |"
        )
    first = r["first_prediction"]
    lines += [
        "",
        f"- WASM / native at 1 thread (p50): {r['ratio_wasm_native_1t']:.2f}x",
        f"- live page, 2 threads, fake camera at 25 fps: ready {first['ready_s']:.2f} s, first prediction "
        f"{first['first_prediction_s']:.2f} s after the page was opened (the first clip alone is 64 frames, 2.56 s)",
        f"- page download: {r['page_gzip_bytes'] / 1e6:.1f} MB gzip -9 per file ({r['page_bytes'] / 1e6:.1f} MB raw);"
        f" the whole site with the parity files ?parity=1 fetches: {r['site_gzip_bytes'] / 1e6:.1f} MB"
        f" ({r['site_bytes'] / 1e6:.1f} MB raw)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
