import pytest

from vmf.model import VmfError
from vmf.contract.sampling import TemporalSampler


def _kept(sampler, count, fps):
    return [i for i in range(count) if sampler.keep(i / fps)]


def test_every_frame_by_default():
    assert _kept(TemporalSampler(), 10, 30.0) == list(range(10))


def test_every_nth_frame():
    assert _kept(TemporalSampler(every=3), 10, 30.0) == [0, 3, 6, 9]


def test_target_fps_that_divides_the_source_rate():
    assert _kept(TemporalSampler(target_fps=10), 12, 30.0) == [0, 3, 6, 9]


def test_target_fps_keeps_the_rate_without_drift():
    kept = _kept(TemporalSampler(target_fps=7), 30 * 60, 30.0)  # one minute at 30 fps
    assert abs(len(kept) - 7 * 60) <= 1
    gaps = {b - a for a, b in zip(kept, kept[1:])}
    assert gaps <= {4, 5}  # 30 / 7 = 4.29 source frames between kept ones


def test_target_above_source_rate_keeps_everything():
    assert _kept(TemporalSampler(target_fps=60), 8, 30.0) == list(range(8))


def test_restarts_after_a_gap():
    sampler = TemporalSampler(target_fps=10)
    times = [0.0, 0.1, 5.0, 5.05, 5.1]
    assert [sampler.keep(t) for t in times] == [True, True, True, False, True]


def test_reset_starts_over():
    sampler = TemporalSampler(every=2)
    assert [sampler.keep(0), sampler.keep(0)] == [True, False]
    sampler.reset()
    assert sampler.keep(0)


@pytest.mark.parametrize("kwargs", [dict(every=0), dict(target_fps=0), dict(every=2, target_fps=5)])
def test_bad_settings_raise(kwargs):
    with pytest.raises(VmfError):
        TemporalSampler(**kwargs)
