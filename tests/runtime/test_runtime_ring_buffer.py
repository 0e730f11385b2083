import numpy as np
import pytest

from vmf.runtime.ring_buffer import ClipRingBuffer


def _push_numbers(ring, start, stop):
    for k in range(start, stop):
        ring.slot()[...] = k
        ring.commit()


def _frames_in(clip):
    return [int(v) for v in clip.reshape(len(clip), -1)[:, 0]]


@pytest.mark.parametrize("spare", [0, 3])
def test_clip_is_the_last_t_frames_in_order_through_wraparound(spare):
    ring = ClipRingBuffer(5, (2, 3), spare=spare)
    for n in range(1, 4 * ring.capacity + 2):
        _push_numbers(ring, n - 1, n)
        clip = ring.clip()
        assert clip.shape == (5, 2, 3)
        if n >= 5:
            assert _frames_in(clip) == list(range(n - 5, n))
        else:  # not full yet: the newest n frames end the clip, zeros before them
            assert _frames_in(clip)[5 - n :] == list(range(n))
            assert not clip[: 5 - n].any()
    assert ring.full


def test_frame_k_lands_in_slot_k_modulo_capacity():
    ring = ClipRingBuffer(4, (1,), spare=2)
    _push_numbers(ring, 0, 13)  # wraps twice (capacity 6)
    storage = ring._storage
    for k in range(13 - 6, 13):
        assert storage[k % 6, 0] == k
        if k % 6 < 3:  # mirrored so that every window of 4 slots is contiguous
            assert storage[6 + k % 6, 0] == k


def test_clip_is_a_view_not_a_copy():
    ring = ClipRingBuffer(4, (3, 2, 2), spare=1)
    _push_numbers(ring, 0, 7)
    clip = ring.clip()
    assert np.shares_memory(clip, ring._storage)
    assert clip.flags.c_contiguous  # what the backends hand to the runtime without copying


def test_push_copies_a_prepared_frame():
    ring = ClipRingBuffer(2, (2,))
    ring.push(np.array([1.0, 2.0]))
    ring.push(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(ring.clip(), [[1, 2], [3, 4]])


def test_pinned_clip_survives_spare_pushes_then_blocks():
    ring = ClipRingBuffer(4, (1,), spare=3)
    _push_numbers(ring, 0, 6)
    clip = ring.clip()
    ring.pin()
    for k in range(6, 9):  # 3 spare slots: the pinned frames 2..5 are not touched
        assert ring.can_push()
        _push_numbers(ring, k, k + 1)
    assert _frames_in(clip) == [2, 3, 4, 5]
    assert not ring.can_push()  # the next push would overwrite frame 2
    ring.unpin()
    assert ring.can_push()


def test_reset_empties_the_buffer():
    ring = ClipRingBuffer(3, (1,), spare=1)
    _push_numbers(ring, 1, 6)
    ring.reset()
    assert ring.pushed == 0 and not ring.full
    assert not ring.clip().any()
    _push_numbers(ring, 10, 13)
    assert _frames_in(ring.clip()) == [10, 11, 12]


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        ClipRingBuffer(0, (1,))
    with pytest.raises(ValueError):
        ClipRingBuffer(2, (1,), spare=-1)
