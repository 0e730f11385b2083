"""The in-memory form of the motion dataset: clips rendered on demand, never encoded.

Each index is one fresh video scene (class ``index % 10``, so every batch is
balanced over an epoch). Only the frames the clip samples are rendered: a
training clip takes one random time in each of ``frames`` equal segments of the
video (as ``clips.train_indices`` does on a file) and gets the training
augmentation; an evaluation clip takes the segment centres and the runtime's
preprocessing. Randomness is drawn from ``(seed, epoch, index)``, so a run is
reproducible and resumable, and every epoch sees new videos.
"""

from __future__ import annotations

import numpy as np
import torch

from . import synth
from .clips import eval_clip, segment_times, train_clip


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

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int):
        # Validation videos never change between epochs; training videos always do.
        epoch = self.epoch if self.train else 0
        rng = np.random.default_rng([self.seed, epoch, int(index), int(self.train)])
        label = int(index) % len(self.classes)
        spec = synth.random_spec(rng)
        times = segment_times(self.frames, rng if self.train else None)
        frames = synth.render_frames(self.classes[label], rng, times, spec.width, spec.height)
        if self.train:
            flip = self.flip_perm is not None and rng.random() < 0.5
            clip = train_clip(frames, self.resolution, self.mean, self.std, rng, flip)
            if flip:
                label = int(self.flip_perm[label])
        else:
            clip = eval_clip(frames, self.resolution, self.mean, self.std)
        return torch.from_numpy(clip), label
