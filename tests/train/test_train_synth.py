"""The generator's promise the dataset rests on: a reversed class is its partner played backwards."""

from __future__ import annotations

import numpy as np
import pytest

from vmf.train import synth, timeline

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


def test_no_motion_has_no_partner_and_keeps_its_object_still():
    assert "no_motion" in synth.CLASSES and "no_motion" not in synth.REVERSED
    assert "no_motion" not in synth.REVERSED.values()
    for seed in range(20):
        scene = synth.Scene("no_motion", np.random.default_rng(seed), 96, 64)
        states = [scene.main.state(t) for t in (0.0, 0.3, 1.0)]
        assert all(s == states[0] for s in states)  # position, size, angle, opacity


def test_photographs_ship_with_the_wheel():
    photos = synth.photographs()
    assert len(photos) >= 5
    assert all(p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3 for p in photos)


def test_stream_windows_of_the_in_memory_set_are_balanced_and_labelled_by_their_frames():
    from vmf.train.synth_clips import SynthClipDataset

    classes = list(synth.CLASSES)
    ds = SynthClipDataset(
        2 * len(classes), 8, 32, [0.5] * 3, [0.25] * 3, train=False, clip_sampling="stream", seed=3
    )
    labels = [ds[i][1] for i in range(len(ds))]
    assert labels == [i % len(classes) for i in range(len(ds))]
    clip, _ = ds[0]
    assert tuple(clip.shape) == (3, 8, 32, 32)


def _drawn(sprite, angle):
    """The sprite alone on a flat grey 96 x 96 frame, turned to ``angle``."""
    frame = np.full((96, 96, 3), 128, np.uint8)
    sprite.draw_state(frame, 0.5, 0.5, 0.3, angle, 1.0, (0.0, 0.0))
    return frame


def test_a_turning_disc_shows_its_turn_only_through_its_markings():
    from vmf.train.scene_parts import random_sprite

    grey = np.array([128.0, 128.0, 128.0])
    for seed in range(10):
        kind, sprite = random_sprite(np.random.default_rng(seed), grey, rotating=True, kind="disc")
        assert kind == "disc" and sprite.marks  # a plain disc would turn invisibly
        sprite.pivot = (0.0, 0.0)  # about its own centre: the outline stays put
        sprite.colour2 = None  # one colour: only the markings can show the turn
        before, after = _drawn(sprite, 0.0), _drawn(sprite, np.pi / 2)
        changed = np.abs(before.astype(int) - after.astype(int)).max(axis=2) > 40
        assert changed.sum() > 10  # the markings moved
        yy, xx = np.nonzero(changed)
        assert (np.hypot(yy - 47.5, xx - 47.5) <= 0.3 * 96 + 2).all()  # and only inside the disc
        sprite.marks = []
        plain = np.abs(_drawn(sprite, 0.0).astype(int) - _drawn(sprite, np.pi / 2).astype(int))
        assert plain.max() <= 40  # without them the same turn is (nearly) invisible


def test_timelines_turn_round_objects_only_when_they_are_marked():
    from vmf.train.timeline import Timeline

    seen_marked_round_turn = False
    for seed in range(400):
        tl = Timeline(np.random.default_rng(seed), 160, 120, 300, 30.0)
        turns = any(s.label.startswith("rotating_") for s in tl.segments)
        if tl.kind in synth.ROUND_SHAPES and turns:
            assert tl.marked
            seen_marked_round_turn = True
    assert seen_marked_round_turn


def test_distractors_stay_clearly_smaller_than_the_smallest_main_object():
    # A distractor as large as the main object, drifting in a no_motion scene, would make a
    # small main object's motion read as no_motion: none may pass 3/4 of the smallest one.
    def largest(scene):
        return max((max(d.radius0, d.radius1) for d in scene.distractors), default=0.0)

    seen = {False: 0.0, True: 0.0}
    for seed in range(40):
        for label in synth.CLASSES:
            for plain in (False, True):
                scene = synth.Scene(label, np.random.default_rng(seed), 96, 64, plain=plain)
                seen[plain] = max(seen[plain], largest(scene))
                smallest_main = synth.PLAIN_MIN_RADIUS if plain else synth.MIN_RADIUS
                assert largest(scene) <= 0.75 * smallest_main
        tl = timeline.Timeline(np.random.default_rng(seed), 160, 120, 200, 25.0).build_scene(
            np.random.default_rng(seed)
        )
        assert largest(tl.scene) <= 0.75 * min(float(tl.radius.min()), synth.MIN_RADIUS)
    assert seen[False] > 0.025 and seen[True] > 0.05  # the ranges are used, not just bounded


def test_plain_scenes_keep_an_unmarked_object_of_a_sixth_of_the_frame_or_more():
    sizes = {False: [], True: []}
    for seed in range(60):
        for plain in (False, True):
            scene = synth.Scene("no_motion", np.random.default_rng(seed), 96, 64, plain=plain)
            sizes[plain].append(scene.main.radius0)
            if plain:
                assert not scene.main.marks
    assert min(sizes[True]) >= synth.PLAIN_MIN_RADIUS > min(sizes[False])  # the general ones go smaller
