"""The browser target in a real Chromium: parity, a live camera stream, WebGPU, and its errors.

The demo model is exported once with ``vmf-export --target web`` and served by
``vmf-serve``; Chromium (scripts/ensure_browser.sh) runs headless with its fake camera
playing the frame-coded left-right video (scripts/web_camera.py). The page's console
lines (docs/web.md) are the only thing read, as a person recording a session would.
Timing is never asserted: the stream runs at the camera's 25 fps and the checks are on
what came out (labels, agreement with vmf-stream, gaps in the frame codes, skipped hops).
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest
import web_camera
import web_harness

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LOAD_S = 300  # model download, WASM compile, first run: minutes at most on a loaded 2-core machine
PARITY_TOLERANCE = 1e-4  # the web target's fp32 tolerance (vmf.contract.targets), as the exporter checks it
MAX_MISSING = 0.02  # of the camera's frames between the first prediction and the last
MIN_AGREEMENT = 0.90  # top-1 equal to vmf-stream's on the same window
STREAM_LOOPS = 1.5  # camera loops (256 frames each, about 10 s) streamed after the first prediction
# ONNX Runtime Web's names for the providers the page asks for (its session log, VMF-PARITY's
# placement): ep=wasm runs the CPU provider compiled to WebAssembly, ep=webgpu the WebGPU one
WASM_EP = "CPUExecutionProvider"
WEBGPU_EP = "WebGpuExecutionProvider"


@contextlib.contextmanager
def browser_page(playwright, url: str, **launch):
    """A page of a fresh headless Chromium at ``url``, with its log attached before it loads."""
    browser = web_harness.launch(playwright, **launch)
    try:
        page = browser.new_page()
        log = web_harness.PageLog().attach(page)
        page.goto(url)
        yield page, log
    finally:
        browser.close()


def card_of(site) -> dict:
    return json.loads((site / "model" / "card.json").read_text())


def assert_clean(log: web_harness.PageLog) -> None:
    """Nothing but 127.0.0.1 asked for, every file there, no uncaught error, no VMF-ERROR."""
    assert log.foreign_requests() == [], f"requests to other hosts: {log.foreign_requests()}"
    assert log.http_errors == [] and log.failed == [], (log.http_errors, log.failed)
    assert log.page_errors == [], f"page errors: {log.page_errors}"
    assert log.of("VMF-ERROR") == [], f"the page reported {log.of('VMF-ERROR')}"


# --------------------------------------------------------------------------- parity


def test_wasm_parity_with_two_threads_cross_origin_isolated(playwright, served):
    with browser_page(playwright, served.page_url(parity=1, threads=2)) as (page, log):
        (report,) = log.wait_for(page, "VMF-PARITY", LOAD_S)
        assert_clean(log)
    assert report["crossOriginIsolated"] is True
    assert report["threads"] == 2 and report["ep"] == "wasm"
    assert 0 <= report["max_rel_err"] <= PARITY_TOLERANCE, report
    assert any(url.endswith("/model/model.onnx") for url in log.requests), "the model was not fetched"
    # every node on the WASM build's CPU provider, as the runtime's own session log says
    placement = report["placement"]
    assert placement is not None and list(placement) == [WASM_EP] and placement[WASM_EP] > 0, report
    assert report["adapter"] is None, report
    # the verbose log the placement is read from stays off the console
    assert not [c for c in log.console if "[V:onnxruntime" in c or "[I:onnxruntime" in c], log.console[:5]


# --------------------------------------------------------------------------- live stream


def vmf_stream_top1(model, source, tmp_path) -> dict[int, str]:
    """vmf-stream's top-1 for every window of ``source`` (hop 1: a window ends at every frame).

    The page's windows are 8 kept frames apart but start wherever the camera was when it
    loaded, so vmf-stream classifies every window and each page prediction is matched
    with the one ending on the same frame (frame_index, the clip's newest frame in both).
    """
    jsonl = tmp_path / "vmf-stream.jsonl"
    command = [str(web_harness.BIN / "vmf-stream"), "--model", str(model), "--source", str(source)]
    command += ["--hop", "1", "--threads", "2", "--jsonl", str(jsonl)]
    web_harness.run_checked(command, "vmf-stream")
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    return {r["frame_index"]: r["top5"][0]["label"] for r in rows if r.get("type") == "prediction"}


def stream_predictions(page, log, frames_wanted: int, timeout_s: float) -> list[dict]:
    """The page's predictions until their frame codes span ``frames_wanted`` camera frames."""
    log.wait_for(page, "VMF", LOAD_S)
    deadline = time.monotonic() + timeout_s  # a bound on a hung stream, not a timing check
    while True:
        predictions = log.of("VMF")
        ends = web_camera.unwrap_codes(p["frame_index"] for p in predictions)
        if ends[-1] - ends[0] >= frames_wanted:
            return predictions
        assert time.monotonic() < deadline, (
            f"the predictions spanned {ends[-1] - ends[0]} frames in {timeout_s:.0f} s, "
            f"not {frames_wanted}; stats: {page.evaluate('window.vmfStats')}"
        )
        assert not log.of("VMF-ERROR") and not log.page_errors, (log.of("VMF-ERROR"), log.page_errors)
        page.wait_for_timeout(500)


def test_live_stream_of_the_left_right_video_matches_vmf_stream(
    playwright, served, web_site, camera, tmp_path
):
    hop = 8
    window = int(card_of(web_site)["frames"])
    url = served.page_url(debug="framecode", hop=hop, threads=2)
    wanted = int(STREAM_LOOPS * camera.frames)
    with browser_page(playwright, url, camera=camera.y4m) as (page, log):
        log.wait_for(page, "VMF-READY", LOAD_S)
        predictions = stream_predictions(page, log, wanted, timeout_s=4 * wanted / camera.fps + 60)
        stats = page.evaluate("window.vmfStats")
        assert_clean(log)
    ends = web_camera.unwrap_codes(p["frame_index"] for p in predictions)
    assert all(p["type"] == "prediction" and len(p["top5"]) == 5 for p in predictions)

    # no skipped hop: the model kept up, so every prediction is exactly one hop of kept frames on
    steps = [(a, b, p["inference_ms"]) for a, b, p in zip(ends, ends[1:], predictions) if b - a >= 2 * hop]
    assert stats["skipped_hops"] == 0, f"{stats}; long steps (from, to, inference ms of from): {steps}"
    # frames missing: gaps in the frame codes, as the page counts them frame by frame, and as
    # the predictions' frame codes show them (the camera repeats a frame where its file loops)
    seen = stats["frames"] + stats["dropped"]
    assert stats["dropped"] <= MAX_MISSING * seen, (
        f"the page counts {stats['dropped']} of {seen} frames missing"
    )
    missing, repeated, spanned = web_camera.missing_frames(ends, hop)
    assert missing <= MAX_MISSING * spanned, f"{missing} of {spanned} camera frames never reached the page"
    # repeated frames: the page counts every frame whose code is the previous one's; the stream
    # crossed the camera's loop point, where Chromium's fake camera gives a frame twice, and the
    # predictions' steps (a lower bound) cannot show more repeats than the page counted
    assert stats["repeated"] >= max(1, repeated), f"{stats}; repeats the predictions show: {repeated}"

    # every window wholly inside a segment has that segment's label (its true span: the frames
    # after the prediction a window's length back, so a missed frame widens it)
    firsts = web_camera.window_firsts(ends, window, hop)
    judged = wrong = 0
    for p, first, last in zip(predictions, firsts, ends):
        label = camera.span_label(first, last) if first is not None else None
        if label is not None:
            judged += 1
            wrong += p["top5"][0]["label"] != label
    assert judged >= 4, f"only {judged} windows lay inside one segment: the stream was too short"
    assert wrong == 0, f"{wrong} of {judged} windows inside a segment got the wrong top-1"

    # top-1 agreement with vmf-stream on the same windows: those holding 64 consecutive frames
    # of one camera loop (frame_index % 256 >= 63), the same pixels the native runtime decodes
    native = vmf_stream_top1(web_site, camera.reference, tmp_path)  # the site's model.onnx and card
    pairs = [
        (p["top5"][0]["label"], native[last % camera.frames])
        for p, first, last in zip(predictions, firsts, ends)
        if first is not None and last - first + 1 == window and last % camera.frames in native
    ]
    assert len(pairs) >= 10, f"only {len(pairs)} page windows to compare with vmf-stream"
    agree = sum(a == b for a, b in pairs) / len(pairs)
    assert agree >= MIN_AGREEMENT, f"top-1 agrees with vmf-stream on {agree:.0%} of {len(pairs)} windows"


# --------------------------------------------------------------------------- WebGPU


@pytest.mark.slow  # the software adapter runs the model in minutes, not seconds; never timed
def test_webgpu_runs_the_model_on_the_software_adapter_within_tolerance(playwright, tmp_path_factory):
    site = web_harness.export_site(tmp_path_factory.mktemp("web-webgpu"), extra=("--delegate", "webgpu"))
    with web_harness.VmfServe(site) as server:
        browser = web_harness.launch(playwright, webgpu=True)
        try:
            page = browser.new_page()
            page.goto(server.url)  # any page of the site: a secure context, where navigator.gpu lives
            adapter = page.evaluate(
                "async () => { if (!navigator.gpu) return 'navigator.gpu is undefined';"
                " const a = await navigator.gpu.requestAdapter();"
                " return a ? '' : 'navigator.gpu.requestAdapter() gave no adapter'; }"
            )
            if adapter:
                pytest.skip(f"this Chromium offers no WebGPU adapter ({adapter})")
            log = web_harness.PageLog().attach(page)
            page.goto(server.page_url(ep="webgpu", parity=1))
            (report,) = log.wait_for(page, "VMF-PARITY", 900)
            assert_clean(log)
        finally:
            browser.close()
    assert report["ep"] == "webgpu", report
    tolerance = json.loads((site / "model" / "parity.json").read_text())["tolerance"]
    assert tolerance <= PARITY_TOLERANCE
    assert 0 <= report["max_rel_err"] <= tolerance, report
    # every node on WebGPU: none left on the CPU provider (ONNX Runtime Web's default bundle
    # once left DY-ReLU's Max there), as the runtime's session log says
    placement = report["placement"]
    assert placement is not None and list(placement) == [WEBGPU_EP] and placement[WEBGPU_EP] > 0, report
    # the adapter it ran on, as the browser describes it (SwiftShader here)
    adapter = report["adapter"]
    assert isinstance(adapter, dict), report
    assert any(adapter.get(k) for k in ("vendor", "architecture", "description")), report


# --------------------------------------------------------------------------- errors


def assert_one_error_shown(page, log, words: str) -> dict:
    """Exactly one VMF-ERROR, no uncaught error, and its message on the page for the user."""
    (error,) = log.wait_for(page, "VMF-ERROR", LOAD_S)
    page.wait_for_timeout(2000)  # a second report would come now, as the page gives up
    assert len(log.of("VMF-ERROR")) == 1, log.of("VMF-ERROR")
    assert log.page_errors == [], log.page_errors
    assert log.of("VMF") == [] and log.of("VMF-READY") == []
    message = error.get("message") or error.get("error") or ""
    assert words.lower() in message.lower(), error
    shown = page.inner_text("body")
    assert message.strip() and message.strip()[:60] in shown, f"the page shows {shown!r}, not {message!r}"
    return error


def test_a_site_without_its_card_says_so(playwright, web_site, camera, tmp_path):
    broken = web_harness.copy_site(web_site, tmp_path / "site")
    (broken / "model" / "card.json").unlink()
    # vmf-serve refuses such a folder; a plain static host (with the isolation headers) serves it
    with web_harness.StaticHost(broken) as host:
        with browser_page(playwright, host.page_url(), camera=camera.y4m) as (page, log):
            assert_one_error_shown(page, log, "card.json is missing")


def test_a_card_from_another_model_is_refused(playwright, web_site, camera, tmp_path):
    broken = web_harness.copy_site(web_site, tmp_path / "site")
    card = card_of(broken)
    # a valid card (vmf-serve serves it), of a model with half the frames
    card["frames"] //= 2
    card["input_shape"][0] = card["frames"]
    (broken / "model" / "card.json").write_text(json.dumps(card))
    with web_harness.VmfServe(broken) as server:
        with browser_page(playwright, server.page_url(), camera=camera.y4m) as (page, log):
            assert_one_error_shown(page, log, "card.json says")


def test_webgpu_on_a_site_that_ships_only_wasm_says_so(playwright, served, web_site):
    assert card_of(web_site)["providers"] == ["wasm"]
    with browser_page(playwright, served.page_url(ep="webgpu", parity=1)) as (page, log):
        assert_one_error_shown(page, log, "ships ONNX Runtime Web for wasm only")
    # refused from the card, before any runtime file or the model was asked for
    assert not [url for url in log.requests if "/ort/" in url or url.endswith("/model/model.onnx")], (
        log.requests
    )


def test_threads_without_cross_origin_isolation_says_why(playwright, web_site, camera):
    with web_harness.StaticHost(web_site, isolated=False) as host:
        with browser_page(playwright, host.page_url(threads=2), camera=camera.y4m) as (page, log):
            assert page.evaluate("crossOriginIsolated") is False
            assert_one_error_shown(page, log, "cross-origin isolated")


def test_a_model_that_does_not_load_says_so(playwright, web_site, camera, tmp_path):
    broken = web_harness.copy_site(web_site, tmp_path / "site")
    (broken / "model" / "model.onnx").write_bytes(b"not an ONNX model" * 64)  # the card is intact
    with web_harness.VmfServe(broken) as server:
        with browser_page(playwright, server.page_url(), camera=camera.y4m) as (page, log):
            assert_one_error_shown(page, log, "did not load")


def test_a_denied_camera_says_so(playwright, served):
    # Without --use-fake-ui-for-media-stream nobody answers the permission prompt: headless
    # Chromium dismisses it, as a user pressing "Block" would.
    args = [a for a in web_harness.BASE_ARGS if a != "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(
        executable_path=web_harness.chromium_path(), headless=True, args=args
    )
    try:
        page = browser.new_page()
        log = web_harness.PageLog().attach(page)
        page.goto(served.page_url())
        # the model loads first (VMF-READY), then the camera is refused
        (error,) = log.wait_for(page, "VMF-ERROR", LOAD_S)
        page.wait_for_timeout(2000)
        assert len(log.of("VMF-ERROR")) == 1 and log.page_errors == [] and log.of("VMF") == []
        message = error.get("message") or error.get("error") or ""
        assert "camera access was denied" in message, error
        assert message[:60] in page.inner_text("body")
    finally:
        browser.close()
