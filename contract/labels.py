"""Class names: the ``labels`` of every model card, and the files they are read from.

The default is the Kinetics-400 list (the paper's training set, §4), in the
official alphabetical order that Kinetics-400 class indices follow; a user's
own list (one name a line) replaces it with ``--labels FILE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import VmfError

KINETICS400_FILE = Path(__file__).with_name("kinetics400_labels.txt")


def read_labels(path: "str | os.PathLike") -> list[str]:
    """One class name per non-empty line (surrounding whitespace stripped)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VmfError(f"cannot read labels file {path} ({exc.__class__.__name__})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def load_labels(num_classes: int, path: "str | os.PathLike | None" = None) -> list[str]:
    """Labels for a ``num_classes``-way classifier: ``path``'s, else Kinetics-400's.

    Without a file, a model with another class count gets ``class_0 ...``
    placeholders (Kinetics names would be wrong for it). A file whose line count
    differs from ``num_classes`` is refused: the indices would not line up.
    """
    if path is None:
        if num_classes == len(kinetics400()):
            return kinetics400()
        return [f"class_{i}" for i in range(num_classes)]
    labels = read_labels(path)
    if len(labels) != num_classes:
        raise VmfError(f"labels file {path} has {len(labels)} names but the model has {num_classes} classes")
    return labels


def kinetics400() -> list[str]:
    return read_labels(KINETICS400_FILE)
