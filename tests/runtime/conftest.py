"""Fixtures of the runtime tests; the material itself is in runtime_fixtures.py."""

from runtime_fixtures import make_video, tiny_models  # noqa: F401  (pytest fixtures)
