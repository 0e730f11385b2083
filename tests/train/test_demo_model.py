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

pytestmark = [
    pytest.mark.skipif(not DEMO_CHECKPOINT.is_file(), reason="no demo checkpoint"),
    pytest.mark.integration,  # the real model through vmf-data, vmf-eval and vmf-stream
]


def test_demo_checkpoint_is_self_describing():
    model = load_checkpoint(DEMO_CHECKPOINT)
    assert model.classes and set(model.classes) <= set(synth.CLASSES)
    assert (model.cfg.name, model.cfg.frames, model.cfg.resolution) == ("560M", 64, 112)
    # stored in fp16 to stay small, computed in fp32
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert DEMO_CHECKPOINT.stat().st_size < 10 * 2**20


def test_demo_model_recognises_generated_motions(tmp_path, capsys):
    data = tmp_path / "heldout"
    classes = load_checkpoint(DEMO_CHECKPOINT).classes
    # seed 4242: scenes the model never trained on (training renders in memory from seed 0);
    # only the classes the demo model knows
    args = ["synth", "--out", str(data), "--per-class", "2", "--seed", "4242", "--frames", "48-80"]
    assert data_cli.main([*args, "--classes", ",".join(classes)]) == 0
    capsys.readouterr()
    assert (
        eval_cli.main(["--model", str(DEMO_CHECKPOINT), "--data", str(data), "--json", "--threads", "2"]) == 0
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 2 * len(classes) and result["skipped"] == 0
    assert result["top1"] >= 0.8, result["per_class"]


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
            left += 1
        elif first > turn:
            assert top == "moving_right", (first, last, p["top5"][:2])
            right += 1
    assert left >= 2 and right >= 2
