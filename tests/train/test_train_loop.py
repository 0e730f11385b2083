"""vmf-train: the training loop end to end, at toy size (16 frames at 32 x 32, a few clips).

What is checked: a run learns (loss falls, validation beats chance), the run
folder it writes, that Ctrl-C + ``--resume`` ends bit-identical to a run that
was never interrupted, fine-tuning (``--init`` with another class count,
``--freeze-backbone``) and the one-line errors of a start that cannot work.
Several processes: test_train_ddp.py; a run that cannot decode its videos and
``--resume`` with other settings: test_train_errors.py.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vmf.model import (
    VARIANTS,
    build_model,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from vmf.train import synth, train_cli
from vmf.train.trainer import RESULT_FIELDS
from vmf.train.video_io import write_video

FRAMES, RES = 16, 32
pytestmark = pytest.mark.integration  # real training runs


TINY = ["--frames", str(FRAMES), "--resolution", str(RES), "--workers", "0", "--threads", "1"]
HEADER = (
    "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,val_mean_class_accuracy,clips_per_s,seconds"
)
RUN_FILES = {
    "args.json",
    "classes.txt",
    "results.csv",
    "results.png",
    "confusion_matrix.png",
    "weights/last.pt",
    "weights/best.pt",
}
TIMING = ("clips_per_s", "seconds")  # the only columns a resumed run may differ in


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def read_results(run: Path) -> list[dict]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def tiny_model(num_classes: int, seed: int, variant: str = "560M"):
    """A real network of ``variant`` at the test's clip size, with random BN statistics too."""
    torch.manual_seed(seed)
    model = build_model(
        dataclasses.replace(VARIANTS[variant], frames=FRAMES, resolution=RES), num_classes=num_classes
    )
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    return model


# --------------------------------------------------------------------------- a run that learns

RAMP_CLASSES = ["brightening", "darkening"]


def ramp_video(rising: bool, rng: np.random.Generator, height: int = 40, width: int = 48) -> np.ndarray:
    """A textured frame whose brightness rises (or falls) linearly over 16 frames.

    The two classes are time reversals of each other with the same level and
    texture distributions, so a single frame says nothing about the class:
    the model has to use frame order (easy for the temporal stem conv).
    """
    lo, hi = rng.uniform(30, 90), rng.uniform(160, 225)
    levels = np.linspace(lo, hi, FRAMES)[:: 1 if rising else -1]
    texture = rng.normal(0, 12, (height, width, 1)) + np.linspace(-20, 20, width)[None, :, None] * rng.choice(
        [-1, 1]
    )
    video = levels[:, None, None, None] + texture[None]
    return np.clip(video, 0, 255).astype(np.uint8).repeat(3, -1)


