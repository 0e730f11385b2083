"""The committed demo model: it loads like any checkpoint and still recognises motion.

These run the real model (VMF-560M, 64 frames at 112 px) on freshly generated
videos through the same paths a user takes (vmf-data, vmf-eval, vmf-stream),
so a change that breaks preprocessing, frame order, the checkpoint format or
the stem shows up as lost accuracy here, not only as a parity number.
"""

from __future__ import annotations

import json

import pytest
import torch

from vmf.model import load_checkpoint
from vmf.train import DEMO_CHECKPOINT, synth
from vmf.train import data_cli, eval_cli
from vmf.runtime import cli as stream_cli

pytestmark = pytest.mark.skipif(not DEMO_CHECKPOINT.is_file(), reason="no demo checkpoint")


def test_demo_checkpoint_is_self_describing():
    model = load_checkpoint(DEMO_CHECKPOINT)
    assert model.classes == list(synth.CLASSES)
    assert (model.cfg.name, model.cfg.frames, model.cfg.resolution) == ("560M", 64, 112)
    # stored in fp16 to stay small, computed in fp32
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert DEMO_CHECKPOINT.stat().st_size < 10 * 2**20


def test_demo_model_recognises_generated_motions(tmp_path, capsys):
    data = tmp_path / "heldout"
    # seed 4242: scenes the model never trained on (training renders in memory from seed 0)
    assert (
        data_cli.main(
            ["synth", "--out", str(data), "--per-class", "2", "--seed", "4242", "--frames", "48-80"]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        eval_cli.main(["--model", str(DEMO_CHECKPOINT), "--data", str(data), "--json", "--threads", "2"]) == 0
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 2 * len(synth.CLASSES) and result["skipped"] == 0
    assert result["top1"] >= 0.8, result["per_class"]


def test_demo_checkpoint_was_trained_on_stream_windows():
    model = load_checkpoint(DEMO_CHECKPOINT)
    assert model.clip_sampling == "stream" and "no_motion" in model.classes


def test_demo_model_says_no_motion_for_a_still_scene(tmp_path, capsys):
    video = tmp_path / "still.mp4"
    assert data_cli.main(["still", "--out", str(video), "--frames", "96", "--seed", "5"]) == 0
    capsys.readouterr()
    args = ["--model", str(DEMO_CHECKPOINT), "--source", str(video), "--hop", "8", "--threads", "2", "--json"]
    assert stream_cli.main(args) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    tops = [p["top5"][0]["label"] for p in report["predictions"]]
    assert tops and set(tops) == {"no_motion"}, tops


def test_demo_model_follows_a_direction_change_in_a_stream(tmp_path, capsys):
    video = tmp_path / "left_right.mp4"
    assert data_cli.main(["left-right", "--out", str(video), "--frames", "176", "--json"]) == 0
    turn = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["left"][1]
    assert (
        stream_cli.main(
            [
                "--model",
                str(DEMO_CHECKPOINT),
                "--source",
                str(video),
                "--hop",
                "8",
                "--threads",
                "2",
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    left = right = 0
    for p in report["predictions"]:
        last = p["frame_index"]
        first = last - 63  # every frame is kept: a clip is the 64 frames ending here
        top = p["top5"][0]["label"]
        if last <= turn:
            assert top == "moving_left", (first, last, p["top5"][:2])
            assert p["top5"][0]["score"] >= 0.5, (first, last, p["top5"][:2])  # confident, not a guess
            left += 1
        elif first > turn:
            assert top == "moving_right", (first, last, p["top5"][:2])
            assert p["top5"][0]["score"] >= 0.5, (first, last, p["top5"][:2])
            right += 1
    assert left >= 2 and right >= 2
