"""Suite-wide: every model card the suite writes is checked against docs/model-card.schema.json.

Cards are written in one place (``vmf.export.sidecar.card_text``, reached from
``write_sidecar`` and ``publish_with_card``: the exporter, the X3D benchmark
export, the fakes), so wrapping it sees every card of every test, real
exports included, and a card that the schema file refuses fails the test
that wrote it. The file is read from disk, not from ``json_schema()``, so a
code change that the published schema does not describe is caught too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmf.export import sidecar

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "model-card.schema.json"
CHECKED_CARDS: list[str] = []  # variants of the cards checked, for the suite's own test


@pytest.fixture(autouse=True, scope="session")
def every_card_matches_the_published_schema():
    schema = json.loads(SCHEMA_FILE.read_text())
    original = sidecar.card_text

    def checked(meta: dict) -> str:
        problems = sidecar.schema_errors(meta, schema)
        assert not problems, f"a card vmf wrote breaks {SCHEMA_FILE.name}: {problems}"
        CHECKED_CARDS.append(str(meta.get("variant")))
        return original(meta)

    sidecar.card_text = checked
    yield
    sidecar.card_text = original