def write_ramp_dataset(root: Path) -> Path:
    """ROOT/train/<class>/ (8 videos each) and ROOT/val/<class>/ (4 each), other seeds."""
    for split, base, count in (("train", 0, 8), ("val", 1, 4)):
        for ci, name in enumerate(RAMP_CLASSES):
            (root / split / name).mkdir(parents=True)
            for k in range(count):
                rng = np.random.default_rng([base, ci, k])
                write_video(root / split / name / f"{name}_{k}.mp4", ramp_video(ci == 0, rng), 12.0)
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One 14-epoch run on the ramp dataset: {"run", "rc", "stdout", "stderr"} (shared, read-only)."""
    tmp = tmp_path_factory.mktemp("learn")
    data = write_ramp_dataset(tmp / "ramps")
    run = tmp / "run"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = train_cli.main(
            [
                str(data),
                *TINY,
                "--epochs",
                "14",
                "--batch",
                "4",
                "--lr",
                "1e-3",
                "--seed",
                "0",
                "--out",
                str(run),
                "--json",
            ]
        )
    return {"run": run, "rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}


def test_training_lowers_the_loss_and_beats_chance(trained):
    assert trained["rc"] == 0, trained["stderr"][-2000:]
    rows = read_results(trained["run"])
    assert [int(r["epoch"]) for r in rows] == list(range(1, 15))
    first, last = rows[0], rows[-1]
    assert float(last["train_loss"]) < float(first["train_loss"])
    assert float(last["train_top1"]) > 0.5
    # Validation videos were never trained on; chance is 0.5 on these 2 balanced classes.
    assert float(last["val_loss"]) < float(first["val_loss"])
    assert float(last["val_top1"]) >= 0.75
    assert float(last["val_mean_class_accuracy"]) >= 0.75


def test_run_folder_holds_every_file(trained):
    assert trained["rc"] == 0, trained["stderr"][-2000:]
    run = trained["run"]
    assert files_under(run) == RUN_FILES  # and no leftovers (temp files, write probes)
    args = json.loads((run / "args.json").read_text())
    assert (args["frames"], args["resolution"], args["epochs"], args["lr"]) == (FRAMES, RES, 14, 1e-3)
    assert (run / "classes.txt").read_text().splitlines() == RAMP_CLASSES
    text = (run / "results.csv").read_text()
    assert text.splitlines()[0] == HEADER == ",".join(RESULT_FIELDS)
    assert len(text.splitlines()) == 1 + 14
    for png in ("results.png", "confusion_matrix.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    summary = json.loads(trained["stdout"].strip().splitlines()[-1])
    assert len(trained["stdout"].strip().splitlines()) == 1  # stdout is the JSON only
    rows = read_results(run)
    best_row = max(rows, key=lambda r: float(r["val_top1"]))  # first of the best (strictly better wins)
    assert summary["epochs"] == 14 and summary["classes"] == RAMP_CLASSES
    assert summary["best_epoch"] == int(best_row["epoch"])
    assert summary["best_top1"] == pytest.approx(float(best_row["val_top1"]), abs=1e-5)
    assert summary["val"]["top1"] == pytest.approx(float(rows[-1]["val_top1"]), abs=1e-5)
    assert Path(summary["last"]) == run / "weights" / "last.pt"
    assert Path(summary["best"]) == run / "weights" / "best.pt"

    for name in ("last.pt", "best.pt"):
        model = load_checkpoint(run / "weights" / name)
        assert model.classes == RAMP_CLASSES
        assert (model.cfg.frames, model.cfg.resolution, model.num_classes) == (FRAMES, RES, 2)
    best = read_checkpoint(run / "weights" / "best.pt")
    assert "train_state" not in best  # best.pt is a plain deployable checkpoint
    assert best["training"]["best_epoch"] == summary["best_epoch"]
    last = read_checkpoint(run / "weights" / "last.pt")
    assert last["train_state"]["epoch"] == 14 and last["train_state"]["step_in_epoch"] == 0


# --------------------------------------------------------------------------- resume

SYNTH = [
    "synth",
    *TINY,
    "--epochs",
    "2",
    "--batch",
    "4",
    "--epoch-size",
    "12",
    "--val-size",
    "4",
    "--seed",
    "3",
]  # 3 steps an epoch


def stop_at(epoch: int, step: int):
    """An ``on_step`` that acts as Ctrl-C right after step ``step`` of epoch ``epoch`` (0-based)."""

    def on_step(run):
        if (run.epoch, run.step_in_epoch) == (epoch, step):
            raise KeyboardInterrupt

    return on_step


@pytest.mark.parametrize("extra", [[], ["--ema", "0.9"]], ids=["plain", "ema"])
def test_resume_matches_an_uninterrupted_run(tmp_path, capsys, extra):
    a, b = tmp_path / "a", tmp_path / "b"
    assert train_cli.main([*SYNTH, *extra, "--out", str(a)]) == 0

    # Ctrl-C in the middle of epoch 1, resume, Ctrl-C in the middle of epoch 2, resume to the end.
    assert train_cli.main([*SYNTH, *extra, "--out", str(b)], on_step=stop_at(0, 2)) == 130
    state = read_checkpoint(b / "weights" / "last.pt")["train_state"]
    assert (state["epoch"], state["step_in_epoch"]) == (0, 2)
    assert not (b / "results.csv").exists()  # no epoch finished yet
    assert f"--resume {b}" in capsys.readouterr().err
    assert train_cli.main(["--resume", str(b)], on_step=stop_at(1, 1)) == 130
    state = read_checkpoint(b / "weights" / "last.pt")["train_state"]
    assert (state["epoch"], state["step_in_epoch"]) == (1, 1)
    assert train_cli.main(["--resume", str(b)]) == 0

    final_a = read_checkpoint(a / "weights" / "last.pt")
    final_b = read_checkpoint(b / "weights" / "last.pt")
    assert final_a["state_dict"].keys() == final_b["state_dict"].keys()
    differ = [
        k
        for k in final_a["state_dict"]
        if not torch.equal(final_a["state_dict"][k], final_b["state_dict"][k])
    ]
    assert differ == []
    if extra:  # the checkpoint holds the average; the raw weights it continues from differ
        state_a = final_a["train_state"]
        assert state_a["ema"]["updates"] == 6  # 2 epochs of 3 steps
        raw = state_a["raw_weights"]
        assert all(torch.equal(raw[k], final_b["train_state"]["raw_weights"][k]) for k in raw)
        assert any(not torch.equal(raw[k], final_a["state_dict"][k]) for k in raw)
    else:
        assert "ema" not in final_a["train_state"]
    rows_a, rows_b = read_results(a), read_results(b)
    assert len(rows_a) == len(rows_b) == 2
    for ra, rb in zip(rows_a, rows_b):
        assert {k: v for k, v in ra.items() if k not in TIMING} == {
            k: v for k, v in rb.items() if k not in TIMING
        }
    assert (
        read_checkpoint(a / "weights" / "best.pt")["sha256"]
        == read_checkpoint(b / "weights" / "best.pt")["sha256"]
    )
    assert files_under(b) == RUN_FILES

    capsys.readouterr()
    assert train_cli.main(["--resume", str(a)]) == 1  # nothing left to do
    err = capsys.readouterr().err
    assert err.startswith("error:") and "already finished" in err
    assert f"--init {a / 'weights' / 'last.pt'}" in err  # how to train further


# --------------------------------------------------------------------------- fine-tuning


@pytest.fixture(scope="module")
def three_class_checkpoint(tmp_path_factory):
    """A VMF-560M checkpoint (16 x 32 x 32 clips) for 3 classes: another class count than synth's."""
    path = tmp_path_factory.mktemp("init") / "three.pt"
    return save_checkpoint(tiny_model(3, seed=123), path, classes=["a", "b", "c"])


