"""vmf-eval: evaluation of a checkpoint and of its ONNX export on a tiny synthetic dataset.

Everything is made here and kept tiny: ten classes x one video of 12 frames
at 48 x 32 written by ``vmf-data synth``, a VMF-560M config shrunk to 8
frames at 32 x 32 (real blocks, few MACs) and its ONNX export through the
exporter's own API with the class names as labels. The classifier's weights
are scaled up so logits are far apart: two runtimes computing the same
model then agree on every argmax, and a disagreement is a real bug (a
different clip, preprocessing or class mapping), not a near tie.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from vmf.export.api import export
from vmf.export.preprocess import FramePreprocessor
from vmf.model import MEAN, STD, VARIANTS, VmfError, build_model, save_checkpoint
from vmf.train import data_cli, eval_cli, synth
from vmf.train.clips import eval_indices
from vmf.train.evaluate import (
    clip_indices,
    eval_items,
    evaluate,
    fill_clip,
    label_map,
    shuffle_rng,
    shuffled_order,
    take_spread,
)

FRAMES, RES = 8, 32
CLASSES = list(synth.CLASSES)
REQUIRED_KEYS = {
    "top1",
    "top5",
    "mean_class_accuracy",
    "per_class",
    "n",
    "skipped",
    "confusion",
    "classes",
    "model",
    "backend",
    "device",
    "seconds",
    "clips_per_s",
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """10 classes x 1 video (12 frames, 48 x 32) as a class tree with classes.txt."""
    out = tmp_path_factory.mktemp("eval_data") / "synth"
    assert (
        data_cli.main(
            [
                "synth",
                "--out",
                str(out),
                "--per-class",
                "1",
                "--frames",
                "12",
                "--size",
                "48x32",
                "--fps",
                "12",
            ]
        )
        == 0
    )
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{"checkpoint": .pt with class names, "onnx": its export with the same names}."""
    folder = tmp_path_factory.mktemp("eval_models")
    torch.manual_seed(0)
    cfg = dataclasses.replace(VARIANTS["560M"], frames=FRAMES, resolution=RES)
    model = build_model(cfg, num_classes=len(CLASSES)).eval()
    with torch.no_grad():
        model.head.classifier.weight.mul_(100.0)  # logits far apart: no near ties
    checkpoint = save_checkpoint(model, folder / "tiny.pt", classes=CLASSES)
    labels = folder / "labels.txt"
    labels.write_text("\n".join(CLASSES) + "\n")
    report = export(
        "560M",
        targets=("onnx",),
        precisions=("fp32",),
        weights=checkpoint,
        frames=FRAMES,
        resolution=RES,
        labels=labels,
        out_dir=folder / "exports",
        log=lambda line: None,
        warn=lambda line: None,
    )
    return {"checkpoint": checkpoint, "onnx": report.artifacts[0].path}


