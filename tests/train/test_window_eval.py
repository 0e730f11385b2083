"""vmf-eval --timeline: window scoring, switch latency and flicker, and the stream they come from.

The scoring is checked on hand-made predictions whose figures are worked out
in the comments; the streaming loop on a fake model that reads which frames
it was given (frame i is uniform grey of level i) and answers the label of
its window's first frame, so every figure is known; and the command end to
end on a tiny timeline video (96 x 72, 150 frames, written by
``vmf.train.timeline`` and ``write_video``) with a tiny checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vmf.contract.sampling import kept_indices, stream_window, stream_window_ends
from vmf.contract.video import iter_frames
from vmf.export.sidecar import make_card
from vmf.model import MEAN, STD, VARIANTS, build_model, save_checkpoint
from vmf.runtime.backend_base import Backend
from vmf.runtime.classifier import Classifier
from vmf.runtime.clip_assembler import expected_inferences
from vmf.train import eval_cli, synth
from vmf.train.timeline import Segment, Timeline, segments_path, write_segments
from vmf.train.video_io import read_video, write_video
from vmf.train.window_eval import (
    WindowPrediction,
    containing_segment,
    label_flips,
    merge_segments,
    quantile,
    score_video,
    score_windows,
    stream_predictions,
    summarise,
    switch_latencies,
)

# --------------------------------------------------------------------------- hand-made predictions

# A [0, 50), B [50, 100), C [100, 120), D [120, 200); windows of 20 frames every 10 frames.
SEGMENTS = [Segment(0, 50, "A"), Segment(50, 100, "B"), Segment(100, 120, "C"), Segment(120, 200, "D")]
LABELS_BY_END = {
    19: "A", 29: "A", 39: "B", 49: "A",  # inside A: 3 of 4 right, flips at 39 and 49
    59: "A",  # straddles A|B
    69: "A", 79: "B", 89: "B", 99: "B",  # inside B: 3 of 4, a flip at 79; B first shown at 79
    109: "B",  # straddles B|C
    119: "B",  # the one window inside C: wrong, and C is never shown: a missed switch
    129: "C",  # straddles C|D
    139: "D", 149: "D", 159: "A", 169: "D", 179: "D", 189: "D", 199: "D",  # inside D: 6 of 7, 2 flips
}  # fmt: skip
LABELS = ["A", "B", "C", "D"]


def hand_predictions(scores=None) -> list[WindowPrediction]:
    return [
        WindowPrediction(end, end - 19, label, 0.5 if scores is None else scores[end])
        for end, label in LABELS_BY_END.items()
    ]


def test_windows_wholly_inside_one_segment_are_scored():
    windows = score_windows(hand_predictions(), SEGMENTS)
    assert len(windows) == 16  # 19 predictions, 3 straddle a boundary
    by_class = {c: [w.true == w.predicted for w in windows if w.true == c] for c in LABELS}
    assert {c: (sum(v), len(v)) for c, v in by_class.items()} == {
        "A": (3, 4),
        "B": (3, 4),
        "C": (0, 1),
        "D": (6, 7),
    }
    assert sum(w.true == w.predicted for w in windows) == 12
    # each names the frames it spans, inside its segment
    for w in windows:
        assert w.end - w.start == 19
        assert any(s.start <= w.start and w.end < s.end and s.label == w.true for s in SEGMENTS)


def test_containing_segment_needs_both_ends_inside():
    assert containing_segment(WindowPrediction(49, 30, "A", 1.0), SEGMENTS) == 0
    assert containing_segment(WindowPrediction(50, 31, "A", 1.0), SEGMENTS) is None  # frame 50 is B's
    assert containing_segment(WindowPrediction(69, 50, "A", 1.0), SEGMENTS) == 1
    assert containing_segment(WindowPrediction(205, 190, "D", 1.0), SEGMENTS) is None  # past the end


def test_switch_latency_counts_frames_from_the_boundary_and_misses():
    switches = switch_latencies(hand_predictions(), SEGMENTS)
    assert [(s.frame, s.before, s.after, s.latency) for s in switches] == [
        (50, "A", "B", 29),  # 59 A, 69 A, 79 B: 79 - 50
        (100, "B", "C", None),  # 109 B, 119 B, then C has ended: missed
        (120, "C", "D", 19),  # 129 C, 139 D: 139 - 120
    ]
    assert [s.segment_frames for s in switches] == [50, 20, 80]


def test_switch_latency_skips_boundaries_before_the_first_prediction_and_merges_labels():
    segments = [Segment(0, 10, "A"), Segment(10, 30, "B"), Segment(30, 60, "B"), Segment(70, 90, "A")]
    predictions = [WindowPrediction(end, end - 9, "A" if end >= 75 else "B", 0.9) for end in range(19, 90, 4)]
    switches = switch_latencies(predictions, segments)
    # 10: before the first prediction (19); 30: B continues (one segment); 70: after unlabelled frames
    assert [(s.frame, s.before, s.after, s.latency) for s in switches] == [(70, None, "A", 5)]
    assert merge_segments(segments) == [Segment(0, 10, "A"), Segment(10, 60, "B"), Segment(70, 90, "A")]


def test_flicker_counts_label_changes_inside_one_segment():
    flips, frames = label_flips(hand_predictions(), SEGMENTS)
    # A: 29->39, 39->49 (3 pairs, 30 frames); B: 69->79 (3 pairs, 30 frames);
    # C: one window, no pair; D: 149->159, 159->169 (6 pairs, 60 frames)
    assert (flips, frames) == (5, 120)


def test_quantile_ranks_misses_last():
    assert quantile([19, 29], 0.5) == 24 and quantile([19, 29], 0.9) == pytest.approx(28)
    assert quantile([19, 29], 0.5, misses=1) == 29  # 19, 29, missed
    assert quantile([19, 29], 0.9, misses=1) is None  # between 29 and the miss
    assert quantile([], 0.5, misses=2) is None and quantile([], 0.5) is None
    values = np.random.default_rng(0).random(37)
    assert quantile(values, 0.1) == pytest.approx(np.quantile(values, 0.1))


def test_summary_of_the_hand_made_video():
    scores = {end: 0.1 * (k % 10) for k, end in enumerate(LABELS_BY_END)}
    video = score_video("v.mp4", 10.0, 200, hand_predictions(scores), SEGMENTS)
    r = summarise([video], LABELS)
    assert r["n_windows"] == 16 and r["n_predictions"] == 19
    assert r["window_top1"] == pytest.approx(12 / 16)
    assert r["per_class"] == pytest.approx({"A": 0.75, "B": 0.75, "C": 0.0, "D": 6 / 7})
    assert r["mean_class_accuracy"] == pytest.approx((0.75 + 0.75 + 0 + 6 / 7) / 4)
    assert r["confusion"][2] == [0, 1, 0, 0]  # C's one window said B
    assert r["switch_latency_frames"] == {"median": 29, "p90": None}
    assert r["switch_latency_caught_frames"] == {"median": 24, "p90": 28}
    assert r["switch_latency_s"] == {"median": 2.9, "p90": None}  # at 10 fps
    assert (r["n_boundaries"], r["missed_switches"]) == (3, 1)
    assert r["flips"] == 5 and r["flips_per_minute"] == pytest.approx(25.0)  # 5 flips in 12 s
    inside = [
        scores[e]
        for e in LABELS_BY_END
        if containing_segment(WindowPrediction(e, e - 19, "", 0), SEGMENTS) is not None
    ]
    assert r["top1_score"]["mean"] == pytest.approx(np.mean(inside), abs=1e-6)
    for q in (10, 50, 90):
        assert r["top1_score"][f"p{q}"] == pytest.approx(np.quantile(inside, q / 100), abs=1e-6)


def test_a_video_shorter_than_its_segments_is_cut():
    video = score_video("v.mp4", 10.0, 110, hand_predictions()[:9], SEGMENTS)  # ends 19..99
    assert len(video.windows) == 8 and len(video.switches) == 2  # C cut to [100, 110), D gone
    assert video.switches[1].latency is None


# --------------------------------------------------------------------------- a fake model streaming


def fake_card(labels, frames: int, sample_fps: float | None) -> dict:
    return make_card(
        variant="test",
        baseline=False,
        frames=frames,
        resolution=8,
        temporal_stride=1,
        input_name="clip",
        layout="TCHW",
        labels=labels,
        precision="fp32",
        converter=None,
        weights_sha256=None,
        untrained=True,
        parity=None,
        macs=None,
        params=None,
        versions={},
        sample_fps=sample_fps,
    )


def grey_frames(count: int, size=(24, 32)):
    """Frame i is uniform grey of level i (exact in memory: no coding)."""
    for i in range(count):
        yield np.full((*size, 3), i, np.uint8)


def decode_frames(clip: np.ndarray) -> list[int]:
    values = clip.mean(axis=(1, 2, 3)) * STD[0] + MEAN[0]
    return [int(round(v * 255)) for v in values]


class FirstFrameOracle(Backend):
    """Answers the label of the segment holding its clip's first frame; records every clip."""

    name = "fake"

    def __init__(self, segments, labels, frames: int, sample_fps: float | None):
        super().__init__(Path("oracle.model"), fake_card(labels, frames, sample_fps), "fake cpu")
        self.segments = segments
        self.clips: list[list[int]] = []

    def _infer(self, clip):
        frames = decode_frames(clip)
        self.clips.append(frames)
        label = next(s.label for s in self.segments if s.start <= frames[0] < s.end)
        return np.where(np.array(self.labels) == label, 10.0, 0.0).astype(np.float32)


