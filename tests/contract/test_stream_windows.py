"""One sampler: training, evaluation and the runtime take the same frames for the same position."""

from __future__ import annotations

import numpy as np
import pytest

from vmf.contract.sampling import kept_indices, stream_window, stream_window_ends
from vmf.runtime.clip_assembler import ClipAssembler
from vmf.train.clips import StreamChooser
from vmf.train.video_io import encoder_available, read_frames, write_video

T = 8


def _meta(frames=T):
    # resolution 8, mean 0, std 1: a slot holds pixel / 255, so a clip can be decoded back
    return {"frames": frames, "resolution": 8, "mean": [0, 0, 0], "std": [1, 1, 1], "input_layout": "TCHW"}


def _frame(i: int) -> np.ndarray:
    return np.full((8, 8, 3), i % 251, np.uint8)


def _runtime_windows(num_frames, fps, hop, sample_fps=None, sample_every=None):
    """(kept frames so far, decoded frame numbers of the clip) at every clip the runtime classifies."""
    assembler = ClipAssembler(_meta(), hop=hop, sample_fps=sample_fps, sample_every=sample_every)
    kept, out = 0, []
    for i in range(num_frames):
        if not assembler.keep(i / fps):
            continue
        kept += 1
        if assembler.add(_frame(i)):
            clip = assembler.clip()  # (T, 3, R, R) in TCHW
            out.append((kept, np.rint(np.asarray(clip)[:, 0, 0, 0] * 255).astype(int)))
    return out


@pytest.mark.parametrize(
    "fps, hop, sample_fps, sample_every",
    [
        (30.0, 1, None, None),
        (30.0, 4, None, None),
        (30.0, 3, 12.5, None),
        (25.0, 2, 10.0, None),
        (24.0, 5, None, 3),
    ],
)
def test_runtime_clips_are_the_contract_windows(fps, hop, sample_fps, sample_every):
    n = 120
    windows = _runtime_windows(n, fps, hop, sample_fps, sample_every)
    kept = kept_indices(n, fps, sample_fps, sample_every)
    ends = stream_window_ends(len(kept), T, hop)
    assert [end for end, _ in windows] == list(ends)
    for end, decoded in windows:
        assert list(decoded) == list(stream_window(kept, T, end) % 251)


def test_training_chooser_takes_a_runtime_window():
    n, fps, sample_fps = 90, 30.0, 15.0
    kept = kept_indices(n, fps, sample_fps)
    runtime = {end: tuple(frames) for end, frames in _runtime_windows(n, fps, 1, sample_fps)}
    for seed in range(20):
        chosen = StreamChooser(T, sample_fps, np.random.default_rng(seed))(n, fps)
        end = int(np.searchsorted(kept, chosen[-1]) + 1)
        assert tuple(chosen % 251) == runtime[end]
        assert np.all(np.diff(chosen) > 0)  # consecutive kept frames, in order


def test_evaluation_chooser_takes_the_middle_window():
    kept = kept_indices(100, 25.0)
    chosen = StreamChooser(T)(100, 25.0)
    assert list(chosen) == list(stream_window(kept, T, (100 + T + 1) // 2))


def test_short_video_repeats_its_first_frame_in_front():
    assert list(stream_window(kept_indices(5), T)) == [0, 0, 0, 0, 1, 2, 3, 4]
    assert list(StreamChooser(T, rng=np.random.default_rng(0))(5, 30.0)) == [0, 0, 0, 0, 1, 2, 3, 4]


def test_stream_window_rejects_a_position_outside_the_video():
    with pytest.raises(ValueError, match="needs"):
        stream_window(np.arange(20), T, 7)
    with pytest.raises(ValueError, match="needs"):
        stream_window(np.arange(20), T, 21)


@pytest.mark.skipif(not encoder_available("ffv1"), reason="no lossless ffv1 encoder here")
def test_a_file_gives_the_training_window_through_the_real_decoder(tmp_path):
    """A lossless file whose frames carry their own number: the decoded window is the contract's."""
    n, fps = 75, 30.0
    frames = np.zeros((n, 16, 16, 3), np.uint8)
    for i in range(n):  # the frame number in two grey blocks, far apart in level: survives YUV
        frames[i, :, :8], frames[i, :, 8:] = 25 * (i // 8), 25 * (i % 8)
    path = write_video(tmp_path / "numbered.mkv", frames, fps, codec="ffv1")
    rng = np.random.default_rng(3)
    expected = StreamChooser(T, 10.0, np.random.default_rng(3))(n, fps)
    got, read_fps, total = read_frames(path, StreamChooser(T, 10.0, rng))
    assert total == n and read_fps == pytest.approx(fps)
    numbers = np.rint(got[:, 8, 4, 0] / 25).astype(int) * 8 + np.rint(got[:, 8, 12, 0] / 25).astype(int)
    assert list(numbers) == list(expected)
    assert set(np.diff(numbers)) == {3}  # 10 fps out of 30: every third frame
