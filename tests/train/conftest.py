"""Fixtures of the training-data tests; the material itself is in train_fixtures.py."""

from train_fixtures import video_file  # noqa: F401  (pytest fixture)
