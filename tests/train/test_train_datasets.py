"""Class trees, list files, splits and the clip dataset."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from train_fixtures import index_video, level_to_index

from vmf.model import VmfError
from vmf.train.clips import eval_clip, eval_indices, train_clip, train_indices
from vmf.train.datasets import (
    DatasetError,
    VideoClipDataset,
    collate_skip,
    find_flip_map,
    find_videos,
    load_splits,
    read_list,
)
from vmf.train.video_io import read_video


def make_tree(root, counts: dict[str, int], ext: str = ".mp4"):
    """A class tree of empty placeholder files (listing needs no decodable video)."""
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for k in range(count):
            (root / name / f"{name}_{k}{ext}").write_bytes(b"")
    return root


# --------------------------------------------------------------------------- class trees


def test_folder_tree_sorted_classes(tmp_path):
    root = make_tree(tmp_path / "data", {"walk": 2, "jump": 1})
    (root / "walk" / "notes.txt").write_text("not a video")
    (root / "walk" / ".walk_9.partial.mp4").write_bytes(b"")  # a video being written
    (root / "walk" / "upper.MKV").write_bytes(b"")
    items, classes = find_videos(root)
    assert classes == ["jump", "walk"]
    assert [(p.name, label) for p, label in items] == [
        ("jump_0.mp4", 0),
        ("upper.MKV", 1),
        ("walk_0.mp4", 1),
        ("walk_1.mp4", 1),
    ]


def test_folder_tree_classes_txt_sets_the_order(tmp_path):
    root = make_tree(tmp_path / "data", {"a": 1, "b": 1, "c": 1})
    (root / "classes.txt").write_text("c\na\n\nb\n")
    items, classes = find_videos(root)
    assert classes == ["c", "a", "b"]
    assert {p.parent.name: label for p, label in items} == {"c": 0, "a": 1, "b": 2}


def test_folder_not_in_classes_txt_is_an_error(tmp_path):
    root = make_tree(tmp_path / "data", {"a": 1, "b": 1})
    (root / "classes.txt").write_text("a\n")
    with pytest.raises(DatasetError, match="not a class"):
        find_videos(root)


def test_empty_class_folder_is_named(tmp_path):
    root = make_tree(tmp_path / "data", {"a": 1, "empty_one": 0})
    with pytest.raises(DatasetError, match="empty_one") as info:
        find_videos(root)
    assert isinstance(info.value, VmfError) and "\n" not in str(info.value)


def test_missing_and_videoless_roots(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        find_videos(tmp_path / "nowhere")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "x.mp4").write_bytes(b"")
    with pytest.raises(DatasetError, match="no videos found"):
        find_videos(tmp_path / "flat")


# --------------------------------------------------------------------------- list files


def test_list_file_with_indices_and_relative_paths(tmp_path):
    make_tree(tmp_path / "videos", {"a": 2, "b": 1})
    lst = tmp_path / "train.txt"
    lst.write_text("# path label\nvideos/a/a_0.mp4 0\n\nvideos/a/a_1.mp4 0\nvideos/b/b_0.mp4 2\n")
    items, classes = read_list(lst)
    assert classes == ["class_0", "class_1", "class_2"]
    assert items[0] == (tmp_path / "videos" / "a" / "a_0.mp4", 0)
    assert [label for _, label in items] == [0, 0, 2]


def test_list_file_with_names_and_classes_txt(tmp_path):
    make_tree(tmp_path / "v", {"jump": 1, "walk": 1})
    (tmp_path / "classes.txt").write_text("walk\njump\n")
    lst = tmp_path / "train.txt"
    lst.write_text(f"v/jump/jump_0.mp4 jump\n{tmp_path}/v/walk/walk_0.mp4 walk\nv/jump/jump_0.mp4 0\n")
    items, classes = read_list(lst)
    assert classes == ["walk", "jump"]
    assert [label for _, label in items] == [1, 0, 0]
    assert items[1][0] == tmp_path / "v" / "walk" / "walk_0.mp4"


def test_list_file_with_names_only(tmp_path):
    make_tree(tmp_path / "v", {"x": 1})
    lst = tmp_path / "l.txt"
    lst.write_text("v/x/x_0.mp4 zeta\nv/x/x_0.mp4 alpha\n")
    items, classes = read_list(lst)
    assert classes == ["alpha", "zeta"]
    assert [label for _, label in items] == [1, 0]


def test_list_file_path_with_spaces(tmp_path):
    (tmp_path / "my videos").mkdir()
    (tmp_path / "my videos" / "a b.mp4").write_bytes(b"")
    lst = tmp_path / "l.txt"
    lst.write_text("my videos/a b.mp4 0\n")
    items, _ = read_list(lst)
    assert items == [(tmp_path / "my videos" / "a b.mp4", 0)]


@pytest.mark.parametrize("body, line", [("a.mp4 0\nlonely\n", 2), ("a.mp4 0\na.mp4 dog\n", 2)])
def test_list_file_bad_lines_name_file_and_line(tmp_path, body, line):
    (tmp_path / "a.mp4").write_bytes(b"")
    lst = tmp_path / "l.txt"
    lst.write_text(body)
    with pytest.raises(DatasetError, match=rf"l\.txt:{line}:"):
        read_list(lst)


def test_list_file_unknown_label_with_known_classes(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"")
    lst = tmp_path / "l.txt"
    lst.write_text("a.mp4 0\na.mp4 7\n")
    with pytest.raises(DatasetError, match=r"l\.txt:2:"):
        read_list(lst, classes=["x", "y"])


def test_list_file_where_nothing_exists(tmp_path, caplog):
    lst = tmp_path / "l.txt"
    lst.write_text("gone.mp4 0\n")
    with pytest.raises(DatasetError, match="none of the 1 videos"):
        read_list(lst)
    (tmp_path / "here.mp4").write_bytes(b"")
    lst.write_text("gone.mp4 0\nhere.mp4 0\n")
    with caplog.at_level(logging.WARNING):
        items, _ = read_list(lst)
    assert len(items) == 2 and "1 of 2 videos" in caplog.text


# --------------------------------------------------------------------------- splits


def test_train_val_folders_share_labels_by_name(tmp_path):
    make_tree(tmp_path / "d" / "train", {"a": 2, "b": 2, "c": 1})
    make_tree(tmp_path / "d" / "val", {"c": 1, "b": 1})  # fewer classes, another order
    splits = load_splits(tmp_path / "d")
    assert splits.classes == ["a", "b", "c"]
    assert len(splits.train) == 5
    assert sorted((p.parent.name, label) for p, label in splits.val) == [("b", 1), ("c", 2)]


def test_val_class_unknown_to_train_is_an_error(tmp_path):
    make_tree(tmp_path / "d" / "train", {"a": 1})
    make_tree(tmp_path / "d" / "val", {"a": 1, "zebra": 1})
    with pytest.raises(DatasetError, match="zebra"):
        load_splits(tmp_path / "d")


def test_val_list_file_uses_train_classes(tmp_path):
    root = make_tree(tmp_path / "tree", {"a": 1, "b": 1})
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "v.mp4").write_bytes(b"")
    val = tmp_path / "val" / "val.txt"
    val.write_text("v.mp4 b\nv.mp4 0\n")
    splits = load_splits(root, val=val)
    assert splits.classes == ["a", "b"]
    assert [label for _, label in splits.val] == [1, 0]


def test_list_file_data_with_val_folder(tmp_path):
    tree = make_tree(tmp_path / "tree", {"a": 1, "b": 1})
    (tmp_path / "classes.txt").write_text("b\na\n")
    lst = tmp_path / "train.txt"
    lst.write_text("tree/a/a_0.mp4 a\ntree/b/b_0.mp4 b\n")
    splits = load_splits(lst, val=tree)
    assert splits.classes == ["b", "a"]
    assert sorted((p.parent.name, label) for p, label in splits.val) == [("a", 1), ("b", 0)]


def test_val_split_is_per_class_and_deterministic(tmp_path):
    root = make_tree(tmp_path / "d", {"a": 10, "b": 5, "c": 1})
    first = load_splits(root, val_split=0.2, seed=3)
    again = load_splits(root, val_split=0.2, seed=3)
    assert first == again
    held = [label for _, label in first.val]
    assert held.count(0) == 2 and held.count(1) == 1 and held.count(2) == 0  # c keeps its only video
    assert len(first.train) + len(first.val) == 16
    assert not {p for p, _ in first.train} & {p for p, _ in first.val}
    others = {load_splits(root, val_split=0.2, seed=s).val[0][0] for s in range(8)}
    assert len(others) > 1  # the seed chooses which videos are held out


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, 1.5])
def test_val_split_out_of_range(tmp_path, fraction):
    root = make_tree(tmp_path / "d", {"a": 2})
    with pytest.raises(DatasetError, match="between 0 and 1"):
        load_splits(root, val_split=fraction)


def test_missing_data_path_and_conflicting_val(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_splits(tmp_path / "absent")
    root = make_tree(tmp_path / "d", {"a": 2})
    with pytest.raises(DatasetError, match="not both"):
        load_splits(root, val=root, val_split=0.5)


def test_flip_map_file_is_found(tmp_path):
    root = make_tree(tmp_path / "d", {"a": 1})
    assert find_flip_map(root) is None
    (root / "flip_map.txt").write_text("left:right\n")
    assert find_flip_map(root) == "left:right"


# --------------------------------------------------------------------------- clips

MEAN, STD = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)  # clip values = pixel / 255: levels readable


def _levels(clip: torch.Tensor) -> np.ndarray:
    """Per-frame grey level of the right edge (index-coding) of an unmirrored (3, T, R, R) clip."""
    right = clip[0, :, :, -4:].numpy()
    return right.reshape(right.shape[0], -1).mean(1) * 255


def _dataset(video_file, train: bool, flip_perm=None, seed: int = 0, frames: int = 4):
    path = video_file("v/a/clip.mp4", index_video(16))
    return VideoClipDataset(
        [(path, 0)], ["a", "b"], frames, 24, MEAN, STD, train=train, flip_perm=flip_perm, seed=seed
    )


def test_eval_clip_covers_the_whole_video(video_file):
    data = _dataset(video_file, train=False, frames=4)
    clip, label = data[0]
    assert clip.shape == (3, 4, 24, 24) and clip.dtype == torch.float32 and label == 0
    indices = [level_to_index(v) for v in _levels(clip)]
    assert indices == eval_indices(16, 4).tolist()
    assert indices[0] <= 16 // 4 and indices[-1] >= 16 - 1 - 16 // 4
    assert indices == sorted(indices)


def test_train_clips_are_reproducible_and_change_with_the_epoch(video_file):
    data = _dataset(video_file, train=True)
    data.set_epoch(0)
    first, _ = data[0]
    again, _ = data[0]
    data.set_epoch(1)
    later, _ = data[0]
    assert torch.equal(first, again)
    assert not torch.equal(first, later)
    indices = [level_to_index(v) for v in _levels(first)]
    assert indices == sorted(indices)  # time runs forwards in every clip


def test_flip_swaps_the_label_and_mirrors_the_clip(video_file):
    outcomes = set()
    for seed in range(24):
        data = _dataset(video_file, train=True, flip_perm=np.array([1, 0]), seed=seed)
        clip, label = data[0]
        half = clip.shape[-1] // 2
        mirrored = bool(clip[0, :, :, :half].mean() > clip[0, :, :, half:].mean())  # band moved right
        assert label == (1 if mirrored else 0)
        outcomes.add(label)
    assert outcomes == {0, 1}


def test_no_flip_without_a_flip_map(video_file):
    for seed in range(8):
        clip, label = _dataset(video_file, train=True, seed=seed)[0]
        assert label == 0
        half = clip.shape[-1] // 2
        assert clip[0, :, :, :half].mean() < clip[0, :, :, half:].mean()


def test_items_equal_clips_of_the_whole_decoded_video(video_file):
    """Decoding only the chosen frames changes nothing: same clips as from every frame."""
    path = video_file("v/a/clip.mp4", index_video(16))
    video, _ = read_video(path)
    clip, _ = VideoClipDataset([(path, 0)], ["a"], 5, 24, MEAN, STD, train=False)[0]
    assert torch.equal(clip, torch.from_numpy(eval_clip(video[eval_indices(16, 5)], 24, MEAN, STD)))
    data = VideoClipDataset(
        [(path, 0)], ["a", "b"], 5, 24, MEAN, STD, train=True, flip_perm=np.array([1, 0]), seed=3
    )
    data.set_epoch(2)
    clip, label = data[0]
    rng = np.random.default_rng([3, 2, 0])
    indices = train_indices(16, 5, rng)
    flip = bool(rng.random() < 0.5)
    expected = train_clip(video[indices], 24, MEAN, STD, rng, flip)
    assert torch.equal(clip, torch.from_numpy(expected)) and label == (1 if flip else 0)


def test_undecodable_video_is_skipped(tmp_path, video_file, caplog):
    good = video_file("good.mp4", index_video(8))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage" * 10)
    data = VideoClipDataset([(good, 0), (bad, 1)], ["a", "b"], 4, 16, MEAN, STD, train=True)
    with caplog.at_level(logging.WARNING):
        assert data[1] is None
    assert "bad.mp4" in caplog.text
    clips, labels, skipped = collate_skip([data[0], data[1], data[0]])
    assert clips.shape == (2, 3, 4, 16, 16)
    assert labels.tolist() == [0, 0] and skipped == 1
    clips, labels, skipped = collate_skip([None, None])
    assert len(labels) == 0 and skipped == 2
