"""int8 calibration from a labelled class-folder tree: uniform clips, labels, top-1 in the report."""

import numpy as np
import pytest

from vmf.contract.sampling import uniform_indices
from vmf.export.calibration import calibration_sets, class_tree, held_out_mask, labelled_clips
from vmf.model import MEAN, STD, VmfError

cv2 = pytest.importorskip("cv2")
write_video = pytest.importorskip("vmf.train.video_io").write_video

FRAMES, RES = 4, 16


def level(k: int) -> int:
    return 10 + 15 * k  # frame k of an index video is this grey level


def index_video(path, count: int, size: int = 32):
    """A grey video whose frame k has level 10 + 15 k: a clip's pixels tell its frame indices."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.stack([np.full((size, size, 3), level(k), np.uint8) for k in range(count)])
    return write_video(path, frames, 12.0)


def frame_indices(clip: np.ndarray) -> list[int]:
    """The frame index of each slot of a preprocessed TCHW clip of an index video."""
    grey = clip[:, 0, RES // 2, RES // 2] * STD[0] + MEAN[0]  # back to [0, 1], channel R
    return [int(round((g * 255 - 10) / 15)) for g in grey]


# Frame count per class: a clip's indices then also say which class it came from.
LENGTHS = {"a": 16, "b": 13, "c": 9}


@pytest.fixture
def labelled(tmp_path):
    root = tmp_path / "data"
    for name, count in LENGTHS.items():
        for v in range(2 if name != "c" else 1):
            index_video(root / name / f"{name}{v}.mp4", count)
    (root / "classes.txt").write_text("c\nb\na\n")  # the order classes take turns in
    return root


def test_labelled_folder_one_uniform_clip_per_video_from_every_class(labelled):
    (labelled / "a" / "broken.mp4").write_bytes(b"not a video")
    model_labels = ["x", "a", "b", "c"]  # folder names map to these by name
    warnings = []
    calib, held, source, held_labels = calibration_sets(
        FRAMES, RES, labelled, labels=model_labels, warn=warnings.append
    )
    assert len(calib) + len(held) == 5 and len(held) == 1  # one clip per readable video
    assert any("broken.mp4" in w for w in warnings)
    assert "5 labelled clips" in source and str(labelled) in source
    # Held out from the first class (in classes.txt order) that keeps a clip to calibrate on.
    assert held_labels.tolist() == [model_labels.index("b")]
    assert frame_indices(held[0]) == uniform_indices(LENGTHS["b"], FRAMES).tolist()
    seen = {tuple(frame_indices(c)) for c in calib}
    expected = {name: tuple(uniform_indices(n, FRAMES).tolist()) for name, n in LENGTHS.items()}
    assert seen == set(expected.values())  # every class calibrates; uniform, not consecutive
    assert expected["a"] == (2, 6, 10, 14) and expected["c"] == (1, 3, 5, 7)
    # The clip is the runtime's preprocessing of exactly those frames.
    capture = cv2.VideoCapture(str(labelled / "c" / "c0.mp4"))
    frames = [capture.read()[1] for _ in range(LENGTHS["c"])]
    capture.release()
    clips, labels = labelled_clips(class_tree(labelled), [3, 2, 1], FRAMES, RES, warn=lambda m: None)
    assert labels.tolist() == [3, 2, 1, 2, 1]  # round-robin over c, b, a
    from vmf.contract.preprocess import FramePreprocessor

    slot = FramePreprocessor(RES, MEAN, STD, "TCHW")
    for t, k in enumerate(expected["c"]):
        np.testing.assert_allclose(clips[0, t], slot(frames[k]), atol=1e-6)


def test_val_split_preferred_and_sorted_names_without_classes_txt(tmp_path):
    for split in ("train", "val"):
        for name in ("b", "a"):
            for v in range(2):
                index_video(tmp_path / split / name / f"{v}.mp4", 16 if split == "val" else 8)
    tree = class_tree(tmp_path)
    assert [name for name, _ in tree] == ["a", "b"] and tree[0][1] == tmp_path / "val" / "a"
    calib, held, source, held_labels = calibration_sets(
        FRAMES, RES, tmp_path, labels=["b", "a"], warn=pytest.fail
    )
    assert str(tmp_path / "val") in source and held_labels.tolist() == [1]  # "a" is label 1
    assert all(frame_indices(c) == [2, 6, 10, 14] for c in np.concatenate([calib, held]))


def test_held_out_clips_are_spread_over_the_classes():
    labels = np.array([0, 1, 2] * 4)
    mask = held_out_mask(labels, 3)
    assert sorted(labels[mask].tolist()) == [0, 1, 2]
    lopsided = np.array([0, 0, 0, 0, 0, 1])  # class 1 keeps its only clip to calibrate on
    assert lopsided[held_out_mask(lopsided, 2)].tolist() == [0, 0]
    singles = np.array([0, 1, 2, 3])
    assert held_out_mask(singles, 1).tolist() == [True, False, False, False]


def test_a_class_the_model_does_not_know_is_one_clear_error(labelled):
    with pytest.raises(VmfError, match=r"class folder 'c' is not one of the model's 3 labels \(x, a, b\)"):
        calibration_sets(FRAMES, RES, labelled, labels=["x", "a", "b"], warn=lambda m: None)


def test_a_flat_folder_stays_flat(tmp_path):
    for v in range(2):
        index_video(tmp_path / f"{v}.mp4", 16)
    index_video(tmp_path / "sub" / "0.mp4", 16)  # videos beside a class folder: still flat
    warnings = []
    assert class_tree(tmp_path, warn=warnings.append) is None and "without labels" in warnings[0]
    (tmp_path / "sub" / "0.mp4").unlink()
    assert class_tree(tmp_path, warn=pytest.fail) is None
    calib, held, source, held_labels = calibration_sets(FRAMES, RES, tmp_path, warn=pytest.fail)
    assert held_labels is None and len(calib) + len(held) == 8  # 4 consecutive clips a video
    assert frame_indices(calib[0]) == [0, 1, 2, 3]


def test_int8_onnx_export_reports_top1_on_labelled_held_out_clips(tmp_path):
    import torch

    from vmf.contract.card import read_sidecar
    from vmf.export import api, export

    classes = ["left", "right", "still"]
    data = tmp_path / "data"
    rng = np.random.default_rng(3)
    for c, name in enumerate(classes):
        for v in range(4):
            base = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
            shift = (-3, 3, 0)[c]
            frames = np.stack([np.roll(base, shift * f, axis=1) for f in range(12)])
            (data / name).mkdir(parents=True, exist_ok=True)
            write_video(data / name / f"{v}.mp4", frames, 12.0)
    labels_file = tmp_path / "labels.txt"
    labels_file.write_text("still\nleft\nright\n")  # model order differs from folder order
    lines = []
    report = export(
        "560M",
        targets=("onnx",),
        precisions=("int8",),
        frames=8,
        resolution=64,
        num_classes=3,
        labels=labels_file,
        calibration=data,
        out_dir=tmp_path / "out",
        log=lines.append,
        warn=lines.append,
    )
    parity = read_sidecar(report.artifacts[0].path)["parity"]  # the sidecar validates with them
    assert parity == report.artifacts[0].parity and parity["passed"]
    assert parity["metric"] == "cosine_median" and parity["labelled_clips"] == parity["clips"] == 3
    assert 0.0 <= parity["top1_int8"] <= 1.0 and str(data) in parity["heldout"]
    assert any("top-1 accuracy int8" in line and "labelled clips" in line for line in lines)
    # top1_fp32 is the reference model's accuracy on those held-out clips, labels by name.
    model_labels = ["still", "left", "right"]
    _, held, _, held_labels = calibration_sets(8, 64, data, labels=model_labels, warn=pytest.fail)
    assert sorted(model_labels[i] for i in held_labels) == sorted(classes)  # one per class
    model, _ = api.load_model("560M", None, False, 3, warn=lambda m: None)
    with torch.no_grad():
        refs = np.concatenate([model(torch.from_numpy(c).permute(1, 0, 2, 3)[None]).numpy() for c in held])
    assert parity["top1_fp32"] == pytest.approx(float(np.mean(refs.argmax(1) == held_labels)))
