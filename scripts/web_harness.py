"""Driving the browser target in a real Chromium: find it, export and serve a site, read the page's log.

Shared by tests/web/ and scripts/web_latency.py, scripts/web_live_run.py. Chromium is the
system's (``scripts/ensure_browser.sh`` finds it or installs Debian's), driven by
Playwright through ``executable_path``, headless; its fake camera plays a Y4M file
(``web_camera.py``). The page reports on the console, one line per event (docs/web.md):
``VMF-READY``, ``VMF`` (a prediction, in ``vmf-stream --jsonl``'s shape), ``VMF-BENCH``,
``VMF-PARITY`` and ``VMF-ERROR``, each followed by one JSON object.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
ENSURE_BROWSER = ROOT / "scripts" / "ensure_browser.sh"
DEMO_WEIGHTS = ROOT / "train" / "demo" / "vmf-560m-motion.pt"
BIN = Path(sys.executable).parent  # the venv's console scripts (vmf-export, vmf-serve, vmf-stream)
HOST = "127.0.0.1"
PREFIXES = ("VMF-READY", "VMF-BENCH", "VMF-PARITY", "VMF-ERROR", "VMF")  # longest match first

# A page in a headless browser is never visible: these keep Chromium from throttling its timers
# and rendering as it does a background tab's, which a live camera page must not be.
BASE_ARGS = (
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",  # grant the camera without a prompt
    "--use-fake-device-for-media-stream",
)
# WebGPU on the software adapter (SwiftShader's Vulkan), where there is no GPU.
WEBGPU_ARGS = ("--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader")


class BrowserUnavailable(RuntimeError):
    """No Chromium here and none could be installed: the reason, one line."""


_chromium: str | None = None


def chromium_path() -> str:
    """The Chromium ``scripts/ensure_browser.sh`` finds (or installs); BrowserUnavailable if none."""
    global _chromium
    if _chromium is None:
        done = subprocess.run(["bash", str(ENSURE_BROWSER)], capture_output=True, text=True)
        if done.returncode != 0 or not done.stdout.strip():
            reason = (done.stderr.strip().splitlines() or ["ensure_browser.sh found no Chromium"])[-1]
            raise BrowserUnavailable(reason.removeprefix("error: "))
        for line in done.stderr.strip().splitlines():
            print(line, file=sys.stderr)  # what it installed, if it did
        _chromium = done.stdout.strip().splitlines()[-1]
    return _chromium


def chromium_version(path: str) -> str:
    done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or done.stderr.strip()


def launch(playwright, *, camera: Path | None = None, webgpu: bool = False, extra=()):
    """A headless Chromium with the fake camera (playing ``camera``, a .y4m) and, if asked, WebGPU."""
    args = list(BASE_ARGS)
    if camera is not None:
        args.append(f"--use-file-for-fake-video-capture={camera}")
    if webgpu:
        args += WEBGPU_ARGS
    args += list(extra)
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=args)


# --------------------------------------------------------------------------- the page's log


def parse_line(text: str) -> tuple[str, dict] | None:
    """``("VMF-BENCH", {...})`` for a report line of the page, None for any other console text."""
    for prefix in PREFIXES:
        if text.startswith(prefix + " "):
            try:
                body = json.loads(text[len(prefix) + 1 :])
            except json.JSONDecodeError:
                return prefix, {"unparsed": text}
            return prefix, body if isinstance(body, dict) else {"value": body}
    return None


@dataclass
class PageLog:
    """Everything a page says: its report lines (with arrival time), page errors, requests."""

    lines: list[tuple[float, str, dict]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)

    def attach(self, page) -> PageLog:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", lambda request: self.failed.append(f"{request.url}: {request.failure}"))
        page.on("response", self._on_response)
        return self

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.http_errors.append(f"HTTP {response.status} {response.url}")

    def _on_console(self, message) -> None:
        text = message.text
        self.console.append(f"{message.type}: {text}")
        parsed = parse_line(text)
        if parsed is not None:
            self.lines.append((time.monotonic(), *parsed))

    def of(self, prefix: str) -> list[dict]:
        return [body for _, p, body in self.lines if p == prefix]

    def wait_for(self, page, prefix: str, timeout_s: float, count: int = 1) -> list[dict]:
        """The first ``count`` lines with ``prefix``; raises on a VMF-ERROR, a page error or the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.of(prefix)
            if len(found) >= count:
                return found[:count]
            if prefix != "VMF-ERROR" and self.of("VMF-ERROR"):
                raise AssertionError(f"the page reported VMF-ERROR {self.of('VMF-ERROR')[0]}")
            if self.page_errors:
                raise AssertionError(f"page error: {self.page_errors[0]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {count} {prefix} line(s) in {timeout_s:.0f} s; the console said:\n  "
                    + "\n  ".join(self.console[-20:] or ["(nothing)"])
                )
            page.wait_for_timeout(100)  # lets Playwright deliver the page's events

    def foreign_requests(self, host: str = HOST) -> list[str]:
        """Requests to any network host other than ``host`` (data:, blob: URLs are no requests)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != host:
                out.append(url)
        return out


# --------------------------------------------------------------------------- sites and servers


def run_checked(command: list[str], what: str, timeout_s: float = 1800) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(command)}\n{tail}")
    return done


def find_site(folder: Path) -> Path:
    """The web export under ``folder``: the one directory holding index.html and model/model.onnx."""
    from vmf.contract import web_layout

    folder = Path(folder)
    sites = sorted(
        p.parent for p in folder.rglob(web_layout.INDEX) if (p.parent / web_layout.MODEL_FILE).is_file()
    )
    if len(sites) != 1:
        raise RuntimeError(f"expected one web export under {folder}, found {[str(s) for s in sites]}")
    return sites[0]


def site_arguments(parser) -> None:
    """``--site`` or ``--weights``: the measurement scripts' choice of what to open."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--site", type=Path, help="a web export (vmf-export --target web); default: export --weights"
    )
    which.add_argument("--weights", type=Path, default=DEMO_WEIGHTS, help="checkpoint to export")


