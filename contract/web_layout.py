"""The layout of a web export (``vmf-export --target web``), read by everything that touches one.

A web export is a folder that any static host can serve: the page
(``index.html``, ``app/``), the ONNX Runtime Web files its providers need
(``ort/``), the model with its card and the exporter's parity clip
(``model/``), and the response headers a host must send (``_headers``).
The exporter writes it (``vmf.export.web``), ``vmf-serve`` serves it
(``vmf.runtime.serve``) and the ONNX Runtime backend runs its model; the page
reads the same names. Cross-origin isolation (COOP + COEP) is what lets the
browser hand WASM threads a ``SharedArrayBuffer``; docs/web.md says how to host one.
Torch-free, like the whole contract.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .card import validate_sidecar
from .errors import VmfError

TARGET = "web"  # the record in vmf.contract.targets whose artifacts have this layout
INDEX = "index.html"
APP_DIR = "app"
ORT_DIR = "ort"
MODEL_FILE = "model/model.onnx"
CARD_FILE = "model/card.json"
PARITY_CLIP = "model/parity.bin"  # float32 little-endian, the card's input_shape and layout
PARITY_FILE = "model/parity.json"  # {"shape", "layout", "logits", "tolerance", "metric"}
HEADERS_FILE = "_headers"

# Sent with every response of a web export: COOP + COEP make the page cross-origin
# isolated (SharedArrayBuffer, hence WASM threads); CORP marks the files same-origin only.
ISOLATION_HEADERS = (
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
# Content types by suffix; anything else (the model, the parity clip) is opaque bytes.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",  # WebAssembly.instantiateStreaming refuses any other type
    ".json": "application/json",
    ".map": "application/json",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Static hosts guess some types from their own tables; these two must be right for the page to start.
DECLARED_TYPES = (".wasm", ".mjs")


def content_type(name: "str | os.PathLike") -> str:
    """The Content-Type a web export's file is served with (by its suffix)."""
    return CONTENT_TYPES.get(Path(name).suffix.lower(), DEFAULT_CONTENT_TYPE)


def headers_text() -> str:
    """The ``_headers`` file (Netlify and Cloudflare Pages format): isolation on every path."""
    lines = [
        "# Cross-origin isolation for WASM threads and the types the page needs (docs/web.md).",
        "/*",
        *(f"  {name}: {value}" for name, value in ISOLATION_HEADERS),
    ]
    for suffix in DECLARED_TYPES:
        lines += ["", f"/*{suffix}", f"  Content-Type: {CONTENT_TYPES[suffix]}"]
    return "\n".join(lines) + "\n"


def model_file(path: "str | os.PathLike") -> Path:
    """The ONNX inside a web export folder; any other path as it is."""
    path = Path(path)
    return path / MODEL_FILE if path.is_dir() and (path / MODEL_FILE).is_file() else path


def site_of(path: "str | os.PathLike") -> "Path | None":
    """The web export ``path`` is, or whose ``model/model.onnx`` it is; None for anything else.

    So a site runs outside the browser (``vmf-stream --model site`` or
    ``--model site/model/model.onnx``) with the card the page reads, wherever the site
    was copied to (the card beside an export folder may not have come with it).
    """
    path = Path(path)
    if path.is_dir():
        return path if (path / CARD_FILE).is_file() else None
    site = path.parents[1] if len(path.parents) > 1 else None
    if site is not None and site / MODEL_FILE == path and (site / CARD_FILE).is_file():
        return site
    return None


def read_site_card(folder: "str | os.PathLike") -> dict:
    """The validated card of the web export ``folder``; one clear ``VmfError`` if it is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VmfError(f"{folder}: no such folder")
    card_path = folder / CARD_FILE
    hint = f"make one with vmf-export --target {TARGET}"
    if not card_path.is_file():
        raise VmfError(f"{folder} is not a web export (no {CARD_FILE}; {hint})")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VmfError(f"{card_path} is not valid JSON ({exc})") from None
    validate_sidecar(card, str(card_path))
    if card.get("target") != TARGET:
        raise VmfError(f"{folder} is not a web export ({CARD_FILE} is a {card.get('target')!r} card; {hint})")
    return card
