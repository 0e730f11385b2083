"""vmf-stream end to end: JSON summary, overlay video, and one line per user error."""

import json
import shutil

import cv2
import pytest

from vmf.runtime.cli import main

from runtime_fixtures import TINY_FRAMES


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(code, out, err):
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_json_summary_is_the_last_stdout_line(tiny_models, make_video, capsys):
    video = make_video(13, size=(40, 52))
    code, out, err = _run(
        capsys, "--model", tiny_models["onnx"], "--source", video, "--hop", "2", "--threads", "1", "--json"
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["frames_read"] == 13 and summary["frames_dropped"] == 0
    assert summary["inferences"] == 1 + (13 - TINY_FRAMES) // 2
    assert summary["backend"] == "onnxruntime"
    assert summary["device"] == "onnxruntime CPUExecutionProvider, 1 threads"
    for series in ("preprocess", "inference", "end_to_end"):
        assert set(summary["latency_ms"][series]) == {"p50", "p90", "p99", "mean", "max", "count"}
    assert set(summary["throughput"]) == {"clips_per_s", "frames_per_s"}
    assert summary["throughput"]["clips_per_s"] > 0
    preds = summary["predictions"]
    assert [p["frame_index"] for p in preds] == [7, 9, 11]
    assert all(len(p["top5"]) == 5 and set(p["top5"][0]) == {"label", "score"} for p in preds)
    assert len(out.strip().splitlines()) == 1  # nothing else on stdout with --json


def test_plain_output_lists_predictions_and_a_summary(tiny_models, make_video, capsys):
    code, out, _ = _run(
        capsys,
        "--model",
        tiny_models["onnx"],
        "--source",
        make_video(9),
        "--threads",
        "1",
        "--hop",
        "1",
        "--max-frames",
        "8",
    )
    assert code == 0
    assert out.startswith("frame 7 (0.28 s): class_")
    assert "8 frames read, 0 dropped, 1 clips classified" in out


def test_output_video_has_every_frame(tiny_models, make_video, tmp_path, capsys):
    target = tmp_path / "overlay.mp4"
    code, _, err = _run(
        capsys,
        "--model",
        tiny_models["onnx"],
        "--source",
        make_video(10, size=(64, 80)),
        "--threads",
        "1",
        "--output",
        target,
        "--json",
    )
    assert code == 0, err
    capture = cv2.VideoCapture(str(target))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 10
    assert capture.get(cv2.CAP_PROP_FRAME_WIDTH) == 80
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_short_video_is_zero_inferences_not_an_error(tiny_models, make_video, capsys):
    code, out, _ = _run(
        capsys, "--model", tiny_models["onnx"], "--source", make_video(3), "--threads", "1", "--json"
    )
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["frames_read"] == 3 and summary["inferences"] == 0 and summary["predictions"] == []


def test_missing_source(tiny_models, tmp_path, capsys):
    line = _one_error_line(*_run(capsys, "--model", tiny_models["onnx"], "--source", tmp_path / "x.mp4"))
    assert "does not exist" in line


def test_camera_that_cannot_be_opened(tiny_models, capsys):
    line = _one_error_line(*_run(capsys, "--model", tiny_models["onnx"], "--source", "57"))
    assert line == "error: cannot open camera 57"


def test_unreadable_source(tiny_models, tmp_path, capsys):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"nope" * 50)
    line = _one_error_line(*_run(capsys, "--model", tiny_models["onnx"], "--source", bad))
    assert "cannot open video" in line


def test_corrupt_model(tiny_models, make_video, tmp_path, capsys):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"\x08\x01garbage")
    shutil.copy(tiny_models["onnx"].with_suffix(".json"), tmp_path / "m.json")
    line = _one_error_line(*_run(capsys, "--model", model, "--source", make_video(2)))
    assert "not a loadable ONNX model" in line


