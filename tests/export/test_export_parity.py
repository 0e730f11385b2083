"""Parity clips and figures: the numbers every export is gated on."""

import numpy as np
import pytest

from vmf.export.parity import (
    INT8_MIN_COSINE,
    compare,
    gate,
    predict_all,
    structured_clips,
    to_layout,
)
from vmf.contract.targets import get as get_target
from vmf.model import MEAN, STD


def test_structured_clips_have_structure_in_space_time_and_colour():
    clips = structured_clips(2, frames=6, resolution=24, seed=3)
    assert clips.shape == (2, 6, 3, 24, 24) and clips.dtype == np.float32
    rgb = clips * np.asarray(STD, np.float32)[:, None, None] + np.asarray(MEAN, np.float32)[:, None, None]
    assert rgb.min() >= -1e-5 and rgb.max() <= 1 + 1e-5  # the normalised [0, 1] input contract
    assert np.abs(np.diff(clips[0], axis=0)).mean() > 0.05  # frames differ: things move
    assert np.abs(clips[0, :, 0] - clips[0, :, 1]).mean() > 0.05  # channels differ: colour
    assert np.abs(clips[0] - clips[1]).mean() > 0.1  # clips differ from each other
    np.testing.assert_array_equal(clips, structured_clips(2, 6, 24, seed=3))  # seeded


def test_to_layout_moves_channels_last_for_one_clip_or_a_batch():
    clip = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    thwc = to_layout(clip, "THWC")
    assert thwc.shape == (2, 4, 5, 3) and thwc.flags.c_contiguous
    assert thwc[1, 2, 3, 1] == clip[1, 1, 2, 3]
    assert to_layout(clip[None], "THWC").shape == (1, 2, 4, 5, 3)
    assert to_layout(clip, "TCHW") is not None and to_layout(clip, "TCHW").shape == clip.shape
    with pytest.raises(ValueError):
        to_layout(clip, "NCTHW")


def test_compare_reports_relative_error_cosine_and_top1():
    ref = np.array([[1.0, -2.0, 0.5], [0.0, 4.0, 1.0]])
    out = ref + np.array([[0.0, 0.04, 0.0], [0.0, 0.0, -0.02]])
    fig = compare(out, ref)
    assert fig["clips"] == 2
    assert fig["max_abs_err"] == pytest.approx(0.04)
    assert fig["max_rel_err"] == pytest.approx(0.04 / 4.0)
    assert fig["top1_agreement"] == 1.0 and 0.999 < fig["cosine_min"] <= 1.0
    swapped = np.roll(ref, 1, axis=1)
    assert compare(swapped, ref)["top1_agreement"] == 0.0


def test_gate_applies_the_documented_thresholds():
    assert get_target("onnx").tolerances["fp32"] == 1e-4 and get_target("tflite").tolerances["fp32"] == 1e-3
    assert get_target("tflite").tolerances["fp16"] == 1e-2
    ok = gate({"max_rel_err": 5e-5, "cosine_min": 1.0}, "onnx", "fp32")
    assert ok["passed"] and ok["threshold"] == 1e-4
    assert not gate({"max_rel_err": 2e-4, "cosine_min": 1.0}, "onnx", "fp32")["passed"]
    assert gate({"max_rel_err": 2e-4, "cosine_min": 1.0}, "tflite", "fp32")["passed"]
    int8 = gate(
        {"max_rel_err": 0.3, "cosine_min": 0.9, "cosine_median": INT8_MIN_COSINE - 0.01}, "tflite", "int8"
    )
    assert int8["metric"] == "cosine_median" and not int8["passed"]
    # one low-margin clip below the median threshold passes; one that int8 broke does not
    assert gate({"cosine_min": 0.85, "cosine_median": 0.99}, "tflite", "int8")["passed"]
    assert not gate({"cosine_min": 0.5, "cosine_median": 0.99}, "tflite", "int8")["passed"]


def test_predict_all_stacks_one_row_per_clip():
    clips = structured_clips(3, 2, 8)
    logits = predict_all(lambda clip: clip.mean(axis=(0, 2, 3))[None], clips)
    assert logits.shape == (3, 3)
    np.testing.assert_allclose(logits[1], clips[1].mean(axis=(0, 2, 3)), rtol=1e-6)
