"""scripts/stream_window_mix.py: the mix of segments in the stream windows training draws."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from vmf.model import MEAN, STD
from vmf.train.synth_clips import SynthClipDataset
from vmf.train.timeline import Segment, window_label

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "stream_window_mix.py"


def load_script():
    spec = importlib.util.spec_from_file_location("stream_window_mix", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_majority_share_counts_the_largest_segment():
    mix = load_script()
    segments = [Segment(0, 10, "a"), Segment(10, 13, "b"), Segment(13, 40, "c")]
    assert mix.majority_share(segments, np.arange(0, 8)) == 1.0
    assert mix.majority_share(segments, np.arange(6, 14)) == 0.5  # 4 of a, 3 of b, 1 of c
    assert mix.majority_share(segments, np.arange(8, 18)) == 0.5  # 2 a, 3 b, 5 c


def test_planned_windows_have_the_wanted_class_and_render_as_planned():
    data = SynthClipDataset(11, 16, 32, MEAN, STD, train=True, seed=3, clip_sampling="stream")
    for label in range(len(data.classes)):
        rng = np.random.default_rng([3, label])
        timeline, window, got = data.plan_stream_window(rng, label)
        assert got == data.classes[label] == window_label(timeline.segments, window)
        assert len(window) == 16 and np.all(np.diff(window) > 0)
        # stream_window draws the same plan from the same generator state, then renders it
        frames, index = data.stream_window(np.random.default_rng([3, label]), label)
        assert index == label and frames.shape[0] == 16


def test_measure_reports_shares_in_order():
    r = load_script().measure(frames=16, windows=44, seed=1, sample_fps=None)
    below = list(r["majority_share_below"].values())
    assert below == sorted(below) and 0.0 <= below[0] and below[-1] <= 1.0
    assert 0.0 < r["inside_one_segment"] <= 1.0 - below[-1] + 1e-9
