"""A long live stream in the browser: does the page keep up and keep its memory flat?

Chromium's fake camera plays the frame-coded left-right video (scripts/web_camera.py) at
25 fps into the web export's page (``?debug=framecode&hop=8&threads=2``) for ``--minutes``.
Every ``--every-s`` seconds (a minute by default) one line: the page's counters
(``window.vmfStats``: frames, frames its frame codes say it never saw, hops, skipped hops),
the frames missing between its predictions' frame codes (lower bounds: exact while no hop is skipped),
and the page's memory by ``performance.measureUserAgentSpecificMemory()`` (the page is
cross-origin isolated, which that needs). The last lines give the skipped hops, the
missing-frame share, and whether memory grew after the first measurement by more than
``--max-growth-mb`` (exit status 1 then, or on any page error).

    python scripts/web_live_run.py --minutes 10               # exports the demo model first
    python scripts/web_live_run.py --minutes 10 --site exports/web/vmf-560m_r112_fp32.web
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # its helpers beside it, however it is loaded
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import web_camera  # noqa: E402
import web_harness  # noqa: E402

LOAD_S = 600
MEASURE_S = 180  # the last memory measurement is waited for this long at the end
# Ask Chromium to measure memory at once rather than at its next garbage collection.
EAGER_MEMORY = "--enable-blink-features=ForceEagerMeasureMemory"

# measureUserAgentSpecificMemory covers the page and its workers; with a worker busy in WASM
# it can take up to a minute to answer, so it runs in the background: each call returns the
# last finished measurement (bytes, and when it was taken) and starts the next one.
MEMORY_JS = """() => {
  if (!self.crossOriginIsolated) return {error: 'the page is not cross-origin isolated'};
  if (!performance.measureUserAgentSpecificMemory) return {error: 'no measureUserAgentSpecificMemory'};
  const m = (window.__vmfMemory ??= {pending: false, last: null});
  if (!m.pending) {
    m.pending = true;
    performance.measureUserAgentSpecificMemory()
      .then((r) => { m.last = {bytes: r.bytes, at_s: performance.now() / 1000}; })
      .catch((e) => { m.last = {error: String(e)}; })
      .finally(() => { m.pending = false; });
  }
  return {pending: m.pending, ...(m.last ?? {})};
}"""
MEMORY_DONE_JS = "() => window.__vmfMemory ? !window.__vmfMemory.pending : true"


def sample(page, log, opened_s: float, hop: int) -> dict:
    memory = page.evaluate(MEMORY_JS)
    stats = page.evaluate("window.vmfStats") or {}
    ends = web_camera.unwrap_codes(p["frame_index"] for p in log.of("VMF"))
    missing, repeated, spanned = web_camera.missing_frames(ends, hop) if len(ends) > 1 else (0, 0, 0)
    return {
        "t_s": page.evaluate("performance.now() / 1000") - opened_s,
        "predictions": len(ends),
        "missing_frames": missing,
        "repeated_frames": repeated,
        "spanned_frames": spanned,
        "memory_mb": memory["bytes"] / 2**20 if "bytes" in memory else None,
        "memory_at_s": memory["at_s"] - opened_s if "at_s" in memory else None,
        "memory_error": memory.get("error"),
        "stats": stats,
    }


def fmt(value, spec: str) -> str:
    return "—" if not isinstance(value, (int, float)) else format(value, spec)


def row_text(s: dict) -> str:
    st = s["stats"]
    share = s["missing_frames"] / s["spanned_frames"] if s["spanned_frames"] else 0.0
    if s["memory_mb"] is not None:
        memory = f"{s['memory_mb']:8.1f} (at {s['memory_at_s'] / 60:.1f})"
    else:
        memory = f"  {s['memory_error'] or 'measuring'}"
    return (
        f"{s['t_s'] / 60:6.1f}  {st.get('frames', 0):7}  {st.get('dropped', 0):7}  "
        f"{s['missing_frames']:7} ({share:5.1%})  {st.get('hops', 0):6}  {st.get('skipped_hops', 0):7}  "
        f"{s['predictions']:6}  {fmt(st.get('inference_p50_ms'), '.0f')}/{fmt(st.get('inference_p90_ms'), '.0f')}"
        f"  {memory}"
    )


HEADER = (
    " minute   frames  dropped  missing (share)    hops  skipped   preds  p50/p90 ms  memory MB (at minute)"
)


def stream(page, log, args, opened_s: float) -> tuple[list[dict], list[str]]:
    """Samples every ``args.every_s`` for ``args.minutes``; then the last memory measurement."""
    samples, failures = [], []
    started = time.monotonic()
    end = started + 60 * args.minutes
    next_at = started + min(args.every_s, 60 * args.minutes)
    while True:
        page.wait_for_timeout(max(0.0, min(next_at, end) - time.monotonic()) * 1e3)
        if log.of("VMF-ERROR") or log.page_errors:
            failures.append(f"the page failed: {log.of('VMF-ERROR') or log.page_errors}")
            return samples, failures
        samples.append(sample(page, log, opened_s, args.hop))
        print(row_text(samples[-1]), flush=True)
        if time.monotonic() >= end:
            break
        next_at += args.every_s
    waited = time.monotonic() + MEASURE_S
    while not page.evaluate(MEMORY_DONE_JS) and time.monotonic() < waited:
        page.wait_for_timeout(1000)
    samples.append(sample(page, log, opened_s, args.hop))  # with the measurement started last
    print(row_text(samples[-1]) + "  (end)", flush=True)
    return samples, failures


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    web_harness.site_arguments(p)
    p.add_argument("--minutes", type=float, default=10.0, help="how long to stream (default 10)")
    p.add_argument("--every-s", type=float, default=60.0, help="seconds between samples (default 60)")
    p.add_argument("--hop", type=int, default=8, help="the page's ?hop (default 8)")
    p.add_argument("--threads", type=int, default=2, help="the page's ?threads (default 2)")
    p.add_argument(
        "--max-growth-mb",
        type=float,
        default=16.0,
        help="memory growth after the first measurement that counts as a leak (default 16)",
    )
    p.add_argument("--json", type=Path, help="also write every sample to this JSON file")
    args = p.parse_args(argv)
    if args.minutes <= 0 or args.every_s <= 0 or args.hop < 1 or args.threads < 1:
        p.error("--minutes and --every-s must be > 0, --hop and --threads >= 1")

    from playwright.sync_api import sync_playwright

    print(
        f"# web live run: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}, "
        f"commit {web_harness.commit()}, load average {web_harness.load_average()}"
    )
    chromium = web_harness.chromium_path()
    print(
        f"# {web_harness.chromium_version(chromium)}, hop {args.hop}, {args.threads} threads, "
        f"camera {web_camera.CAMERA_SIZE[0]}x{web_camera.CAMERA_SIZE[1]} at {web_camera.CAMERA_FPS} fps, "
        f"{args.minutes:g} min"
    )
    with tempfile.TemporaryDirectory(prefix="vmf-web-live-") as scratch:
        scratch = Path(scratch)
        site = args.site or web_harness.export_site(scratch / "export", weights=args.weights)
        camera = web_camera.make_camera_video(scratch / "camera")
        with web_harness.VmfServe(site) as server, sync_playwright() as playwright:
            browser = web_harness.launch(playwright, camera=camera.y4m, extra=(EAGER_MEMORY,))
            try:
                page = browser.new_page()
                log = web_harness.PageLog().attach(page)
                page.goto(server.page_url(debug="framecode", hop=args.hop, threads=args.threads))
                opened_s = page.evaluate("performance.now() / 1000")
                ready = log.wait_for(page, "VMF-READY", LOAD_S)[0]
                print(f"# ready: {json.dumps(ready)}")
                print(HEADER)
                samples, failures = stream(page, log, args, opened_s)
            finally:
                browser.close()
    return report(samples, failures, args)


def report(samples: list[dict], failures: list[str], args) -> int:
    if samples:
        last = samples[-1]
        st = last["stats"]
        seen = st.get("frames", 0) + st.get("dropped", 0)
        page_share = st.get("dropped", 0) / seen if seen else 0.0
        share = last["missing_frames"] / last["spanned_frames"] if last["spanned_frames"] else 0.0
        print(
            f"skipped hops: {st.get('skipped_hops')} of {st.get('hops')}; dropped frames (the page's frame-code "
            f"count): {st.get('dropped')} of {seen} ({page_share:.2%}); missing between predictions: "
            f"{last['missing_frames']} of {last['spanned_frames']} ({share:.2%}; {last['repeated_frames']} repeated"
            f"{', counts skipped hops as missing frames' if st.get('skipped_hops') else ''})"
        )
        memory = [(s["memory_at_s"], s["memory_mb"]) for s in samples if s["memory_mb"] is not None]
        memory = sorted(dict(memory).items())  # one row per measurement
        if len(memory) >= 2:
            (t0, first), (t1, final) = memory[0], memory[-1]
            growth = final - first
            flag = "GROWS" if growth > args.max_growth_mb else "flat"
            print(
                f"memory from minute {t0 / 60:.1f} to {t1 / 60:.1f}: {first:.1f} -> {final:.1f} MB "
                f"({growth:+.1f} MB, peak {max(m for _, m in memory):.1f}): {flag} "
                f"(limit +{args.max_growth_mb:g} MB)"
            )
            if growth > args.max_growth_mb:
                failures.append(f"memory grew by {growth:.1f} MB after the first measurement")
        else:
            print(f"memory: {len(memory)} measurement(s), no growth figure (run longer)")
    if args.json:
        from vmf.model.files import write_json

        write_json(args.json, {"samples": samples, "failures": failures})
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
