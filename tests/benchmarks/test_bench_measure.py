"""Timing in a fresh process: results and errors come back; a crash fails only its row."""

import subprocess

import pytest

from vmf.benchmarks import measure as measure_mod
from vmf.benchmarks.measure import measure_isolated
from vmf.benchmarks.timing import TimingOptions
from vmf.model import VmfError

OPTIONS = TimingOptions(warmup=0, runs=1)


def fake_run(returncode, stdout="", stderr=""):
    def run(cmd, **kwargs):
        assert cmd[1:3] == ["-m", "vmf.benchmarks.measure"]
        return subprocess.CompletedProcess(cmd, returncode, stdout, stderr)

    return run


def test_a_crash_is_a_one_line_reason(monkeypatch):
    monkeypatch.setattr(
        measure_mod.subprocess,
        "run",
        fake_run(
            -11,
            "",
            "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nFatal Python error: "
            "Segmentation fault\n\n",
        ),
    )
    with pytest.raises(VmfError) as err:
        measure_isolated("m.tflite", "tflite", 2, "cpu", OPTIONS)
    assert str(err.value) == (
        "the timing process was killed by SIGSEGV; it said: Fatal Python error: Segmentation fault"
    )


def test_the_worker_error_is_passed_on(monkeypatch):
    monkeypatch.setattr(
        measure_mod.subprocess,
        "run",
        fake_run(0, 'noise from a library\n{"error": "m.onnx is not a loadable ONNX model (bad)"}\n'),
    )
    with pytest.raises(VmfError, match=r"^m.onnx is not a loadable ONNX model \(bad\)$"):
        measure_isolated("m.onnx", "onnxruntime", 2, "cpu", OPTIONS)


def test_a_row_that_does_not_finish_is_stopped_and_fails_alone(monkeypatch):
    def hangs(cmd, **kwargs):
        assert kwargs["timeout"] == 5.0
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])  # what run() raises once it killed it

    monkeypatch.setattr(measure_mod.subprocess, "run", hangs)
    with pytest.raises(VmfError, match=r"^the timing process did not finish in 5 s and was stopped"):
        measure_isolated("m.onnx", "onnxruntime", 2, "cpu", TimingOptions(warmup=0, runs=1, row_timeout=5.0))


def test_a_real_worker_reports_a_missing_file(tmp_path):
    with pytest.raises(VmfError, match="model file not found"):
        measure_isolated(tmp_path / "absent.onnx", "onnxruntime", 1, "cpu", OPTIONS)
