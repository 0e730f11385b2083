"""The in-memory form of the motion dataset: clips rendered on demand, never encoded.

Each index is one fresh scene of class ``index % 11`` (so every batch is
balanced over an epoch). Only the frames the clip samples are rendered.

- ``clip_sampling="video"``: the scene is one trimmed video; a training clip
  takes one random time in each of ``frames`` equal segments of it (as
  ``clips.train_indices`` does on a file), an evaluation clip the segment centres.
- ``clip_sampling="stream"``: the scene is an untrimmed timeline
  (``vmf.train.timeline``) and the clip is a stream window, T consecutive kept
  frames chosen by ``vmf.contract.sampling`` exactly as the runtime keeps them
  (at ``sample_fps``, else every frame), from a random position. Its label is
  the class of the segment holding most of the window; plans are drawn until
  that class is the index's, so classes stay balanced. ``video_share`` of the
  training clips are still whole videos (a stream also sees short, complete
  events, such as an object popping in).

Training clips get the training augmentation, evaluation clips the runtime's
preprocessing. Randomness is drawn from ``(seed, epoch, index)``, so a run is
reproducible and resumable, and every epoch sees new scenes.
"""

from __future__ import annotations

import numpy as np
import torch

from vmf.contract.sampling import kept_indices, stream_window

from . import synth
from .clips import eval_clip, segment_times, train_clip
from .timeline import Timeline, window_label

# Timelines a stream window is cut from: 1-4 windows long, segments of 0.6-2.5 windows (a
# window then holds one segment or the end of one and the start of the next, as a window of
# 64 frames at 30 fps does in 1-5 s segments; counted in seconds, a 10 fps source would
# crowd three or four segments into one window, whose majority label is noise).
TIMELINE_WINDOWS = (1.0, 4.0)
SEGMENT_WINDOWS = (0.6, 2.5)
MAX_PLANS = 400  # plans tried for a window of the wanted class


class SynthClipDataset(torch.utils.data.Dataset):
    def __init__(
        self,
        size: int,
        frames: int,
        resolution: int,
        mean,
        std,
        *,
        train: bool,
        flip_perm: np.ndarray | None = None,
        seed: int = 0,
        clip_sampling: str = "video",
        sample_fps: float | None = None,
        video_share: float = 0.0,
    ):
        self.size = int(size)
        self.frames = int(frames)
        self.resolution = int(resolution)
        self.mean, self.std = mean, std
        self.train = train
        self.flip_perm = flip_perm
        self.seed = int(seed)
        self.epoch = 0
        self.classes = list(synth.CLASSES)
        self.clip_sampling = clip_sampling
        self.sample_fps = sample_fps
        self.video_share = float(video_share)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int):
        # Validation videos never change between epochs; training videos always do.
        epoch = self.epoch if self.train else 0
        rng = np.random.default_rng([self.seed, epoch, int(index), int(self.train)])
        label = int(index) % len(self.classes)
        whole = self.clip_sampling == "video" or (self.train and rng.random() < self.video_share)
        if whole:
            spec = synth.random_spec(rng)
            times = segment_times(self.frames, rng if self.train else None)
            frames = synth.render_frames(self.classes[label], rng, times, spec.width, spec.height)
        else:
            frames, label = self.stream_window(rng, label)
        if self.train:
            flip = self.flip_perm is not None and rng.random() < 0.5
            clip = train_clip(frames, self.resolution, self.mean, self.std, rng, flip)
            if flip:
                label = int(self.flip_perm[label])
        else:
            clip = eval_clip(frames, self.resolution, self.mean, self.std)
        return torch.from_numpy(clip), label

    def stream_window(self, rng: np.random.Generator, label: int) -> tuple[np.ndarray, int]:
        """The frames of one stream window whose class is ``label`` (see the module docstring)."""
        timeline, window, got = self.plan_stream_window(rng, label)
        timeline.build_scene(rng)
        return timeline.frames(window, rng), self.classes.index(got)

    def plan_stream_window(self, rng: np.random.Generator, label: int) -> tuple[Timeline, np.ndarray, str]:
        """A timeline's plan, the source indices of a window of class ``label`` in it, and the
        window's class (``label``'s, unless ``MAX_PLANS`` plans found none): nothing rendered."""
        width, height = synth.SIZES[rng.integers(len(synth.SIZES))]
        fps = float(synth.FPS[rng.integers(len(synth.FPS))])
        span = self.frames * (
            fps / self.sample_fps if self.sample_fps else 1.0
        )  # source frames a window spans
        want = self.classes[label]
        for _ in range(MAX_PLANS):
            length = max(1, int(span * rng.uniform(*TIMELINE_WINDOWS)))
            timeline = Timeline(
                rng,
                width,
                height,
                length,
                fps,
                window=max(1, round(span)),
                segment_frames=(round(SEGMENT_WINDOWS[0] * span), round(SEGMENT_WINDOWS[1] * span)),
            )
            kept = kept_indices(length, fps, self.sample_fps)
            end = int(rng.integers(self.frames, len(kept) + 1)) if len(kept) >= self.frames else None
            window = stream_window(kept, self.frames, end)
            got = window_label(timeline.segments, window)
            if got == want:
                break
        return timeline, window, got
