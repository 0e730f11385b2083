"""Every command line follows one convention (vmf.model.cli): a bad command line is one
``error: ... (see PROG --help)`` line and exit 2, a runtime error one ``error:`` line and
exit 1, never a traceback; ``--help`` does not import torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

CLIS = {  # program -> module with main()
    "vmf-export": "vmf.export.cli",
    "vmf-bench": "vmf.benchmarks.cli",
    "vmf-stream": "vmf.runtime.cli",
    "vmf-train": "vmf.train.train_cli",
    "vmf-eval": "vmf.train.eval_cli",
    "vmf-data": "vmf.train.data_cli",
    "vmf-serve": "vmf.runtime.serve",
}


def run_main(prog: str, argv: list[str], capsys) -> tuple[int, str]:
    module = __import__(CLIS[prog], fromlist=["main"])
    try:
        code = module.main(argv)
    except SystemExit as exc:  # argparse exiting by itself would break the convention
        code = f"SystemExit({exc.code})"
    out, err = capsys.readouterr()
    return code, err


@pytest.mark.parametrize("prog", list(CLIS))
def test_a_bad_command_line_is_one_line_with_a_hint_and_exit_2(prog, capsys):
    argv = ["synth", "--no-such-option"] if prog == "vmf-data" else ["--no-such-option"]
    code, err = run_main(prog, argv, capsys)
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert lines[0].endswith(f"(see {prog} --help)") or lines[0].endswith(f"(see {prog} synth --help)"), err


def runtime_error_argv(prog, tmp_path, monkeypatch) -> list[str]:
    missing = tmp_path / "missing"
    if prog == "vmf-export":
        return ["--variant", "560M", "--weights", str(missing / "w.pt"), "--out", str(tmp_path)]
    if prog == "vmf-bench":
        return ["--model", str(missing / "m.onnx")]
    if prog == "vmf-stream":
        return ["--model", str(missing / "m.onnx"), "--source", str(missing / "v.mp4")]
    if prog == "vmf-train":
        return [str(missing), "--out", str(tmp_path / "run")]
    if prog == "vmf-eval":
        return ["--model", str(missing / "m.pt"), "--data", str(tmp_path)]
    if prog == "vmf-serve":
        return [str(missing / "exports" / "web" / "m.web")]
    from vmf.model import VmfError
    from vmf.train import data_cli

    def full_disk(*args, **kwargs):
        raise VmfError("disk full (simulated)")

    monkeypatch.setattr(data_cli, "write_video", full_disk)
    return ["left-right", "--out", str(tmp_path / "v.mp4")]


@pytest.mark.parametrize("prog", list(CLIS))
def test_a_runtime_error_is_one_line_and_exit_1(prog, capsys, tmp_path, monkeypatch):
    code, err = run_main(prog, runtime_error_argv(prog, tmp_path, monkeypatch), capsys)
    assert code == 1, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "--help" not in lines[0] and "Traceback" not in err


HELP_WITHOUT_TORCH = """
import sys
from {module} import main
try:
    main(["--help"])
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = sorted(m for m in ("torch", "tensorflow", "onnx", "cv2") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


def test_help_imports_no_torch():
    for prog, module in CLIS.items():
        done = subprocess.run(
            [sys.executable, "-c", HELP_WITHOUT_TORCH.format(module=module)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        heavy = done.stdout.strip().splitlines()[-1].removeprefix("HEAVY=")
        assert heavy in ("", "cv2") if prog == "vmf-data" else heavy == "", (prog, heavy)
        assert f"usage: {prog}" in done.stdout


def test_the_split_tool_follows_the_convention(capsys, tmp_path):
    from vmf.export.split import main

    assert main(["--no-such-option"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("(see python -m vmf.export.split --help)"), lines
    assert main([str(tmp_path / "m.onnx")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no sidecar m.json"), lines
