"""Which datasets a training run reads: the in-memory generator or video files.

``DATA`` is ``synth`` (clips rendered on demand by the motion generator, no
files) or a path that ``datasets.load_splits`` understands (class folders,
``train/`` + ``val/``, or a list file).
"""

from __future__ import annotations

from vmf.model import VmfError

from .clips import parse_flip_map

SYNTH = "synth"


def make_datasets(cfg, mean, std, warn):
    """(train dataset, val dataset or None, class names) for a resolved ``TrainConfig``."""
    # how clips are taken (vmf.contract.sampling), the same for every dataset of the run
    sampling = dict(clip_sampling=cfg.clip_sampling, sample_fps=cfg.sample_fps)
    if cfg.data == SYNTH:
        from . import synth
        from .synth_clips import SynthClipDataset

        classes = list(synth.CLASSES)
        flip = _flip(cfg.flip_map if cfg.flip_map is not None else synth.FLIP_MAP, classes)
        train = SynthClipDataset(
            cfg.epoch_size,
            cfg.frames,
            cfg.resolution,
            mean,
            std,
            train=True,
            flip_perm=flip,
            seed=cfg.seed,
            video_share=cfg.video_share,
            **sampling,
        )
        # Validation scenes come from another seed stream than any training scene.
        val = (
            SynthClipDataset(
                cfg.val_size,
                cfg.frames,
                cfg.resolution,
                mean,
                std,
                train=False,
                seed=cfg.seed + 7919,
                **sampling,
            )
            if cfg.val_size
            else None
        )
        return train, val, classes
    from .datasets import VideoClipDataset, find_flip_map, load_splits

    splits = load_splits(cfg.data, val=cfg.val, val_split=cfg.val_split, seed=cfg.seed)
    classes = list(splits.classes)
    # A dataset written by ``vmf-data synth`` carries its flip map; else no flips.
    flip = _flip(cfg.flip_map if cfg.flip_map is not None else find_flip_map(cfg.data), classes)
    train = VideoClipDataset(
        splits.train,
        classes,
        cfg.frames,
        cfg.resolution,
        mean,
        std,
        train=True,
        flip_perm=flip,
        seed=cfg.seed,
        **sampling,
    )
    val = (
        VideoClipDataset(
            splits.val,
            classes,
            cfg.frames,
            cfg.resolution,
            mean,
            std,
            train=False,
            seed=cfg.seed,
            **sampling,
        )
        if splits.val
        else None
    )
    return train, val, classes


def _flip(text, classes):
    try:
        return parse_flip_map(text, classes)
    except ValueError as exc:
        raise VmfError(str(exc)) from None
