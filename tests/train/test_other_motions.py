"""scripts/render_other_motions.py: the independent renderer of the ten motion classes."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from vmf.train.video_io import read_video

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "render_other_motions.py"
CLASSES = [
    "moving_left",
    "moving_right",
    "moving_up",
    "moving_down",
    "rotating_clockwise",
    "rotating_anticlockwise",
    "growing",
    "shrinking",
    "appearing",
    "disappearing",
]


@pytest.fixture(scope="module")
def other_motions():
    spec = importlib.util.spec_from_file_location("render_other_motions", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_renders_one_decodable_video_per_class(other_motions, tmp_path, capsys):
    out = tmp_path / "other"
    assert other_motions.main(["--out", str(out), "--per-class", "1", "--seed", "3", "--small"]) == 0
    assert "rendered 10 videos" in capsys.readouterr().out
    assert (out / "classes.txt").read_text().split() == CLASSES
    params = [json.loads(line) for line in (out / ".other_motions.jsonl").read_text().splitlines()]
    assert [p["cls"] for p in params] == CLASSES
    for cls in CLASSES:
        files = sorted(p.name for p in (out / cls).iterdir())
        assert len(files) == 1 and files[0].startswith(f"{cls}_0.")
        frames, fps = read_video(out / cls / files[0])
        assert 8 <= len(frames) <= 20 and max(frames.shape[1:3]) <= 96
        assert 12 <= fps <= 30
        assert frames.std() > 5  # a textured scene, not a blank frame
        if cls in ("appearing", "disappearing"):  # the object's arrival or departure changes the frame
            assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 2


def test_same_seed_same_video_regardless_of_count(other_motions):
    a = other_motions.render_video("growing", 5, 0, 64, 12)
    b = other_motions.render_video("growing", 5, 0, 64, 12)
    c = other_motions.render_video("growing", 6, 0, 64, 12)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "args", [["--per-class", "0"], ["--per-class", "1", "--max-size", "8"], ["--per-class", "1", "--nope"]]
)
def test_bad_arguments_give_one_line_and_status_2(other_motions, tmp_path, capsys, args):
    with pytest.raises(SystemExit) as stop:
        other_motions.main(["--out", str(tmp_path / "x"), *args])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("render_other_motions: error:") and "\n" not in err
    assert not (tmp_path / "x").exists()