def test_streaming_a_fake_model_gives_the_figures_worked_out_by_hand():
    # 60 frames at 20 fps kept at 10 fps: frames 0, 2, ..., 58. T = 4 kept frames, hop 2 kept frames:
    # predictions end at frames 6, 10, ..., 58 (14), each window spans 6 frames (start = end - 6).
    segments = [Segment(0, 20, "A"), Segment(20, 44, "B"), Segment(44, 60, "C")]
    backend = FirstFrameOracle(segments, ["A", "B", "C"], frames=4, sample_fps=10.0)
    windows: list = []
    predictions, count = stream_predictions(Classifier(backend, hop=2), grey_frames(60), 20.0, windows)
    assert count == 60 and [p.end for p in predictions] == list(range(6, 59, 4))
    assert all(p.start == p.end - 6 for p in predictions)
    # what the evaluation attributes to each window is what the model was given ...
    assert [w.tolist() for w in windows] == backend.clips
    # ... and what the training/evaluation sampler names for that position
    kept = kept_indices(60, 20.0, sample_fps=10.0)
    ends = stream_window_ends(len(kept), 4, 2)
    assert [stream_window(kept, 4, e).tolist() for e in ends] == backend.clips
    r = summarise([score_video("v", 20.0, count, predictions, segments)], ["A", "B", "C"])
    # inside A: ends 6..18 (4); inside B: 26..42 (5); inside C: 50..58 (3); 22 and 46 straddle
    assert r["n_windows"] == 12 and r["window_top1"] == 1.0
    # B at 20: 22 starts at 16 (A), 26 starts at 20 (B): 6 frames; C at 44: 46 (B), 50 (C): 6 frames
    assert r["switch_latency_frames"] == {"median": 6, "p90": 6} and r["missed_switches"] == 0
    assert r["switch_latency_s"] == {"median": 0.3, "p90": 0.3}
    assert r["flips"] == 0 and r["flips_per_minute"] == 0.0
    assert r["top1_score"]["p50"] == pytest.approx(1 / (1 + 2 * np.exp(-10)), abs=1e-6)


