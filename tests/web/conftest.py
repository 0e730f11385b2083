"""Fixtures of the browser tests: Chromium, Playwright, the demo model's web export, the fake camera.

Chromium is found by the rule ``make test`` applies first (``scripts/ensure_browser.sh``:
$VMF_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser, else Debian's installed with
apt-get when it can be); a test that needs it skips with the script's reason only when
there is none and none can be installed. The helpers live beside the measurement
scripts that use them too (``scripts/web_harness.py``, ``scripts/web_camera.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import web_camera  # noqa: E402
import web_harness  # noqa: E402

NO_PLAYWRIGHT = "Playwright is not installed: pip install 'vmf[web]'"


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        return web_harness.chromium_path()
    except web_harness.BrowserUnavailable as exc:
        pytest.skip(f"no Chromium for the browser tests: {exc}")


@pytest.fixture(scope="session")
def playwright(chromium):
    sync_api = pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT)
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def web_site(tmp_path_factory) -> Path:
    """The demo model exported once with ``vmf-export --target web`` (its default: WASM only)."""
    return web_harness.export_site(tmp_path_factory.mktemp("web-export"))


@pytest.fixture(scope="session")
def served(web_site):
    """The demo site behind ``vmf-serve`` (cross-origin isolated), for the whole session."""
    with web_harness.VmfServe(web_site) as server:
        yield server


@pytest.fixture(scope="session")
def camera(tmp_path_factory) -> web_camera.CameraVideo:
    """The left-right video, 480x360 at 25 fps, frame-coded, as a Y4M camera and a lossless twin."""
    return web_camera.make_camera_video(tmp_path_factory.mktemp("camera"))
