"""scripts/ensure_browser.sh: which Chromium the browser tests get, and the reason they skip without one."""

from __future__ import annotations

import os
import subprocess

import pytest
import web_harness


def ensure(env_extra: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        ["bash", str(web_harness.ENSURE_BROWSER)], capture_output=True, text=True, env=env, timeout=600
    )


def fake_browser(tmp_path):
    path = tmp_path / "my-chrome"
    path.write_text("#!/bin/sh\necho 'Chromium 1.2.3'\n")
    path.chmod(0o755)
    return path


def test_vmf_chromium_comes_first_and_nothing_is_installed(tmp_path):
    path = fake_browser(tmp_path)
    done = ensure({"VMF_CHROMIUM": str(path), "VMF_INSTALL_BROWSER": "0"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(path) and done.stderr == ""


def test_a_vmf_chromium_that_is_no_program_is_one_error_line(tmp_path):
    done = ensure({"VMF_CHROMIUM": str(tmp_path / "none")})
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: VMF_CHROMIUM=") and "not an executable" in lines[0]


def test_the_tests_skip_with_the_scripts_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("VMF_CHROMIUM", str(tmp_path / "none"))
    monkeypatch.setattr(web_harness, "_chromium", None)  # not the one found earlier in the session
    with pytest.raises(web_harness.BrowserUnavailable, match=r"^VMF_CHROMIUM=.* is not an executable file$"):
        web_harness.chromium_path()
    monkeypatch.setenv("VMF_CHROMIUM", str(fake_browser(tmp_path)))
    assert web_harness.chromium_path() == str(tmp_path / "my-chrome")
    assert web_harness.chromium_version(web_harness.chromium_path()) == "Chromium 1.2.3"
