"""Writing the model card beside an artifact (``<stem>.json``); the card itself is ``vmf.contract.card``.

The card's definition, schema, validation and reading live in the torch-free
contract package, which the runtime and the Android core follow too; what only
the exporter does lives here: the file's text, and writing it (alone, or
published together with its artifact) atomically. The contract's names are
re-exported, so ``from vmf.export.sidecar import read_sidecar`` keeps working.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from vmf.contract.card import (  # noqa: F401  (re-exported: the card as the exporter's users know it)
    CARD_KEYS,
    INPUT_NAME,
    LAYOUTS,
    OUTPUT_NAME,
    REQUIRED_KEYS,
    SCHEMA_ID,
    SIDECAR_VERSION,
    CardKey,
    input_shape,
    json_schema,
    make_card,
    read_sidecar,
    schema_errors,
    sidecar_path,
    validate_sidecar,
)


def card_text(meta: dict) -> str:
    """The sidecar file's text: indented JSON and a newline."""
    return json.dumps(meta, indent=2) + "\n"


def write_sidecar(artifact: "str | os.PathLike", meta: dict) -> Path:
    """Validate and write ``<stem>.json`` atomically (``vmf.model.files``)."""
    from vmf.model.files import write_text

    path = sidecar_path(artifact)
    validate_sidecar(meta, str(path))
    return write_text(path, card_text(meta))


def publish_with_card(tmp: Path, artifact: Path, meta: dict) -> Path:
    """Publish the finished ``tmp`` as ``artifact`` with its card (``vmf.model.files.publish_pair``)."""
    from vmf.model.files import publish_pair

    card = sidecar_path(artifact)
    validate_sidecar(meta, str(card))
    publish_pair(Path(tmp), Path(artifact), card_text(meta), card)
    return card
