"""Labels: Kinetics-400 by default, a user's file with --labels, never misaligned."""

from pathlib import Path

import pytest

import vmf.contract
from vmf.contract.labels import kinetics400, load_labels
from vmf.model import VmfError


def test_kinetics400_is_the_official_alphabetical_list():
    labels = kinetics400()
    assert len(labels) == 400 == len(set(labels))
    assert labels[0] == "abseiling" and labels[-1] == "zumba"
    assert labels == sorted(labels, key=str.lower)
    assert "playing guitar" in labels and "passing American football (in game)" in labels


def test_default_labels_follow_the_class_count():
    # 400 classes: the packaged Kinetics-400 file, line by line, read here without vmf's reader
    packaged = Path(vmf.contract.__file__).with_name("kinetics400_labels.txt").read_text()
    lines = packaged.splitlines()
    assert load_labels(400) == lines and len(lines) == 400 and all(x == x.strip() != "" for x in lines)
    assert load_labels(400)[155] == lines[155]  # no off-by-one: index i names output i
    assert load_labels(3) == ["class_0", "class_1", "class_2"]  # any other count: generic names


def test_labels_file_overrides_and_must_match_the_class_count(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("cat\n dog \n\nbird\n")
    assert load_labels(3, path) == ["cat", "dog", "bird"]
    with pytest.raises(VmfError, match="3 names but the model has 400 classes"):
        load_labels(400, path)
    with pytest.raises(VmfError, match="cannot read labels file"):
        load_labels(3, tmp_path / "missing.txt")
