"""Class names, re-exported from ``vmf.contract.labels`` where they are defined.

Keeps ``from vmf.export.labels import load_labels`` working; the labels (and
the Kinetics-400 list) live in the torch-free contract package, which the
runtime reads too.
"""

from vmf.contract.labels import KINETICS400_FILE, kinetics400, load_labels, read_labels

__all__ = ["KINETICS400_FILE", "kinetics400", "load_labels", "read_labels"]