class UnsureOracle(FirstFrameOracle):
    """Answers the segment of its clip's last frame at 0.9, but every third clip a wrong label
    at 0.45 (the right one 0.35): wrong windows that score low, as the demo model's do."""

    def _infer(self, clip):
        frames = decode_frames(clip)
        self.clips.append(frames)
        right = self.labels.index(_segment_label(self.segments, frames[-1]))
        probs = np.full(3, 0.05)  # three labels: the probabilities add up to 1 as they are
        if len(self.clips) % 3 == 0:
            probs[:] = 0.2
            probs[right], probs[(right + 1) % 3] = 0.35, 0.45
        else:
            probs[right] = 0.9
        return np.log(probs).astype(np.float32)


def _segment_label(segments, frame: int) -> str:
    return next(s.label for s in segments if s.start <= frame < s.end)


UNSURE_SEGMENTS = [Segment(0, 40, "A"), Segment(40, 80, "B"), Segment(80, 120, "C")]


def test_hold_shows_the_last_confident_label_in_the_windows():
    # 120 frames at 20 fps kept at 10 fps, T = 4, hop 1: a prediction every 2 source frames from 6 on
    scores = {}
    for hold in (None, 0.5):
        backend = UnsureOracle(UNSURE_SEGMENTS, ["A", "B", "C"], frames=4, sample_fps=10.0)
        predictions, count = stream_predictions(Classifier(backend, hop=1, hold=hold), grey_frames(120), 20.0)
        assert [p.end for p in predictions] == list(range(6, 120, 2))
        if hold is None:  # every third window shows the wrong label at 0.45
            right = [p.label == _segment_label(UNSURE_SEGMENTS, p.end) for p in predictions[:6]]
            assert right == [True, True, False, True, True, False]
            assert predictions[2].score == pytest.approx(0.45, abs=1e-6)
        else:  # ... which hold 0.5 replaces with the label shown before, scored 0.35 there
            assert [p.label for p in predictions[:6]] == ["A"] * 6
            assert predictions[2].score == pytest.approx(0.35, abs=1e-6)
        scores[hold] = summarise(
            [score_video("v", 20.0, count, predictions, UNSURE_SEGMENTS)], ["A", "B", "C"]
        )
    assert scores[None]["flips"] > 0 and scores[0.5]["flips"] == 0
    assert scores[None]["window_top1"] < 1.0 == scores[0.5]["window_top1"]
    assert scores[0.5]["missed_switches"] == 0


