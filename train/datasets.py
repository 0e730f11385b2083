"""Labelled video files from the two layouts video datasets ship in, and clips from them.

A *folder tree* ``ROOT/<class>/<video>`` (UCF101, HMDB51, what ``vmf-data
synth`` writes) or a *list file* of ``path label`` lines (MMAction2's and
PyTorchVideo's format, what Kinetics and Something-Something loaders use).
Either way the result is a list of ``(path, label)`` items and the class names
in label order; ``load_splits`` turns a dataset argument into a train and a
validation set that share one label space, so a validation accuracy always
scores the labels the model was trained on.

``VideoClipDataset`` decodes a file per item and makes one clip of it with
``vmf.train.clips``: the random TSN-style clip for training, the uniform
evaluation clip (the runtime's own preprocessing) for validation.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from vmf.contract.video import VIDEO_SUFFIXES, VideoReadError, read_frames, videos_in
from vmf.model import VmfError

from .clips import StreamChooser, eval_clip, eval_indices, train_clip, train_indices

CLASSES_FILE = "classes.txt"
FLIP_MAP_FILE = "flip_map.txt"

log = logging.getLogger(__name__)

Item = tuple[Path, int]


class DatasetError(VmfError):
    """A dataset argument that does not lead to labelled videos (the message says where)."""


class Splits(NamedTuple):
    """A train and a validation set over one label space (``val`` may be empty)."""

    train: list[Item]
    val: list[Item]
    classes: list[str]


# --------------------------------------------------------------------------- folder trees


def find_videos(root: "str | os.PathLike", classes: list[str] | None = None) -> tuple[list[Item], list[str]]:
    """Videos of a ``ROOT/<class>/<video>`` tree and the class names in label order.

    The label order is ``classes`` when given, else the lines of
    ``ROOT/classes.txt`` when present, else the sorted folder names: a
    classes.txt keeps the labels of a model stable when folders are added.
    Every class needs a folder holding a video, since a class the model never
    sees is a mistake, not a choice. Hidden files and folders (for instance a
    video being written) are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"data folder {root} does not exist")
    folders = {p.name: p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if not folders:
        raise DatasetError(f"no videos found in {root} (expected {root}/<class>/*.mp4)")
    source = "the classes given"
    if classes is None and (root / CLASSES_FILE).is_file():
        classes, source = read_classes(root / CLASSES_FILE), str(root / CLASSES_FILE)
    if classes is None:
        classes = sorted(folders)
    extra = sorted(set(folders) - set(classes))
    if extra:
        raise DatasetError(
            f"folder {root / extra[0]} is not a class of {source} (classes: {', '.join(classes)})"
        )
    items = []
    for label, name in enumerate(classes):
        if name not in folders:
            raise DatasetError(f"class {name!r} of {source} has no folder in {root}")
        videos = videos_in(folders[name])
        if not videos:
            raise DatasetError(f"class folder {folders[name]} has no videos ({', '.join(VIDEO_SUFFIXES)})")
        items += [(path, label) for path in videos]
    return items, list(classes)


def read_classes(path: "str | os.PathLike") -> list[str]:
    """Class names, one per line (blank lines skipped); duplicates are an error."""
    path = Path(path)
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"{path} names no classes")
    seen = set()
    for name in names:
        if name in seen:
            raise DatasetError(f"{path} names class {name!r} twice")
        seen.add(name)
    return names


# --------------------------------------------------------------------------- list files


def read_list(
    list_file: "str | os.PathLike", classes: list[str] | None = None
) -> tuple[list[Item], list[str]]:
    """Items of a ``path label`` list file, and the class names in label order.

    A label is a class index or a class name. Relative paths are resolved
    against the list file's folder, so a dataset folder can move as a whole.
    The classes are ``classes`` when given, else a classes.txt beside the list
    file, else the sorted names the file uses, else ``class_0 .. class_K`` up
    to the largest index. The path may contain spaces: the label is the last
    field. Blank lines and lines starting with ``#`` are skipped.
    """
    list_file = Path(list_file)
    if not list_file.is_file():
        raise DatasetError(f"list file {list_file} does not exist")
    if classes is None and (list_file.parent / CLASSES_FILE).is_file():
        classes = read_classes(list_file.parent / CLASSES_FILE)
    rows = _parse_list(list_file)
    if not rows:
        raise DatasetError(f"no videos found in list file {list_file}")
    if classes is None:
        classes = _classes_of_rows(list_file, rows)
    index = {name: i for i, name in enumerate(classes)}
    items = [(path, _label(list_file, lineno, label, index, len(classes))) for lineno, path, label in rows]
    _check_some_exist(list_file, items)
    return items, list(classes)


