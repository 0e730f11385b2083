"""The embedding API: push frames, get predictions."""

import numpy as np
import pytest

from vmf.runtime import Classifier
from vmf.runtime.backends import load_backend

from runtime_fixtures import TINY_FRAMES, LevelBackend, fake_meta, grey_level


def _grey(k, size=(12, 16)):
    return np.full((*size, 3), grey_level(k), np.uint8)


def test_push_returns_a_prediction_every_hop_once_full():
    clf = Classifier(LevelBackend(fake_meta(frames=4)), hop=3)
    results = [clf.push(_grey(k), timestamp=k / 30) for k in range(13)]
    due = [k for k, r in enumerate(results) if r is not None]
    assert due == [3, 6, 9, 12]
    pred = results[12]
    assert pred.frame_index == 12 and pred.timestamp_s == pytest.approx(12 / 30)
    assert pred.label == "class_3"  # logits are the clip's frame levels: newest is largest
    assert [label for label, _ in pred.top] == ["class_3", "class_2", "class_1", "class_0"]
    assert sum(score for _, score in pred.top) == pytest.approx(1.0, abs=1e-5)
    assert clf.backend.clips[-1] == [9, 10, 11, 12]
    assert clf.latency.count("inference") == 4 and clf.latency.count("preprocess") == 13


def test_reset_needs_a_full_clip_again():
    clf = Classifier(LevelBackend(fake_meta(frames=4)), hop=1)
    assert [clf.push(_grey(k)) is not None for k in range(5)] == [False] * 3 + [True, True]
    clf.reset()
    assert [clf.push(_grey(k)) is not None for k in range(5, 9)] == [False] * 3 + [True]
    assert clf.backend.clips[-1] == [5, 6, 7, 8]


def test_sample_fps_uses_the_timestamps():
    clf = Classifier(LevelBackend(fake_meta(frames=4)), hop=1, sample_fps=10)
    got = [clf.push(_grey(k), timestamp=k / 30) for k in range(12)]
    assert [k for k, r in enumerate(got) if r] == [9]
    assert clf.backend.clips[0] == [0, 3, 6, 9]


def test_top_k_option():
    clf = Classifier(LevelBackend(fake_meta(frames=4)), hop=1, top_k=2)
    preds = [clf.push(_grey(k)) for k in range(4)]
    assert len(preds[-1].top) == 2


def test_classifier_on_a_real_model_matches_the_backend(tiny_models):
    clf = Classifier.load(tiny_models["onnx"], threads=1, hop=2)
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (40, 50, 3), dtype=np.uint8) for _ in range(TINY_FRAMES)]
    preds = [clf.push(f) for f in frames]
    assert preds[-1] is not None and all(p is None for p in preds[:-1])
    # The same frames preprocessed one by one and run directly give the same probabilities.
    from vmf.contract.preprocess import FramePreprocessor

    meta = clf.backend.meta
    prep = FramePreprocessor(meta["resolution"], meta["mean"], meta["std"], meta["input_layout"])
    clip = np.stack([prep(f) for f in frames])
    logits = load_backend(tiny_models["onnx"], threads=1).run(clip)
    probs = np.exp(logits - logits.max())
    np.testing.assert_allclose(preds[-1].probabilities, probs / probs.sum(), atol=1e-6)


def test_the_clip_sampling_of_the_card_is_exposed():
    assert Classifier(LevelBackend(fake_meta(frames=4))).clip_sampling is None
    assert Classifier(LevelBackend(fake_meta(frames=4))).training_note is None
    stream = Classifier(LevelBackend(fake_meta(frames=4, clip_sampling="stream", sample_fps=30.0)))
    assert stream.clip_sampling == "stream"
    assert stream.training_note == "model: trained on stream windows of 4 frames at 30 fps"
    video = Classifier(LevelBackend(fake_meta(frames=4, clip_sampling="video")))
    assert video.clip_sampling == "video"
    assert video.training_note.startswith("warning: the model was trained on whole videos")
    assert "\n" not in video.training_note