def test_vmf_eval_timeline_hold_cuts_the_flips(capsys, tmp_path, monkeypatch):
    """vmf-eval --timeline --hold over the unsure fake model: fewer flips, "hold" in the JSON."""
    video = tmp_path / "v.mp4"
    video.write_bytes(b"never decoded: open_video is the grey frames below")
    write_segments(segments_path(video), UNSURE_SEGMENTS)
    monkeypatch.setattr(
        "vmf.runtime.backends.load_backend",
        lambda *args, **kwargs: UnsureOracle(UNSURE_SEGMENTS, ["A", "B", "C"], frames=4, sample_fps=10.0),
    )
    monkeypatch.setattr("vmf.train.window_eval.open_video", lambda path: (20.0, grey_frames(120)))
    results = {}
    for hold in ([], ["--hold", "0.5"]):
        args = ("--model", tmp_path / "fake.onnx", "--data", tmp_path, "--timeline", "--hop", "1", "--json")
        code, out, err = run_cli(capsys, *args, *hold)
        assert code == 0, err
        results[bool(hold)] = json.loads(out.strip().splitlines()[-1])
    plain, held = results[False], results[True]
    assert plain["hold"] is None and held["hold"] == 0.5
    assert plain["n_predictions"] == held["n_predictions"] == 57
    assert plain["flips"] > 0 and held["flips"] == 0 and held["flips_per_minute"] == 0.0
    assert held["window_top1"] == 1.0 > plain["window_top1"]
    assert held["switch_latency_frames"]["median"] >= plain["switch_latency_frames"]["median"]


# --------------------------------------------------------------------------- end to end