def export_site(out: Path, weights: Path = DEMO_WEIGHTS, extra=()) -> Path:
    """``vmf-export --target web`` of ``weights`` into ``out``; the site's folder."""
    command = [
        str(BIN / "vmf-export"),
        "--weights",
        str(weights),
        "--target",
        "web",
        "--out",
        str(out),
        *extra,
    ]
    run_checked(command, "vmf-export --target web")
    return find_site(out)


class _Served:
    """A web export at ``self.url``; a context manager that stops serving on exit."""

    url = ""

    def page_url(self, **params) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.url + ("index.html?" + query if query else "index.html")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class VmfServe(_Served):
    """``vmf-serve SITE --host 127.0.0.1 --port 0`` in a process of its own, as a user runs it."""

    def __init__(self, site: Path):
        # the console script, or the same main() by module where the venv predates the entry point
        program = (
            [str(BIN / "vmf-serve")]
            if (BIN / "vmf-serve").exists()
            else [sys.executable, "-m", "vmf.runtime.serve"]
        )
        self.command = [*program, str(site), "--host", HOST, "--port", "0"]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        first = self.process.stdout.readline()  # "serving DIR at URL (Ctrl-C stops)"
        found = re.search(r"\bat (https?://\S+/)", first)
        if found is None:
            self.stop()
            raise RuntimeError(
                f"{' '.join(self.command)} said {first.strip() or self.process.stderr.read().strip()!r}, "
                "not the URL it serves"
            )
        self.url = found.group(1)
        deadline = time.monotonic() + 60
        while True:  # it prints the URL before it serves: wait for the first answer
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    response.read()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{' '.join(self.command)} did not answer on {self.url}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            for stream in (self.process.stdout, self.process.stderr):
                stream.close()
        self.process = None


class StaticHost(_Served):
    """Any folder served as a plain static host would, in a thread: the isolation headers
    (``vmf.contract.web_layout``) when ``isolated``, none otherwise, and no check of what
    it serves, unlike vmf-serve (which refuses a folder without a card)."""

    def __init__(self, site: Path, isolated: bool = True):
        self.site, self.isolated = Path(site), isolated
        self.server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        from vmf.contract import web_layout

        isolated = self.isolated

        class Handler(http.server.SimpleHTTPRequestHandler):
            def end_headers(self) -> None:
                if isolated:
                    for name, value in web_layout.ISOLATION_HEADERS:
                        self.send_header(name, value)
                super().end_headers()

            def guess_type(self, path) -> str:
                return web_layout.content_type(path)

            def log_message(self, *args) -> None:
                pass

        handler = functools.partial(Handler, directory=str(self.site))
        self.server = http.server.ThreadingHTTPServer((HOST, 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://{HOST}:{self.server.server_address[1]}/"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.server = None


def copy_site(site: Path, to: Path) -> Path:
    """A copy of a web export to break on purpose (a missing or mismatched card)."""
    shutil.copytree(site, to)
    return Path(to)


def gzip_size(site: Path, page_only: bool = False) -> tuple[int, int]:
    """(raw bytes, sum of each file's gzip -9 size): what a host serving it compressed sends;
    ``page_only``: without the parity files, which only ``?parity=1`` fetches."""
    from vmf.contract.web_layout import PARITY_CLIP, PARITY_FILE

    raw = packed = 0
    for path in sorted(Path(site).rglob("*")):
        if page_only and path.relative_to(site).as_posix() in (PARITY_CLIP, PARITY_FILE):
            continue
        if path.is_file():
            data = path.read_bytes()
            raw += len(data)
            packed += len(gzip.compress(data, compresslevel=9, mtime=0))
    return raw, packed


def commit() -> str:
    """The checkout's commit, and whether tracked files differ from it (for a measurement's record)."""

    def git(*args) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return head + (
        " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
