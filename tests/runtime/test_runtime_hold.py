"""The hold display policy (``Scorer(hold=...)``, ``vmf-stream --hold``) on hand-made logits.

A clip's top-1 replaces the shown label only when it scores at least ``hold``;
otherwise the label shown before stays, with its probability in this clip. The
first clip after a start or a reset is shown as it is. Without ``hold`` every
prediction and record is what it always was.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from vmf.model import VmfError
from vmf.runtime import Classifier
from vmf.runtime.backend_base import Backend
from vmf.runtime.cli import StatusLine, main
from vmf.runtime.scoring import Prediction, Scorer
from vmf.runtime.sources import open_source
from vmf.runtime.stream import StreamOptions, run_stream

from runtime_fixtures import fake_meta, grey_level

LABELS = ["A", "B", "C"]


def logits(a: float, b: float, c: float) -> np.ndarray:
    """Logits whose softmax is (a, b, c)."""
    return np.log(np.array([a, b, c], np.float64)).astype(np.float32)


# A confident A, an unsure B, an unsure C, a confident C, an unsure A.
SCRIPT = [logits(0.9, 0.05, 0.05), logits(0.3, 0.4, 0.3), logits(0.25, 0.35, 0.4), logits(0.1, 0.1, 0.8), logits(0.45, 0.3, 0.25)]  # fmt: skip
# What hold 0.5 shows for each: (label, its probability in that clip, held)
SHOWN = [("A", 0.9, False), ("A", 0.3, True), ("A", 0.25, True), ("C", 0.8, False), ("C", 0.25, True)]


def test_a_low_score_keeps_the_shown_label_and_a_confident_one_switches():
    scorer = Scorer(LABELS, hold=0.5)
    for raw, (label, score, held) in zip(SCRIPT, SHOWN):
        scored = scorer.score(raw)
        assert scored.shown[0] == label and scored.held is held
        assert scored.shown[1] == pytest.approx(score, abs=1e-6)
        # the clip's own ranking is untouched by the policy
        assert scored.top[0][0] == LABELS[int(np.argmax(raw))]
        assert scored.shown[1] == pytest.approx(float(scored.probabilities[LABELS.index(label)]))


def test_the_threshold_itself_switches():
    scorer = Scorer(LABELS, hold=0.5)
    scorer.score(logits(0.9, 0.05, 0.05))
    scored = scorer.score(logits(0.25, 0.5, 0.25))  # exactly hold: shown
    assert scored.shown[0] == "B" and scored.held is False


def test_reset_forgets_the_shown_label():
    scorer = Scorer(LABELS, hold=0.5)
    scorer.score(SCRIPT[0])
    assert scorer.score(SCRIPT[1]).shown[0] == "A"
    scorer.reset()
    first = scorer.score(SCRIPT[1])  # the first after a reset: shown as it is, however unsure
    assert first.shown[0] == "B" and first.held is False
    assert scorer.score(SCRIPT[2]).shown[0] == "B"  # and then held as any other


def test_an_unsure_top_1_that_is_the_shown_label_is_not_held():
    scorer = Scorer(LABELS, hold=0.5)
    scorer.score(logits(0.9, 0.05, 0.05))
    scored = scorer.score(logits(0.45, 0.3, 0.25))
    assert scored.shown[0] == "A" and scored.held is False


def test_hold_reads_the_smoothed_score():
    scorer = Scorer(LABELS, smooth=0.5, hold=0.5)
    scorer.score(logits(0.8, 0.1, 0.1))  # shown: A
    scorer.score(logits(0.1, 0.6, 0.3))  # smoothed A 0.45, B 0.35, C 0.2
    # B alone scores 0.6 >= hold, smoothed 0.475 (A 0.25, C 0.275): the shown A stays
    scored = scorer.score(logits(0.05, 0.6, 0.35))
    assert scored.top[0] == ("B", pytest.approx(0.475, abs=1e-6))
    assert scored.shown[0] == "A" and scored.held is True
    scored = scorer.score(logits(0.05, 0.9, 0.05))  # smoothed B 0.6875
    assert scored.shown == ("B", pytest.approx(0.6875, abs=1e-6)) and scored.held is False


def test_without_hold_nothing_changes():
    plain, off = Scorer(LABELS), Scorer(LABELS, hold=None)
    for raw in SCRIPT:
        a, b = plain.score(raw), off.score(raw)
        assert a.shown is None and a.held is None and b.shown is None
        assert a.top == b.top == plain_top(raw)
        p = Prediction(3, 0.1, a.top, a.probabilities)
        assert (p.label, p.score) == a.top[0]
        assert list(p.to_dict()) == ["frame_index", "timestamp_s", "top5"]


def plain_top(raw):
    probs = np.exp(raw.astype(np.float64) - raw.max())
    probs = (probs / probs.sum()).astype(np.float32)
    return tuple((LABELS[i], float(probs[i])) for i in np.argsort(-probs, kind="stable"))


def test_a_held_prediction_shows_and_records_the_held_label():
    scorer = Scorer(LABELS, hold=0.5)
    scorer.score(SCRIPT[0])
    s = scorer.score(SCRIPT[1])
    p = Prediction(7, 0.25, s.top, s.probabilities, shown=s.shown, held=s.held)
    assert p.label == "A" and p.score == pytest.approx(0.3) and p.top[0][0] == "B"
    record = p.to_dict()
    assert list(record) == ["frame_index", "timestamp_s", "top5", "label", "score", "held"]
    assert record["label"] == "A" and record["score"] == pytest.approx(0.3) and record["held"] is True
    assert record["top5"][0]["label"] == "B"
    assert "(held)" in StatusLine.text(30.0, _timed(p)) and " A 30.0%" in StatusLine.text(30.0, _timed(p))


def _timed(p: Prediction) -> Prediction:
    return Prediction(p.frame_index, p.timestamp_s, p.top, p.probabilities, 5.0, 6.0, p.shown, p.held)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.2, float("nan")])
def test_a_hold_outside_0_1_is_refused(bad):
    for make in (lambda: Scorer(LABELS, hold=bad), lambda: StreamOptions(hold=bad)):
        with pytest.raises(VmfError, match=r"--hold must be a score in \(0, 1\)"):
            make()


# --------------------------------------------------------------------------- through the runtime


class ScriptedBackend(Backend):
    """Answers the logits of ``SCRIPT`` in turn, whatever the clip."""

    name = "fake"

    def __init__(self):
        super().__init__(Path("scripted.model"), fake_meta(frames=4, classes=3), "fake cpu")
        self.labels[:] = LABELS
        self.calls = 0

    def _infer(self, clip):
        self.calls += 1
        return SCRIPT[(self.calls - 1) % len(SCRIPT)]


def _grey(k):
    return np.full((12, 16, 3), grey_level(k), np.uint8)


def test_classifier_holds_and_its_reset_forgets():
    clf = Classifier(ScriptedBackend(), hop=1, hold=0.5)
    preds = [p for p in (clf.push(_grey(k), timestamp=k / 30) for k in range(8)) if p is not None]
    assert [(p.label, p.held) for p in preds] == [(label, held) for label, _, held in SHOWN]
    assert [p.top[0][0] for p in preds] == ["A", "B", "C", "C", "A"]
    clf.reset()
    clf.backend.calls = 1  # the next clip answers SCRIPT[1], an unsure B
    preds = [p for p in (clf.push(_grey(k), timestamp=k / 30) for k in range(8, 12)) if p is not None]
    assert [(p.label, p.held) for p in preds] == [("B", False)]


def test_the_stream_records_the_shown_label_only_with_hold(make_video):
    video = make_video(8)  # 4-frame clips at hop 1: five predictions, SCRIPT in order
    held = run_stream(open_source(video), ScriptedBackend(), StreamOptions(hop=1, hold=0.5))
    records = [p.to_dict() for p in held.predictions]
    assert [(r["label"], r["held"]) for r in records] == [(label, h) for label, _, h in SHOWN]
    assert [r["score"] for r in records] == pytest.approx([score for _, score, _ in SHOWN], abs=1e-6)
    plain = run_stream(open_source(video), ScriptedBackend(), StreamOptions(hop=1))
    for with_hold, without in zip(records, (p.to_dict() for p in plain.predictions)):
        assert list(without) == ["frame_index", "timestamp_s", "top5"]
        assert {k: with_hold[k] for k in without} == without  # the top-5 are the clip's own


# --------------------------------------------------------------------------- vmf-stream --hold


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_vmf_stream_hold_records_and_prints_the_shown_label(make_video, tmp_path, capsys, monkeypatch):
    """vmf-stream over the scripted model: --hold's lines carry the shown label, plain ones do not."""
    monkeypatch.setattr("vmf.runtime.cli.load_backend", lambda *args, **kwargs: ScriptedBackend())
    target = tmp_path / "held.jsonl"
    args = ("--model", tmp_path / "scripted.onnx", "--source", make_video(8), "--hop", "1", "--threads", "1")
    code, out, err = _run(capsys, *args, "--hold", "0.5", "--jsonl", target, "--json")
    assert code == 0, err
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["label"], r["held"]) for r in records] == [(label, held) for label, _, held in SHOWN]
    assert [r["score"] for r in records] == pytest.approx([score for _, score, _ in SHOWN], abs=1e-6)
    assert [r["top5"][0]["label"] for r in records] == ["A", "B", "C", "C", "A"]
    summary = json.loads(out.strip().splitlines()[-1])
    assert [p["label"] for p in summary["predictions"]] == [label for label, _, _ in SHOWN]

    code, out, err = _run(capsys, *args, "--hold", "0.5")
    printed = [line for line in out.splitlines() if line.startswith("frame ")]
    assert [line.split(": ", 1)[1].split(" |")[0] for line in printed] == [
        "shown A 0.900",
        "shown A 0.300 (held)",
        "shown A 0.250 (held)",
        "shown C 0.800",
        "shown C 0.250 (held)",
    ]
    target.unlink()
    code, out, err = _run(capsys, *args, "--jsonl", target)
    plain = [json.loads(line) for line in target.read_text().splitlines()]
    assert all(
        list(r) == ["type", "frame_index", "timestamp_s", "top5", "inference_ms", "end_to_end_ms"]
        for r in plain
    )
    assert [r["top5"] for r in plain] == [r["top5"] for r in records]
    code, out, err = _run(capsys, *args)
    assert "shown" not in out and "frame 3 (0.12 s): A 0.900, B 0.050, C 0.050" in out


@pytest.mark.parametrize("value", ["1", "0", "-0.5", "nan"])
def test_vmf_stream_hold_outside_0_1_is_one_error_line(make_video, tmp_path, capsys, value):
    # refused before the model is looked at: this one does not exist
    code, out, err = _run(capsys, "--model", tmp_path / "m.onnx", "--source", make_video(2), "--hold", value)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --hold must be a score in (0, 1)"), err