def _parse_list(list_file: Path) -> list[tuple[int, Path, str]]:
    rows = []
    for lineno, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.rsplit(None, 1)
        if len(fields) != 2:
            raise DatasetError(f"{list_file}:{lineno}: expected 'path label', got {text!r}")
        path = Path(fields[0])
        rows.append((lineno, path if path.is_absolute() else list_file.parent / path, fields[1]))
    return rows


def _classes_of_rows(list_file: Path, rows: list[tuple[int, Path, str]]) -> list[str]:
    """Class names for a list file without classes.txt: all-index or all-name labels."""
    numeric = [label.isdigit() for _, _, label in rows]
    if all(numeric):
        return [f"class_{i}" for i in range(max(int(label) for _, _, label in rows) + 1)]
    if not any(numeric):
        return sorted({label for _, _, label in rows})
    lineno = next(row[0] for row, is_index in zip(rows, numeric) if is_index != numeric[0])
    raise DatasetError(
        f"{list_file}:{lineno}: mixes class indices and class names; "
        f"add a {CLASSES_FILE} beside it to say which index is which name"
    )


def _label(list_file: Path, lineno: int, label: str, index: dict[str, int], count: int) -> int:
    if label in index:
        return index[label]
    if label.isdigit() and int(label) < count:
        return int(label)
    raise DatasetError(
        f"{list_file}:{lineno}: label {label!r} is neither a class name nor an index below {count}"
    )


def _check_some_exist(list_file: Path, items: list[Item]) -> None:
    """Fail when no listed video exists (a wrong folder); single missing ones are only logged.

    Large public datasets always lack a few videos (taken down since the list
    was made); those are skipped at load time (``VideoClipDataset`` returns
    None), not worth refusing a run for.
    """
    missing = [path for path, _ in items if not path.is_file()]
    if len(missing) == len(items):
        raise DatasetError(
            f"none of the {len(items)} videos listed in {list_file} exists (first: {missing[0]})"
        )
    if missing:
        log.warning(
            "%d of %d videos listed in %s do not exist (first: %s); they will be skipped",
            len(missing),
            len(items),
            list_file,
            missing[0],
        )


# --------------------------------------------------------------------------- splits


def load_splits(
    data: "str | os.PathLike",
    val: "str | os.PathLike | None" = None,
    val_split: float | None = None,
    seed: int = 0,
) -> Splits:
    """The train and validation sets a dataset argument means.

    ``data`` is a folder with a ``train/`` (and usually a ``val/``) subfolder,
    each a class tree; or a class tree; or a list file. ``val`` (a class tree
    or a list file) overrides the validation set; ``val_split`` instead holds
    out that fraction of each train class (at least one video, never a class's
    last one), the same videos for the same ``seed``. Without any of the
    three the validation set is empty. The validation labels are the train
    set's: a validation class the train set lacks is an error. A classes.txt
    in ``train/`` or, for both sets, in ``data`` fixes the label order.
    """
    data = Path(data)
    if not data.exists():
        raise DatasetError(f"data path {data} does not exist")
    if val is not None and val_split is not None:
        raise DatasetError("give a validation set or a validation split, not both")
    if val_split is not None and not 0.0 < val_split < 1.0:
        raise DatasetError(f"validation split {val_split} is not between 0 and 1")
    if data.is_dir() and (data / "train").is_dir():
        classes_file = data / "train" / CLASSES_FILE
        if not classes_file.is_file() and (data / CLASSES_FILE).is_file():
            classes_file = data / CLASSES_FILE
        classes = read_classes(classes_file) if classes_file.is_file() else None
        train, classes = find_videos(data / "train", classes)
        if val is None and val_split is None and (data / "val").is_dir():
            return Splits(train, _load_val(data / "val", classes), classes)
    elif data.is_dir():
        train, classes = find_videos(data)
    else:
        train, classes = read_list(data)
    if val is not None:
        return Splits(train, _load_val(Path(val), classes), classes)
    if val_split is not None:
        train, held_out = split_per_class(train, val_split, seed)
        return Splits(train, held_out, classes)
    return Splits(train, [], classes)


def _load_val(val: Path, classes: list[str]) -> list[Item]:
    """Validation items relabelled by class name into the train set's label space."""
    if not val.exists():
        raise DatasetError(f"validation path {val} does not exist")
    if val.is_dir():
        items, val_classes = find_videos(val)
    else:
        # A list's int labels index its own classes.txt when it has one, else the train classes.
        has_own = (val.parent / CLASSES_FILE).is_file()
        items, val_classes = read_list(val, None if has_own else classes)
    index = {name: i for i, name in enumerate(classes)}
    used = sorted({val_classes[label] for _, label in items})
    for name in used:
        if name not in index:
            raise DatasetError(
                f"validation class {name!r} of {val} is not a train class "
                f"(train classes: {', '.join(classes)})"
            )
    return [(path, index[val_classes[label]]) for path, label in items]