FRAMES, RES, FPS, SAMPLE_FPS, NUM_FRAMES = 8, 32, 15.0, 10.0, 150
CLASSES = list(synth.CLASSES)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A VMF-560M config shrunk to 8 frames at 32 x 32, the motion classes, kept at 10 fps."""
    folder = tmp_path_factory.mktemp("window_model")
    torch.manual_seed(0)
    cfg = dataclasses.replace(VARIANTS["560M"], frames=FRAMES, resolution=RES)
    model = build_model(cfg, num_classes=len(CLASSES)).eval()
    with torch.no_grad():
        model.head.classifier.weight.mul_(100.0)  # logits far apart: no near ties
    return save_checkpoint(model, folder / "tiny.pt", classes=CLASSES, sample_fps=SAMPLE_FPS)


def make_timeline(folder: Path, name: str = "timeline_0.mp4", seed: int = 3) -> tuple[Path, list[Segment]]:
    rng = np.random.default_rng(seed)
    tl = Timeline(rng, 96, 72, NUM_FRAMES, FPS).build_scene(rng)
    video = write_video(folder / name, tl.frames(range(NUM_FRAMES), rng), FPS)
    write_segments(segments_path(video), tl.segments)
    return video, tl.segments


@pytest.fixture(scope="module")
def timelines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timelines")
    video, segments = make_timeline(folder)
    assert len(segments) >= 2  # at least one boundary
    return folder, video, segments


def run_cli(capsys, *args):
    code = eval_cli.main([*map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def expected_counts(segments, hop: int = 8) -> tuple[int, int, int]:
    """(predictions, windows inside one segment, boundaries) from the sampler alone."""
    kept = kept_indices(NUM_FRAMES, FPS, sample_fps=SAMPLE_FPS)
    windows = [stream_window(kept, FRAMES, e) for e in stream_window_ends(len(kept), FRAMES, hop)]
    inside = sum(any(s.start <= w[0] and w[-1] < s.end for s in segments) for w in windows)
    first_end = windows[0][-1]
    boundaries = sum(s.start > first_end for s in merge_segments(segments)[1:])
    return len(windows), inside, boundaries


def test_timeline_json_end_to_end(capsys, tiny_checkpoint, timelines):
    folder, video, segments = timelines
    code, out, err = run_cli(
        capsys, "--model", tiny_checkpoint, "--data", folder, "--timeline", "--threads", "1", "--json"
    )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1  # stdout is the JSON object alone; the report went to stderr
    r = json.loads(lines[0])
    for key in (
        "window_top1",
        "per_class",
        "switch_latency_frames",
        "flips_per_minute",
        "n_windows",
        "skipped",
    ):
        assert key in r
    assert set(r["switch_latency_frames"]) == {"median", "p90"}
    assert r["n_videos"] == 1 and r["skipped"] == 0 and r["hop"] == 8 and r["sample_fps"] == SAMPLE_FPS
    kept = kept_indices(NUM_FRAMES, FPS, sample_fps=SAMPLE_FPS)
    predictions, inside, boundaries = expected_counts(segments)
    assert r["n_predictions"] == predictions == expected_inferences(len(kept), FRAMES, 8)
    assert r["n_windows"] == inside > 0 and r["n_boundaries"] == boundaries
    assert sum(r["per_class_windows"].values()) == inside
    assert r["window_top1"] is None or 0.0 <= r["window_top1"] <= 1.0
    # every scored window is listed with its frames, so a user can see which ones were missed
    rows = r["window_predictions"]
    assert len(rows) == inside
    assert sum(w["true"] == w["predicted"] for w in rows) == round((r["window_top1"] or 0) * inside)
    for w in rows:
        assert w["video"] == str(video) and w["end"] > w["start"]
        assert any(s.start <= w["start"] and w["end"] < s.end and s.label == w["true"] for s in segments)
    assert "window top-1" in err and "switch latency" in err and "label flicker" in err


def test_segments_files_switch_window_evaluation_on(capsys, tiny_checkpoint, timelines):
    folder, _, _ = timelines
    code, out, err = run_cli(capsys, "--model", tiny_checkpoint, "--data", folder, "--threads", "1")
    assert code == 0, err
    assert "window top-1" in out and "switch latency" in out and "flips per minute" in out
    assert "{" not in out and "--timeline" in err


def test_window_frames_are_the_samplers_on_a_decoded_file(tiny_checkpoint, timelines):
    """A real file, the real runtime: the frames of every window are stream_window(kept_indices(...))."""
    _, video, _ = timelines
    classifier = Classifier.load(tiny_checkpoint, threads=1)
    fps, frames = iter_frames(video)
    windows: list = []
    predictions, count = stream_predictions(classifier, frames, fps, windows)
    assert fps == FPS and count == NUM_FRAMES
    kept = kept_indices(count, fps, sample_fps=SAMPLE_FPS)
    ends = stream_window_ends(len(kept), FRAMES, 8)
    assert len(windows) == len(ends) == len(predictions)
    for window, end, p in zip(windows, ends, predictions):
        assert window.tolist() == stream_window(kept, FRAMES, end).tolist()
        assert (p.start, p.end) == (window[0], window[-1])


def test_streaming_decode_is_the_readers_frames(timelines):
    _, video, _ = timelines
    whole, fps = read_video(video)
    got_fps, frames = iter_frames(video)
    streamed = np.stack(list(frames))
    assert got_fps == fps and np.array_equal(streamed, whole)


def test_unreadable_video_is_skipped_and_counted(capsys, tmp_path, tiny_checkpoint):
    make_timeline(tmp_path, "good.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 64)
    write_segments(segments_path(broken), [Segment(0, 10, "no_motion")])
    code, out, err = run_cli(
        capsys, "--model", tiny_checkpoint, "--data", tmp_path, "--timeline", "--threads", "1", "--json"
    )
    assert code == 0, err
    r = json.loads(out.strip().splitlines()[-1])
    assert r["n_videos"] == 1 and r["skipped"] == 1 and r["skipped_videos"] == [str(broken)]
    assert len([line for line in err.splitlines() if "skipped" in line and "broken.mp4" in line]) == 1


@pytest.mark.parametrize(
    "case",
    ["no segments", "malformed csv", "unknown label", "shuffle", "hop", "hold", "hold without timeline"],
)
def test_bad_inputs_are_one_line(capsys, tmp_path, tiny_checkpoint, case):
    video = write_video(tmp_path / "v.mp4", np.zeros((4, 16, 16, 3), np.uint8), 10.0)
    seg_file = Path(segments_path(video))
    args = ["--model", tiny_checkpoint, "--data", tmp_path, "--timeline"]
    if case == "malformed csv":
        seg_file.write_text("start_frame,end_frame,label\n0,ten,no_motion\n")
    elif case == "unknown label":
        seg_file.write_text("start_frame,end_frame,label\n0,4,juggling\n")
    elif case == "shuffle":
        write_segments(seg_file, [Segment(0, 4, "no_motion")])
        args.append("--shuffle-frames")
    elif case == "hop":
        write_segments(seg_file, [Segment(0, 4, "no_motion")])
        args += ["--hop", "9"]
    elif case == "hold":
        write_segments(seg_file, [Segment(0, 4, "no_motion")])
        args += ["--hold", "1"]
    elif case == "hold without timeline":
        args = ["--model", tiny_checkpoint, "--data", tmp_path, "--hold", "0.5"]  # no segments: no timeline
    code, out, err = run_cli(capsys, *args)
    assert code == (2 if case in ("shuffle", "hold without timeline") else 1) and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    expected = {
        "no segments": "segments.csv",
        "malformed csv": "v.mp4.segments.csv:2",
        "unknown label": "'juggling'",
        "shuffle": "--shuffle-frames",
        "hop": "--hop 9",
        "hold": "--hold must be a score in (0, 1), got 1.0",
        "hold without timeline": "--hold is for window evaluation (--timeline)",
    }[case]
    assert expected in lines[0]
