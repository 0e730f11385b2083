"""vmf-train's errors at scale: videos that do not decode, and ``--resume`` with other settings.

What is checked: a dataset none of whose videos decodes is one ``error:`` line
and exit 1 after vmf's one warning per video, with none of FFmpeg's own lines
and no run folder left behind (so is a validation set none of whose videos
decodes, and a run whose first videos all fail stops early); ``quiet_ffmpeg``
silences FFmpeg but not Python; ``--resume RUN`` with an option that would change
the run is refused in one line naming it and saying how to train further, while
the options that do not change it are taken.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vmf.model import read_checkpoint
from vmf.train import train_cli, trainer
from vmf.train.video_io import VideoReadError, quiet_ffmpeg, read_frames, write_video

TINY = ["--frames", "8", "--resolution", "32", "--threads", "1"]


def video(path: Path, level: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(40, 200, 48)[None, None, :, None]
    t = np.arange(12)[:, None, None, None] * 3
    frames = np.clip(np.broadcast_to(x + t + level, (12, 32, 48, 3)), 0, 255).astype(np.uint8)
    return write_video(path, frames, 12.0)


def truncated(path: Path) -> Path:
    """A real .mp4 cut in half: its moov atom is gone, and FFmpeg says so on stderr."""
    video(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_dataset_without_a_decodable_video_is_one_error_and_leaves_no_folder(tmp_path):
    for name in ("a/x.mp4", "a/y.mp4", "b/x.mp4"):
        truncated(tmp_path / "data" / name)
    (tmp_path / "data" / "b" / "y.avi").write_bytes(b"not a video at all")
    cmd = [sys.executable, "-m", "vmf.train.train_cli", "data", *TINY, "--epochs", "2", "--batch", "2"]
    # --workers 1: the videos are decoded in a loader process, where FFmpeg must be quiet too
    proc = subprocess.run(
        [*cmd, "--workers", "1", "--out", "run"],
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    err = proc.stderr
    assert proc.returncode == 1, err[-3000:]
    assert proc.stdout == ""
    assert err.count("error:") == 1
    last = err.rstrip().splitlines()[-1]
    assert last == "error: no training video could be decoded (4 skipped in epoch 1; see the warnings above)"
    # vmf's one line per video, and nothing of FFmpeg's ("[mov,mp4,...] moov atom not found").
    assert err.count("skipped: cannot read video") == 4
    for name in ("a/x.mp4", "a/y.mp4", "b/x.mp4", "b/y.avi"):
        assert err.count(f"cannot read video {Path('data', name)}:") == 1
    assert "moov atom" not in err and "@ 0x" not in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_a_validation_set_without_a_decodable_video_is_an_error(tmp_path, capsys):
    for name in ("a", "b"):
        for k in range(2):
            video(tmp_path / "data" / "train" / name / f"{k}.mp4", level=10 * k)
        truncated(tmp_path / "data" / "val" / name / "0.mp4")
    rc = train_cli.main(
        [str(tmp_path / "data"), *TINY, "--workers", "0", "--epochs", "1", "--batch", "2"]
        + ["--out", str(tmp_path / "run")]
    )
    out, err = capsys.readouterr()
    assert rc == 1 and out == ""
    assert err.count("error:") == 1
    assert err.rstrip().splitlines()[-1] == (
        "error: no validation video could be decoded (2 skipped; see the warnings above)"
    )
    assert not (tmp_path / "run").exists()


def test_a_run_whose_first_videos_all_fail_stops_before_the_epoch_ends(tmp_path, capsys, caplog, monkeypatch):
    monkeypatch.setattr(trainer, "NOTHING_DECODED_LIMIT", 4)
    for name in ("a", "b"):
        for k in range(4):
            truncated(tmp_path / "data" / name / f"{k}.mp4")
    caplog.set_level(logging.WARNING)
    rc = train_cli.main(
        [str(tmp_path / "data"), *TINY, "--workers", "0", "--epochs", "1", "--batch", "2"]
        + ["--out", str(tmp_path / "run")]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert err.rstrip().splitlines()[-1] == (
        "error: no training video could be decoded (the first 4 tried; see the warnings above)"
    )
    tried = [r for r in caplog.records if r.getMessage().startswith("skipped: cannot read video")]
    assert len(tried) == 4  # 2 steps of 2, not the 8 videos of the epoch
    assert not (tmp_path / "run").exists()


def test_quiet_ffmpeg_silences_ffmpeg_not_python(tmp_path, capfd):
    av = pytest.importorskip("av")
    bad = truncated(tmp_path / "bad.mp4")
    with pytest.raises(VideoReadError) as failed:  # the reader is quiet by itself now
        read_frames(bad, lambda n: np.arange(min(n, 2)))
    assert "moov atom" not in capfd.readouterr().err
    assert "cannot read video" in str(failed.value)  # vmf's reason, in its one line

    av.logging.set_level(av.logging.ERROR)  # a user who wants PyAV's log through Python's logging
    try:
        with quiet_ffmpeg():
            with quiet_ffmpeg():  # re-entrant: the inner scope's end restores nothing
                pass
            assert av.logging.get_level() is None
            with pytest.raises(VideoReadError):
                read_frames(bad, lambda n: np.arange(min(n, 2)))
            print("vmf's own line", file=sys.stderr)
        assert av.logging.get_level() == av.logging.ERROR  # put back
    finally:
        av.logging.set_level(None)
    os.write(2, b"descriptor 2 is back\n")
    err = capfd.readouterr().err
    assert "moov atom" not in err
    assert "vmf's own line" in err and "descriptor 2 is back" in err


# --------------------------------------------------------------------------- --resume


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--epochs", "3"], "--epochs"),
        (["--epochs", "30"], "--epochs"),  # the default value, given: still a change of intent
        (["--optim", "sgd"], "--optimizer"),  # an abbreviation argparse accepts
        (["--lr", "0.01", "--warmup", "2", "--batch", "4"], "--batch, --lr, --warmup"),
        (["synth", "--amp", "--workers", "0"], "DATA, --amp"),
        (["--out", "elsewhere", "--json"], "--out"),
    ],
)
def test_resume_with_options_that_change_the_run_is_refused(extra, named, tmp_path, capsys):
    run = tmp_path / "run"
    rc = train_cli.main(["--resume", str(run), *extra])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --resume"), err
    assert f"; {named} would change them" in lines[0]
    assert f"--init {run / 'weights' / 'last.pt'}" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_resume_takes_the_options_that_do_not_change_the_run(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["synth", *TINY, "--workers", "0", "--epochs", "1", "--batch", "4", "--epoch-size", "8"]
    argv += ["--val-size", "4", "--out", str(run)]

    def stop_after_first_step(r):
        if (r.epoch, r.step_in_epoch) == (0, 1):
            raise KeyboardInterrupt

    assert train_cli.main(argv, on_step=stop_after_first_step) == 130
    capsys.readouterr()
    rc = train_cli.main(
        ["--resume", str(run), "--workers", "0", "--threads", "2", "--device", "cpu", "--json"]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err[-2000:]
    assert json.loads(out.strip().splitlines()[-1])["epochs"] == 1
    args = json.loads((run / "args.json").read_text())
    assert (args["threads"], args["workers"], args["device"]) == (2, 0, "cpu")  # taken
    assert (args["epochs"], args["batch"], args["epoch_size"]) == (1, 4, 8)  # the run's own
    assert read_checkpoint(run / "weights" / "last.pt")["train_state"]["epoch"] == 1


def test_a_last_batch_of_one_clip_is_dropped_not_a_crash(tmp_path, capsys):
    """5 clips in batches of 4: BatchNorm cannot train on the lone fifth (one value per
    channel), so that step is skipped, silently, since no video failed."""
    seen = []
    argv = ["synth", *TINY, "--workers", "0", "--epochs", "1", "--batch", "4", "--epoch-size", "5"]
    rc = train_cli.main(
        [*argv, "--val-size", "2", "--out", str(tmp_path / "run")],
        on_step=lambda r: seen.append((r.step_in_epoch, int(r.partial[2]))),
    )
    err = capsys.readouterr().err
    assert rc == 0, err[-2000:]
    assert seen == [(1, 4), (2, 4)]  # step 2 ran (every process joins it) but trained nothing
    assert "skipped on every process" not in err