def split_per_class(items: list[Item], fraction: float, seed: int = 0) -> tuple[list[Item], list[Item]]:
    """(train, held out): ``fraction`` of each class, drawn with a generator per (seed, class).

    A generator per class keeps a class's split unchanged when other classes
    gain or lose videos; sorting first makes it independent of listing order.
    """
    by_class: dict[int, list[Path]] = {}
    for path, label in items:
        by_class.setdefault(label, []).append(path)
    train, held = [], []
    for label in sorted(by_class):
        paths = sorted(by_class[label])
        count = len(paths)
        n_held = min(max(1, round(count * fraction)), count - 1) if count > 1 else 0
        order = np.random.default_rng([seed, label]).permutation(count)
        held_set = set(order[:n_held].tolist())
        for i, path in enumerate(paths):
            (held if i in held_set else train).append((path, label))
    return train, held


def find_flip_map(data: "str | os.PathLike") -> str | None:
    """The ``a:b,c:d`` flip map stored with a dataset (``flip_map.txt``), or None.

    Looked for in the data folder (and its ``train/``), or beside a list file,
    so a dataset that ``vmf-data synth`` wrote carries its own flip classes.
    """
    data = Path(data)
    folder = data if data.is_dir() else data.parent
    for candidate in (folder / FLIP_MAP_FILE, folder / "train" / FLIP_MAP_FILE):
        if candidate.is_file():
            return ",".join(
                line.strip() for line in candidate.read_text(encoding="utf-8").splitlines() if line.strip()
            )
    return None


# --------------------------------------------------------------------------- clips


class VideoClipDataset(Dataset):
    """One clip per video: random (``train``) or the evaluation clip, whole-video or stream window.

    The training randomness of item ``i`` in epoch ``e`` comes from
    ``default_rng([seed, e, i])``: a run is reproducible whatever the number
    of loader workers, and an item gets a new clip every epoch (call
    ``set_epoch`` before each one). With ``flip_perm`` (from
    ``clips.parse_flip_map``) half the training clips are mirrored and their
    label mapped through it; without it nothing is mirrored, since a mirror
    changes the class of a direction. An undecodable video yields None (and
    a warning naming it), which ``collate_skip`` drops.
    """

    def __init__(
        self,
        items: list[Item],
        classes: list[str],
        frames: int,
        resolution: int,
        mean,
        std,
        train: bool,
        flip_perm=None,
        seed: int = 0,
        clip_sampling: str = "video",
        sample_fps: float | None = None,
    ):
        self.items = list(items)
        self.clip_sampling = clip_sampling
        self.sample_fps = sample_fps
        self.classes = list(classes)
        self.frames = int(frames)
        self.resolution = int(resolution)
        self.mean, self.std = mean, std
        self.train = bool(train)
        self.flip_perm = None if flip_perm is None else np.asarray(flip_perm, np.int64)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        path, label = self.items[i]
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.train else None
        if self.clip_sampling == "stream":
            choose = StreamChooser(self.frames, self.sample_fps, rng)
        elif self.train:
            choose = lambda n: train_indices(n, self.frames, rng)  # noqa: E731
        else:
            choose = lambda n: eval_indices(n, self.frames)  # noqa: E731
        try:
            frames, _, _ = read_frames(path, choose)  # only the clip's frames are decoded and kept
        except VideoReadError as exc:
            log.warning("skipped: %s", exc)
            return None
        if not self.train:
            clip = eval_clip(frames, self.resolution, self.mean, self.std)
            return torch.from_numpy(clip), int(label)
        flip = self.flip_perm is not None and bool(rng.random() < 0.5)
        clip = train_clip(frames, self.resolution, self.mean, self.std, rng, flip)
        return torch.from_numpy(clip), int(self.flip_perm[label]) if flip else int(label)


def collate_skip(batch):
    """(clips (B, 3, T, R, R), labels (B,), skipped): the batch without its undecodable videos.

    When every video of a batch failed, clips and labels are empty tensors.
    """
    kept = [sample for sample in batch if sample is not None]
    skipped = len(batch) - len(kept)
    if not kept:
        return torch.empty(0), torch.empty(0, dtype=torch.long), skipped
    clips = torch.stack([clip for clip, _ in kept])
    labels = torch.tensor([label for _, label in kept], dtype=torch.long)
    return clips, labels, skipped
