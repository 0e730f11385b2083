"""A failed conversion can be diagnosed: its output is kept in a log under --out that the
one-line error names; --verbose shows it live instead; a success leaves no log."""

from __future__ import annotations

import os

import pytest

from vmf.export import api
from vmf.export import onnx as onnx_writer
from vmf.export.cli import main
from vmf.export.quiet import quiet
from vmf.model import VmfError

SMALL = dict(frames=8, resolution=32, log=lambda m: None, warn=lambda m: None)


def crashing_converter(session, job):
    with quiet():  # what a converter does: chatter on fd 1 and 2, then crash
        os.write(1, b"converter: loading graph\n")
        os.write(2, b"converter: lowering failed at node 42\n")
        raise RuntimeError("MLIR lowering failed\n  (a long trace the one-line error leaves out)")


@pytest.fixture
def crashing_onnx(monkeypatch):
    monkeypatch.setattr(onnx_writer, "export_onnx", crashing_converter)  # the onnx target's writer


def test_a_crash_keeps_the_converter_output_in_a_log_the_error_names(tmp_path, crashing_onnx, capfd):
    with pytest.raises(VmfError) as info:
        api.export("560M", targets=("onnx",), out_dir=tmp_path, **SMALL)
    message = str(info.value)
    assert "\n" not in message and message.startswith(
        "onnx export failed: RuntimeError: MLIR lowering failed"
    )
    logs = list(tmp_path.glob("vmf-export-onnx-*.log"))
    assert len(logs) == 1 and f"(converter output: {logs[0]})" in message
    text = logs[0].read_text()
    assert "converter: loading graph" in text and "lowering failed at node 42" in text
    assert "a long trace the one-line error leaves out" in text and "Traceback" in text
    assert "converter:" not in capfd.readouterr().out  # nothing reached the console
    assert sorted(p.name for p in tmp_path.iterdir()) == [logs[0].name]  # no scratch, no artifact


def test_verbose_shows_the_output_and_keeps_no_log(tmp_path, crashing_onnx, capfd):
    code = main(
        [
            "--variant",
            "560M",
            "--target",
            "onnx",
            "--frames",
            "8",
            "--resolution",
            "32",
            "--out",
            str(tmp_path),
            "--verbose",
        ]
    )
    out, err = capfd.readouterr()
    assert code == 1 and "converter: loading graph" in out and "lowering failed at node 42" in err
    assert err.strip().splitlines()[-1].startswith("error: onnx export failed: RuntimeError")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_check_is_its_own_explanation(tmp_path, monkeypatch):
    def fails_parity(session, job):
        raise VmfError("parity check failed for m.onnx: max rel err 1e-02 > 1e-04")

    monkeypatch.setattr(onnx_writer, "export_onnx", fails_parity)
    with pytest.raises(VmfError, match=r"^parity check failed for m.onnx: max rel err 1e-02 > 1e-04$"):
        api.export("560M", targets=("onnx",), out_dir=tmp_path, **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_the_api_and_the_cli_share_their_defaults():
    parser = __import__("vmf.export.cli", fromlist=["build_parser"]).build_parser()
    defaults = parser.parse_args([])
    signature = __import__("inspect").signature(api.export).parameters
    assert (defaults.target,) == signature["targets"].default == (api.DEFAULT_TARGET,)
    assert defaults.precision is signature["precisions"].default is None  # per-target defaults
    assert defaults.out == signature["out_dir"].default
    assert (not defaults.no_verify) is signature["verify"].default
    assert defaults.converter is signature["converter"].default is None
