"""``vmf-data synth``: the files it writes, its one-line errors, and nothing half-written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vmf.model import VmfError
from vmf.train import data_cli, synth
from vmf.train.data_cli import main, video_seed
from vmf.train.datasets import find_videos, load_splits
from vmf.train.video_io import read_video

TINY = ["--per-class", "1", "--frames", "8", "--size", "48x32"]


def test_synth_writes_a_class_tree(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["synth", "--out", str(out), *TINY, "--fps", "12", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["out"] == str(out) and summary["videos"] == len(synth.CLASSES)
    assert summary["classes"] == list(synth.CLASSES) and summary["flip_map"] == synth.FLIP_MAP
    assert "seconds" in summary
    assert "moving_left" in captured.err  # progress lines
    assert (out / "classes.txt").read_text().split() == list(synth.CLASSES)
    assert (out / "flip_map.txt").read_text().strip() == synth.FLIP_MAP
    for name in synth.CLASSES:
        assert [p.name for p in (out / name).iterdir()] == [f"{name}_0.mp4"]
    frames, fps = read_video(out / "moving_left" / "moving_left_0.mp4")
    assert frames.shape == (8, 32, 48, 3) and fps == pytest.approx(12.0)
    items, classes = find_videos(out)
    assert classes == list(synth.CLASSES) and len(items) == len(synth.CLASSES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_synth_videos_differ_and_frames_range_is_used(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["synth", "--out", str(out), "--per-class", "2", "--frames", "8-10", "--size", "32x32"]) == 0
    assert "wrote 22 videos" in capsys.readouterr().out
    a, _ = read_video(out / "growing" / "growing_0.mp4")
    b, _ = read_video(out / "growing" / "growing_1.mp4")
    assert 8 <= len(a) <= 10 and 8 <= len(b) <= 10
    assert len(a) != len(b) or not np.array_equal(a, b)
    splits = load_splits(out, val_split=0.5)
    assert len(splits.train) == len(splits.val) == len(synth.CLASSES)


def test_video_seeds_are_distinct():
    seeds = {video_seed(s, c, k) for s in range(3) for c in range(10) for k in range(50)}
    assert len(seeds) == 3 * 10 * 50


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--per-class", "0"], "--per-class"),
        (["--per-class", "1", "--size", "48by32"], "--size"),
        (["--per-class", "1", "--size", "4x4"], "--size"),
        (["--per-class", "1", "--frames", "9-3"], "--frames"),
        (["--per-class", "1", "--fps", "0"], "--fps"),
        (["--per-class", "1", "--codec", "no-such-encoder"], "--codec"),
        (["--per-class", "x"], "--per-class"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, needle):
    out = tmp_path / "out"
    assert main(["synth", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and needle in err[0]
    assert list(tmp_path.iterdir()) == []


def test_unwritable_or_occupied_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["synth", "--out", str(blocker / "sub"), *TINY]) == 2
    assert main(["synth", "--out", str(blocker), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: --out") for line in err)
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]


def test_empty_out_folder_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    assert main(["synth", "--out", str(tmp_path / "empty"), *TINY]) == 0
    assert (tmp_path / "empty" / "classes.txt").is_file()


def test_failure_midway_leaves_nothing(tmp_path, capsys, monkeypatch):
    real = data_cli.write_video
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise VmfError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(data_cli, "write_video", failing)
    assert main(["synth", "--out", str(tmp_path / "out"), *TINY]) == 1
    assert "error: disk full" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_timeline_writes_videos_with_segments(tmp_path, capsys):
    from vmf.train.timeline import read_segments, segments_path

    out = tmp_path / "tl"
    args = [
        "timeline",
        "--out",
        str(out),
        "--videos",
        "2",
        "--seconds",
        "2-3",
        "--size",
        "64x48",
        "--fps",
        "10",
    ]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["videos"] == 2 and 0 < summary["minutes"] <= 0.1
    videos = sorted(out.glob("*.mp4"))
    assert [v.name for v in videos] == ["timeline_0.mp4", "timeline_1.mp4"]
    for video in videos:
        frames, fps = read_video(video)
        segs = read_segments(segments_path(video))
        assert frames.shape[1:] == (48, 64, 3) and fps == pytest.approx(10.0)
        assert segs[0].start == 0 and segs[-1].end == len(frames)
        assert all(s.label in synth.CLASSES for s in segs)
    assert (out / "classes.txt").read_text().split() == list(synth.CLASSES)
    assert main(args) == 2  # --out now exists: one line, nothing touched
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad", [["--seconds", "0"], ["--seconds", "5-2"], ["--videos", "0"], ["--fps", "-1"]]
)
def test_timeline_bad_arguments_are_one_line(tmp_path, capsys, bad):
    args = ["timeline", "--out", str(tmp_path / "x"), "--videos", "1", "--seconds", "1", *bad]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
    assert not (tmp_path / "x").exists() and not list(tmp_path.iterdir())


def test_still_and_left_right_write_their_segments(tmp_path):
    from vmf.train.timeline import read_segments

    assert main(["still", "--out", str(tmp_path / "still.mp4"), "--frames", "30", "--size", "64x48"]) == 0
    assert [(s.start, s.end, s.label) for s in read_segments(tmp_path / "still.mp4.segments.csv")] == [
        (0, 30, "no_motion")
    ]
    assert main(["left-right", "--out", str(tmp_path / "lr.mp4"), "--frames", "40", "--size", "64x48"]) == 0
    segs = read_segments(tmp_path / "lr.mp4.segments.csv")
    assert [s.label for s in segs] == ["moving_left", "moving_right"] and segs[-1].end == 40


def test_synth_writes_some_classes_as_a_full_run_does(tmp_path, capsys):
    full, some = tmp_path / "full", tmp_path / "some"
    assert main(["synth", "--out", str(full), *TINY]) == 0
    assert main(["synth", "--out", str(some), *TINY, "--classes", "no_motion,moving_right,moving_left"]) == 0
    assert (some / "classes.txt").read_text().split() == ["moving_left", "moving_right", "no_motion"]
    assert (some / "flip_map.txt").read_text().strip() == "moving_left:moving_right"
    for name in ("moving_left", "no_motion"):
        a, _ = read_video(full / name / f"{name}_0.mp4")
        b, _ = read_video(some / name / f"{name}_0.mp4")
        # the same frames, encoded twice: H.264 output differs a little between the first file a
        # process encodes and later ones (a different scene would differ by tens of levels)
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 4.0
    capsys.readouterr()
    assert main(["synth", "--out", str(tmp_path / "x"), *TINY, "--classes", "dancing"]) == 2
    assert "unknown dancing" in capsys.readouterr().err