def run_cli(capsys, *args):
    """(exit code, stdout, stderr) of ``vmf-eval`` run in this process."""
    code = eval_cli.main([*map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def checkpoint_result(dataset, models):
    return evaluate(models["checkpoint"], dataset, threads=1, warn=lambda line: None)


# --------------------------------------------------------------------------- whole runs


def test_checkpoint_evaluation_is_sane(checkpoint_result):
    r = checkpoint_result
    assert r["n"] == len(CLASSES) and r["skipped"] == 0 and r["split"] == "all"
    assert 0.0 <= r["top1"] <= r["top5"] <= 1.0
    assert 0.0 <= r["mean_class_accuracy"] <= 1.0
    confusion = np.asarray(r["confusion"])
    assert confusion.shape == (len(CLASSES), len(CLASSES)) and confusion.sum() == r["n"]
    assert r["classes"] == CLASSES and set(r["per_class"]) == set(CLASSES)
    assert r["backend"] == "torch" and r["frames"] == FRAMES and r["resolution"] == RES
    # every video's true class is its folder's: the mapping is by name
    assert all(p["true"] in p["video"] for p in r["predictions"])


def test_checkpoint_and_its_onnx_export_agree(capsys, dataset, models):
    results = {}
    for kind in ("checkpoint", "onnx"):
        code, out, err = run_cli(
            capsys, "--model", models[kind], "--data", dataset, "--threads", "1", "--json"
        )
        assert code == 0, err
        results[kind] = json.loads(out.strip().splitlines()[-1])
    torch_run, onnx_run = results["checkpoint"], results["onnx"]
    assert (torch_run["backend"], onnx_run["backend"]) == ("torch", "onnxruntime")
    assert onnx_run["classes"] == torch_run["classes"] == CLASSES
    assert onnx_run["predictions"] == torch_run["predictions"]
    assert onnx_run["confusion"] == torch_run["confusion"]
    assert onnx_run["top5"] == torch_run["top5"]


def test_json_output_has_the_keys_and_the_report_goes_to_stderr(capsys, dataset, models):
    code, out, err = run_cli(
        capsys, "--model", models["onnx"], "--data", dataset, "--threads", "1", "--limit", "3", "--json"
    )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1  # stdout is the JSON object alone
    result = json.loads(lines[0])
    assert REQUIRED_KEYS <= set(result) and result["n"] == 3
    assert "top-1" in err and "mean class accuracy" in err


def test_text_report_has_headline_table_and_matrix(capsys, dataset, models):
    code, out, err = run_cli(
        capsys, "--model", models["onnx"], "--data", dataset, "--threads", "1", "--limit", "2"
    )
    assert code == 0, err
    assert "top-1" in out and "top-5" in out and "mean class accuracy" in out
    assert "confusion matrix" in out and "moving_left" in out
    assert "{" not in out  # no JSON without --json


def test_corrupt_video_is_skipped_and_counted(capsys, tmp_path, dataset, models):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 64)
    # a list file: classes are the sorted names it uses, so the mapping to the model is by name
    listing = tmp_path / "list.txt"
    listing.write_text(
        f"{dataset / 'shrinking' / 'shrinking_0.mp4'} shrinking\n"
        f"{broken} moving_left\n"
        f"{dataset / 'moving_up' / 'moving_up_0.mp4'} moving_up\n"
    )
    code, out, err = run_cli(capsys, "--model", models["onnx"], "--data", listing, "--threads", "1", "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["n"] == 2 and result["skipped"] == 1
    assert sum(map(sum, result["confusion"])) == 2
    assert {p["true"] for p in result["predictions"]} == {"shrinking", "moving_up"}
    skipped = [line for line in err.splitlines() if "skipped" in line and "broken.mp4" in line]
    assert len(skipped) == 1


@pytest.mark.parametrize(
    "case",
    [
        "missing model",
        "missing data",
        "unknown backend",
        "no videos",
        "unknown class",
        "missing argument",
        "bad device",
    ],
)
def test_errors_are_one_line_with_the_cli_exit_status(capsys, tmp_path, dataset, models, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    other = tmp_path / "other"
    (other / "juggling").mkdir(parents=True)
    (other / "juggling" / "a.mp4").write_bytes(b"")
    args = {
        "missing model": ["--model", tmp_path / "nope.pt", "--data", dataset],
        "missing data": ["--model", models["checkpoint"], "--data", tmp_path / "nowhere"],
        "unknown backend": ["--model", models["onnx"], "--data", dataset, "--backend", "tvm"],
        "no videos": ["--model", models["onnx"], "--data", empty],
        "unknown class": ["--model", models["onnx"], "--data", other],
        "missing argument": ["--model", models["onnx"]],
        "bad device": ["--model", models["onnx"], "--data", dataset, "--device", "tpu"],
    }[case]
    code, out, err = run_cli(capsys, *args)
    usage = case == "missing argument"  # argparse; the others are checked when they are used
    assert code == (2 if usage else 1) and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert lines[0].endswith("(see vmf-eval --help)") == usage, err
    assert "Traceback" not in err
    if case == "unknown class":
        assert "'juggling'" in lines[0]


def test_confusion_png_is_drawn(tmp_path, checkpoint_result):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plots" / "confusion.png"
    eval_cli.draw_confusion(checkpoint_result, path)
    assert path.is_file() and path.stat().st_size > 0


# --------------------------------------------------------------------------- the pieces


def test_shuffled_clip_has_the_same_frames_in_another_order():
    ordered = clip_indices(100, FRAMES)
    assert np.array_equal(ordered, eval_indices(100, FRAMES))
    assert np.all(np.diff(ordered) > 0)
    shuffled = clip_indices(100, FRAMES, shuffle_rng(0, 0))
    assert sorted(shuffled) == sorted(ordered) and not np.array_equal(shuffled, ordered)
    assert np.array_equal(shuffled, clip_indices(100, FRAMES, shuffle_rng(0, 0)))  # fixed seed
    assert not np.array_equal(shuffled, clip_indices(100, FRAMES, shuffle_rng(0, 1)))  # per video
    for seed in range(50):  # never the identity, even for 2 frames
        assert list(shuffled_order(2, np.random.default_rng(seed))) == [1, 0]


@pytest.mark.parametrize("layout", ["TCHW", "THWC"])
def test_fill_clip_puts_frame_k_of_the_indices_in_slot_k(layout):
    video = np.stack([np.full((24, 40, 3), 10 * k, np.uint8) for k in range(20)])
    pre = FramePreprocessor(16, MEAN, STD, layout)
    clip = np.empty((4, *pre.slot_shape), np.float32)
    indices = np.array([7, 2, 19, 0])
    fill_clip(video, indices, pre, clip)
    levels = (clip.mean(axis=(1, 2, 3)) * STD[0] + MEAN[0]) * 255  # undo the normalisation
    assert np.allclose(levels, 10 * indices, atol=0.01)


def test_label_map_matches_names_not_indices():
    warnings = []
    model = ["b", "c", "a"]
    assert label_map(["a", "b"], {0, 1}, model, warnings.append).tolist()[:2] == [2, 0]
    with pytest.raises(VmfError, match="'zebra'"):
        label_map(["a", "zebra"], {0, 1}, model, warnings.append)
    label_map(["a", "zebra"], {0}, model, warnings.append)  # an unused class does not matter
    assert warnings == []
    placeholders = ["class_0", "class_1", "class_2"]
    assert label_map(["x", "y"], {0, 1}, placeholders, warnings.append).tolist() == [0, 1]
    assert len(warnings) == 1 and "placeholder" in warnings[0]
    with pytest.raises(VmfError, match="4 classes"):
        label_map(["w", "x", "y", "z"], {0, 3}, placeholders, warnings.append)


def test_data_folder_means_val_when_split_else_everything(tmp_path):
    for split in ("train", "val"):
        for name in ("x", "y"):
            (tmp_path / "d" / split / name).mkdir(parents=True)
            (tmp_path / "d" / split / name / f"{split}.mp4").write_bytes(b"")
    items, classes, split = eval_items(tmp_path / "d")
    assert split == "val" and classes == ["x", "y"]
    assert {p.parent.parent.name for p, _ in items} == {"val"}
    items, _, split = eval_items(tmp_path / "d" / "train")
    assert split == "all" and len(items) == 2
    warnings = []
    (tmp_path / "d" / "val").rename(tmp_path / "d" / "held")
    items, _, split = eval_items(tmp_path / "d", warnings.append)
    assert split == "train" and len(items) == 2 and len(warnings) == 1


def test_limit_spreads_over_the_classes():
    items = [(f"v{i}", i // 10) for i in range(100)]  # 10 classes, listed class by class
    taken = take_spread(items, 10)
    assert len(taken) == 10 and {label for _, label in taken} == set(range(10))
    assert take_spread(items, None) == items and take_spread(items, 1000) == items
    with pytest.raises(VmfError):
        take_spread(items, 0)