def test_model_without_sidecar(tiny_models, make_video, tmp_path, capsys):
    model = tmp_path / "m.onnx"
    shutil.copy(tiny_models["onnx"], model)
    line = _one_error_line(*_run(capsys, "--model", model, "--source", make_video(2)))
    assert "no sidecar m.json" in line


def test_sidecar_that_does_not_match(tiny_models, make_video, tmp_path, capsys):
    model = tmp_path / "m.onnx"
    shutil.copy(tiny_models["onnx"], model)
    meta = json.loads(tiny_models["onnx"].with_suffix(".json").read_text())
    meta["frames"] = 16
    meta["input_shape"] = [16] + meta["input_shape"][1:]
    (tmp_path / "m.json").write_text(json.dumps(meta))
    line = _one_error_line(*_run(capsys, "--model", model, "--source", make_video(2)))
    assert "does not belong to this model" in line


def test_cuda_without_a_gpu(tiny_models, make_video, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    line = _one_error_line(
        *_run(capsys, "--model", tiny_models["onnx"], "--source", make_video(2), "--device", "cuda")
    )
    assert "--device cuda" in line


def test_missing_backend_package(tiny_models, make_video, tmp_path, capsys, monkeypatch):
    import vmf.runtime.backend_litert as litert
    from vmf.runtime.backend_base import missing

    def unavailable():
        raise missing("ai-edge-litert", "tflite", "running a .tflite model")

    monkeypatch.setattr(litert, "_interpreter_class", unavailable)
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    shutil.copy(tiny_models["onnx"].with_suffix(".json"), tmp_path / "m.json")
    line = _one_error_line(*_run(capsys, "--model", model, "--source", make_video(2)))
    assert "pip install 'vmf[tflite]'" in line


def test_display_without_gui_says_so(tiny_models, make_video, capsys):
    from vmf.runtime.overlay import gui_available

    if gui_available():
        pytest.skip("this OpenCV has a GUI")
    line = _one_error_line(
        *_run(capsys, "--model", tiny_models["onnx"], "--source", make_video(2), "--display")
    )
    assert "headless" in line


def test_bad_option_values(tiny_models, make_video, capsys):
    for option in (
        ["--hop", "0"],
        ["--smooth", "1.5"],
        ["--hold", "1.5"],
        ["--sample-every", "0"],
        ["--max-frames", "0"],
    ):
        line = _one_error_line(
            *_run(capsys, "--model", tiny_models["onnx"], "--source", make_video(2), *option)
        )
        assert option[0] in line


def test_torch_backend_realtime_sampling_and_smoothing(tiny_models, make_video, capsys):
    """--backend, --realtime, --sample-fps and --smooth each show in the summary."""
    video = make_video(24)  # 25 fps: 0.96 s of video
    code, out, err = _run(
        capsys,
        "--model",
        tiny_models["checkpoint"],
        "--backend",
        "torch",
        "--source",
        video,
        "--realtime",
        "--sample-fps",
        "12.5",
        "--hop",
        "2",
        "--smooth",
        "0.5",
        "--threads",
        "1",
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["backend"] == "torch" and summary["device"] == "torch cpu, 1 threads"
    assert summary["wall_s"] >= 23 / 25  # paced at the file's frame rate, not read flat out
    kept = summary["frames_kept"]
    assert summary["frames_read"] == 24
    if summary["frames_dropped"] == 0:  # a loaded machine may drop frames of a live source
        assert kept == 12  # 12.5 of 25 fps: every other frame
    assert kept <= 12
    assert summary["inferences"] + summary["hops_skipped"] == 1 + (kept - TINY_FRAMES) // 2


def test_openvino_backend_runs_the_onnx_file(tiny_models, make_video, capsys):
    pytest.importorskip("openvino")
    video = make_video(10, size=(40, 52))
    args = ("--model", tiny_models["onnx"], "--source", video, "--hop", "2", "--threads", "1", "--json")
    code, out, err = _run(capsys, *args, "--backend", "openvino")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["backend"] == "openvino" and summary["device"].startswith("openvino CPU")
    assert summary["inferences"] == 1 + (10 - TINY_FRAMES) // 2
    code, out, err = _run(capsys, *args)  # the suffix alone still means onnxruntime
    reference = json.loads(out.strip().splitlines()[-1])
    assert reference["backend"] == "onnxruntime"
    for ours, theirs in zip(summary["predictions"], reference["predictions"]):
        assert ours["top5"][0]["label"] == theirs["top5"][0]["label"]
        assert abs(ours["top5"][0]["score"] - theirs["top5"][0]["score"]) < 1e-4


def test_status_line_on_stderr(tiny_models, make_video, capsys, monkeypatch):
    import vmf.runtime.cli as cli

    monkeypatch.setattr(cli, "STATUS_INTERVAL_PIPE_S", 0.0)
    code, out, err = _run(
        capsys,
        "--model",
        tiny_models["onnx"],
        "--source",
        make_video(12),
        "--threads",
        "1",
        "--hop",
        "1",
        "--json",
    )
    assert code == 0
    lines = err.strip().splitlines()
    assert any(line.endswith("filling the clip buffer") for line in lines)
    assert any(" fps | frame " in line and "inference" in line and "end-to-end" in line for line in lines)
    json.loads(out.strip().splitlines()[-1])  # stdout is still only the JSON object


def test_jsonl_writes_each_prediction_as_it_happens(tiny_models, make_video, tmp_path, capsys):
    target = tmp_path / "preds.jsonl"
    code, out, err = _run(
        capsys,
        "--model",
        tiny_models["onnx"],
        "--source",
        make_video(13),
        "--hop",
        "2",
        "--threads",
        "1",
        "--jsonl",
        target,
        "--json",
    )
    assert code == 0, err
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["frame_index"] for r in lines] == [7, 9, 11]
    assert all(r["type"] == "prediction" and len(r["top5"]) == 5 for r in lines)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["inferences"] == 3 and summary["thread_plan"]["inference"] == 1
    assert summary["thread_plan"]["opencv"] == 1


def test_jsonl_to_stdout_ends_with_the_summary(tiny_models, make_video, capsys):
    code, out, err = _run(
        capsys,
        "--model",
        tiny_models["onnx"],
        "--source",
        make_video(10),
        "--hop",
        "2",
        "--threads",
        "1",
        "--jsonl",
        "-",
    )
    assert code == 0, err
    records = [json.loads(line) for line in out.strip().splitlines()]  # stdout is JSON lines only
    assert [r["type"] for r in records] == ["prediction", "prediction", "summary"]
    assert "clips classified" in err  # the human summary went to stderr


def test_hop_larger_than_the_clip_is_one_error_line(tiny_models, make_video, capsys):
    code, out, err = _run(
        capsys, "--model", tiny_models["onnx"], "--source", make_video(3), "--hop", str(TINY_FRAMES + 1)
    )
    assert "larger than the model's clip" in _one_error_line(code, out, err)


def test_reconnect_on_a_file_is_one_error_line(tiny_models, make_video, capsys):
    code, out, err = _run(capsys, "--model", tiny_models["onnx"], "--source", make_video(3), "--reconnect")
    assert "--reconnect" in _one_error_line(code, out, err)


@pytest.mark.parametrize(
    "sampling, says",
    [
        ("stream", f"model: trained on stream windows of {TINY_FRAMES} frames at 12.5 fps"),
        ("video", "warning: the model was trained on whole videos"),
        (None, None),
    ],
)
def test_what_the_model_was_trained_on_is_said_once(
    tiny_models, make_video, tmp_path, capsys, sampling, says
):
    model = tmp_path / "m.onnx"
    shutil.copy(tiny_models["onnx"], model)
    meta = json.loads(tiny_models["onnx"].with_suffix(".json").read_text())
    meta.update(clip_sampling=sampling, sample_fps=12.5)
    (tmp_path / "m.json").write_text(json.dumps(meta))
    code, out, err = _run(
        capsys, "--model", model, "--source", make_video(12), "--threads", "1", "--hop", "2", "--json"
    )
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["clip_sampling"] == sampling
    noted = [line for line in err.splitlines() if "trained on" in line]
    if says is None:
        assert noted == []
    else:
        assert len(noted) == 1 and noted[0].startswith(says), err


@pytest.mark.parametrize(
    "spin, load, on, reason",
    [
        ("off", 0.0, False, "--spin off"),
        ("on", 9.0, True, "--spin on"),
        ("auto", 0.4, True, "auto: load 0.4 of 2 cores"),
        ("auto", 6.0, False, "auto: load 6.0 of 2 cores"),
    ],
)
def test_spin_reaches_the_backend_and_the_summary(
    tiny_models, make_video, capsys, monkeypatch, spin, load, on, reason
):
    from vmf.runtime import cli, thread_plan

    monkeypatch.setattr(thread_plan, "load_average", lambda: load)
    monkeypatch.setattr(thread_plan, "available_cores", lambda: 2)
    asked = []
    real = cli.load_backend
    monkeypatch.setattr(cli, "load_backend", lambda *a, **k: asked.append(k["spin"]) or real(*a, **k))
    video = make_video(10)
    code, out, err = _run(
        capsys, "--model", tiny_models["onnx"], "--source", video, "--threads", "1", "--spin", spin, "--json"
    )
    assert code == 0, err
    assert asked == [on]
    plan = json.loads(out.strip().splitlines()[-1])["thread_plan"]
    assert (plan["spin"], plan["spin_reason"]) == (on, reason)
    # The human summary says it in the thread plan line.
    code, out, err = _run(
        capsys, "--model", tiny_models["onnx"], "--source", video, "--threads", "1", "--spin", spin
    )
    assert f"(spin-wait {'on' if on else 'off'} ({reason}))" in out


def test_spin_on_a_runtime_without_the_switch_says_it_did_nothing(tiny_models, make_video, capsys):
    code, out, err = _run(
        capsys,
        "--model",
        tiny_models["checkpoint"],
        "--source",
        make_video(10),
        "--threads",
        "1",
        "--spin",
        "off",
        "--json",
    )
    assert code == 0, err
    plan = json.loads(out.strip().splitlines()[-1])["thread_plan"]
    assert plan["spin_reason"] == "--spin off; no effect on torch: its pool has no spin switch"


def test_json_on_a_file_lists_every_prediction_beyond_the_kept_ones(
    tiny_models, make_video, capsys, monkeypatch
):
    from vmf.runtime import stream

    monkeypatch.setattr(stream, "KEEP_PREDICTIONS", 2)  # in memory: the newest 2 only
    code, out, err = _run(
        capsys,
        "--model",
        tiny_models["onnx"],
        "--source",
        make_video(14),
        "--hop",
        "1",
        "--threads",
        "1",
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["inferences"] == 14 - TINY_FRAMES + 1
    assert [p["frame_index"] for p in summary["predictions"]] == list(range(TINY_FRAMES - 1, 14))


def test_jsonl_lines_are_flushed_before_the_next_clip_is_classified(
    tiny_models, make_video, tmp_path, capsys, monkeypatch
):
    from vmf.runtime import cli

    target = tmp_path / "preds.jsonl"
    seen = []  # lines in the file each time the model is called
    real = cli.load_backend

    def counting(*args, **kwargs):
        backend = real(*args, **kwargs)
        infer = backend._infer

        def run(clip):
            seen.append(len(target.read_text().splitlines()) if target.exists() else 0)
            return infer(clip)

        backend._infer = run
        return backend

    monkeypatch.setattr(cli, "load_backend", counting)
    code, _, err = _run(
        capsys,
        "--model",
        tiny_models["onnx"],
        "--source",
        make_video(13),
        "--hop",
        "1",
        "--threads",
        "1",
        "--jsonl",
        target,
    )
    assert code == 0, err
    assert seen == list(range(13 - TINY_FRAMES + 1))  # clip k finds the k lines before it on disk