def test_init_with_another_class_count_and_frozen_backbone(tmp_path, capsys, three_class_checkpoint):
    run = tmp_path / "run"
    rc = train_cli.main(
        [
            "synth",
            *TINY,
            "--epochs",
            "1",
            "--batch",
            "4",
            "--epoch-size",
            "8",
            "--val-size",
            "4",
            "--init",
            str(three_class_checkpoint),
            "--freeze-backbone",
            "--out",
            str(run),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err[-2000:]
    init_line = next(line for line in err.splitlines() if line.startswith("--init:"))
    assert "re-initialised" in init_line and "head.classifier.weight" in init_line
    assert "head.classifier.bias" in init_line

    init = read_checkpoint(three_class_checkpoint)["state_dict"]
    final = read_checkpoint(run / "weights" / "last.pt")["state_dict"]
    assert final["head.classifier.weight"].shape == (len(synth.CLASSES), init["head.fc.weight"].shape[0])
    backbone = [k for k in final if not k.startswith("head.")]
    assert len(backbone) > 100 and "tokens" in backbone
    # Loaded and then left alone: weights, BN statistics, everything outside the head.
    changed = [k for k in backbone if not torch.equal(final[k], init[k])]
    assert changed == []
    # The head did train (it was loaded from the checkpoint, except the classifier).
    assert not torch.equal(final["head.fc.weight"], init["head.fc.weight"])


# --------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def plain_checkpoint(tmp_path_factory):
    """A vmf checkpoint without training state (as vmf-export or a user would write it)."""
    path = tmp_path_factory.mktemp("plain") / "plain.pt"
    return save_checkpoint(tiny_model(3, seed=5), path, classes=["a", "b", "c"])


def case_empty_folder(tmp_path, **_):
    (tmp_path / "data").mkdir()
    return [str(tmp_path / "data")], "no videos found"


def case_empty_class_folder(tmp_path, video_file, **_):
    video_file("data/walk/walk_0.mp4")
    (tmp_path / "data" / "jump").mkdir()
    return [str(tmp_path / "data")], "has no videos"


def case_resume_missing(tmp_path, **_):
    return ["--resume", str(tmp_path / "nowhere")], "is it a vmf-train run folder"


def case_resume_plain_checkpoint(tmp_path, plain_checkpoint, **_):
    (tmp_path / "old" / "weights").mkdir(parents=True)
    (tmp_path / "old" / "weights" / "last.pt").write_bytes(plain_checkpoint.read_bytes())
    return ["--resume", str(tmp_path / "old")], "no training state"


def _other_variant(variant):
    def case(tmp_path, **_):
        ckpt = save_checkpoint(tiny_model(10, seed=1, variant=variant), tmp_path / f"{variant}.pt")
        return ["synth", "--init", str(ckpt)], "another variant"

    return case


def case_out_under_a_file(tmp_path, **_):
    (tmp_path / "file").write_text("not a folder\n")
    return ["synth", "--out", str(tmp_path / "file" / "run")], "cannot write to --out"


def case_out_holds_a_run(tmp_path, plain_checkpoint, **_):
    (tmp_path / "run" / "weights").mkdir(parents=True)
    (tmp_path / "run" / "weights" / "last.pt").write_bytes(plain_checkpoint.read_bytes())
    return ["synth"], "already holds a run"


def case_ema_of_one(tmp_path, **_):
    return ["synth", "--ema", "1"], "--ema must be in [0, 1)"


ERROR_CASES = {
    "empty-folder": case_empty_folder,
    "ema-of-one": case_ema_of_one,
    "empty-class-folder": case_empty_class_folder,
    "resume-missing": case_resume_missing,
    "resume-plain-checkpoint": case_resume_plain_checkpoint,
    "init-2G": _other_variant("2G"),  # other names and shapes: few tensors fit
    "init-1G": _other_variant("1G"),  # same names, another stem kernel: a backbone tensor misfits
    "out-under-a-file": case_out_under_a_file,
    "out-holds-a-run": case_out_holds_a_run,
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_are_one_line_exit_1_and_leave_nothing(case, tmp_path, capsys, video_file, plain_checkpoint):
    argv, message = ERROR_CASES[case](
        tmp_path=tmp_path, video_file=video_file, plain_checkpoint=plain_checkpoint
    )
    if argv[0] != "--resume":
        if "--out" not in argv:
            argv += ["--out", str(tmp_path / "run")]
        argv += [*TINY, "--epochs", "1", "--batch", "2", "--epoch-size", "2", "--val-size", "0"]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    capsys.readouterr()

    rc = train_cli.main(argv)
    out, err = capsys.readouterr()
    assert rc == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in err

    # Nothing written or changed: at most an empty --out folder was created.
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    new = set(after) - set(before)
    assert new <= {tmp_path / "run"}, sorted(map(str, new))
    assert all(after[p] == t for p, t in before.items() if p.is_file())
    assert not (tmp_path / "run" / "weights").exists() or case == "out-holds-a-run"
