"""The generator's promise the dataset rests on: a reversed class is its partner played backwards."""

from __future__ import annotations

import numpy as np
import pytest

from vmf.train import synth

SPEC = synth.VideoSpec(width=48, height=32, frames=8, fps=10.0)


@pytest.mark.parametrize("reversed_class, partner", sorted(synth.REVERSED.items()))
def test_reversed_class_is_the_partner_backwards(reversed_class, partner):
    for seed in (0, 7):
        forwards = synth.render_video(partner, seed, SPEC)
        backwards = synth.render_video(reversed_class, seed, SPEC)
        assert backwards.shape == (8, 32, 48, 3)
        assert np.array_equal(backwards, forwards[::-1])
        assert not np.array_equal(backwards, forwards)


def test_moving_right_is_moving_left_backwards():
    left = synth.render_video("moving_left", 3, SPEC)
    right = synth.render_video("moving_right", 3, SPEC)
    assert np.array_equal(right, left[::-1])
