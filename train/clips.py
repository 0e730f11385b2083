"""Which frames of a video make a clip, and how they become the model's input.

With ``clip_sampling="video"`` evaluation takes one clip of ``frames`` frames
uniformly covering the whole video (the paper's protocol, §4) and training one
random frame from each of ``frames`` equal segments (TSN-style). With
``"stream"`` both take a stream window, T consecutive kept frames as the
runtime keeps them (``vmf.contract.sampling``): training from a random
position, evaluation the middle window. Evaluation clips are preprocessed with
exactly the function the runtime and every exported model use
(``vmf.contract.preprocess``), so a score measured here is what a device
computes. Training adds a random short-side scale in [R, 1.33 R], a random
R x R crop and, only with a class-swap map, a horizontal flip. Time is never
reversed: in a motion task that changes the class.
"""

from __future__ import annotations

import cv2
import numpy as np

from vmf.contract.preprocess import FramePreprocessor
from vmf.contract.sampling import kept_indices, stream_window, uniform_indices

MAX_SCALE = 1.33  # short side drawn from [R, 1.33 R] (X3D / PyTorchVideo train scale jitter)


# The evaluation clip is part of the clip contract (int8 export samples its labelled
# clips with it too): one definition, in vmf.contract.sampling.
eval_indices = uniform_indices


def train_indices(num_frames: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """One random index in each of ``frames`` equal segments of the video, in order."""
    if num_frames < 1:
        raise ValueError("a video with no frames")
    starts = np.arange(frames) * num_frames / frames
    offsets = rng.random(frames) * num_frames / frames
    return np.minimum((starts + offsets).astype(np.int64), num_frames - 1)


class StreamChooser:
    """Chooses a stream window of a file: ``choose(num_frames, fps)`` for ``video_io.read_frames``.

    ``rng`` given: a random window (training); else the middle one (evaluation).
    """

    needs_fps = True

    def __init__(self, frames: int, sample_fps: float | None = None, rng: np.random.Generator | None = None):
        self.frames, self.sample_fps, self.rng = int(frames), sample_fps, rng

    def __call__(self, num_frames: int, fps: float) -> np.ndarray:
        kept = kept_indices(num_frames, fps, self.sample_fps)
        if len(kept) <= self.frames:
            return stream_window(kept, self.frames)
        if self.rng is None:
            end = (len(kept) + self.frames + 1) // 2
        else:
            end = int(self.rng.integers(self.frames, len(kept) + 1))
        return stream_window(kept, self.frames, end)


def segment_times(frames: int, rng: np.random.Generator | None) -> np.ndarray:
    """Scene times in [0, 1] of a clip: random per segment when ``rng`` is given, else centres."""
    u = rng.random(frames) if rng is not None else np.full(frames, 0.5)
    return (np.arange(frames) + u) / frames


def eval_clip(frames_bgr, resolution: int, mean, std) -> np.ndarray:
    """(3, T, R, R) float32 from BGR uint8 frames, with the runtime's own preprocessing."""
    pre = FramePreprocessor(resolution, mean, std, layout="TCHW")
    out = np.empty((len(frames_bgr), 3, resolution, resolution), np.float32)
    for i, frame in enumerate(frames_bgr):
        pre(frame, out=out[i])
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3))


def train_clip(frames_bgr, resolution: int, mean, std, rng: np.random.Generator, flip: bool) -> np.ndarray:
    """(3, T, R, R) float32: one random scale and crop (and maybe a flip) for the whole clip.

    The short side is resized to a random S in [R, 1.33 R] and a random R x R
    crop is taken from the centred S x S square. Every frame gets the same
    geometry, so motion between frames is left intact. ``cv2.resize`` does the
    resampling here (bilinear, half-pixel centres like the runtime's
    preprocessing, in fixed point): an augmentation need not be bit-exact and
    this is the hot loop of in-memory training.
    """
    h, w = frames_bgr[0].shape[:2]
    side = int(round(resolution * rng.uniform(1.0, MAX_SCALE)))
    scale = side / min(h, w)
    size_w, size_h = max(side, round(w * scale)), max(side, round(h * scale))
    top = (size_h - side) // 2 + int(rng.integers(0, side - resolution + 1))
    left = (size_w - side) // 2 + int(rng.integers(0, side - resolution + 1))
    gain = (1.0 / (255.0 * np.asarray(std, np.float32)))[::-1].astype(np.float32)  # BGR order
    bias = (-np.asarray(mean, np.float32) / np.asarray(std, np.float32))[::-1].astype(np.float32)
    crops = np.empty((len(frames_bgr), resolution, resolution, 3), np.uint8)
    for i, frame in enumerate(frames_bgr):
        if frame.shape[:2] != (h, w):
            raise ValueError("frames of one clip differ in size")
        resized = cv2.resize(frame, (size_w, size_h), interpolation=cv2.INTER_LINEAR)
        crops[i] = resized[top : top + resolution, left : left + resolution]
    if flip:
        crops = crops[:, :, ::-1]
    clip = crops.astype(np.float32) * gain + bias  # (T, R, R, 3) BGR, normalised
    return np.ascontiguousarray(clip[..., ::-1].transpose(3, 0, 1, 2))


def parse_flip_map(text: str | None, classes: list[str]) -> np.ndarray | None:
    """``"a:b,c:d"`` -> label permutation under a horizontal flip (``None``: never flip).

    Classes not named keep their label. An empty string means "flip, nothing
    swaps" (for tasks without directions).
    """
    if text is None:
        return None
    perm = np.arange(len(classes))
    index = {name: i for i, name in enumerate(classes)}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        a, sep, b = pair.partition(":")
        a, b = a.strip(), b.strip()
        if not sep or not a or not b:
            raise ValueError(f"--flip-map entry {pair!r} is not 'class_a:class_b'")
        for name in (a, b):
            if name not in index:
                raise ValueError(
                    f"--flip-map names {name!r}, which is not a class (classes: {', '.join(classes)})"
                )
        perm[index[a]], perm[index[b]] = index[b], index[a]
    return perm
