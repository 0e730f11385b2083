"""The one wrapper every export step runs in.

It logs a start line and a result line (time, size, path, parity figure),
builds the artifact under a temporary name in the destination folder, and
only when the build, the checks and the metadata all succeeded embeds the
metadata and publishes the artifact with its sidecar (``vmf.model.files.
publish_pair``: the card lands first, so even ``kill -9`` between the two
renames never leaves an artifact beside no card or another export's card).
On any error, Ctrl-C or SIGTERM the temporary file (or ``.mlpackage``
folder) is removed, so ``--out`` never holds a half-written artifact.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from vmf.model import VmfError

from .metadata import embed
from .parity import describe
from vmf.model.files import remove, scratch_path, terminate_cleanly

from .sidecar import publish_with_card, sidecar_path, validate_sidecar


@dataclass
class Artifact:
    """One exported file and what was measured on it."""

    target: str
    precision: str
    converter: str | None
    form: str
    path: Path
    sidecar: Path
    size_mb: float
    parity: dict
    seconds: float
    lint: dict | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"], d["sidecar"] = str(self.path), str(self.sidecar)
        return d


def temporary_path(final: Path) -> Path:
    """A hidden sibling of ``final`` with the same suffix (tools check suffixes)."""
    return scratch_path(final)


def size_mb(path: Path) -> float:
    if path.is_dir():
        total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    else:
        total = path.stat().st_size
    return total / 1e6


def run_step(
    what: str,
    final: Path,
    build: Callable[[Path], dict],
    *,
    log: Callable[[str], None],
    target: str,
    precision: str,
    converter: str | None,
    form: str,
) -> Artifact:
    """Build ``final`` through ``build(temporary_path) -> metadata`` and publish it atomically."""
    tmp = temporary_path(final)
    log(f"{what}: exporting {final.name} ...")
    start = time.perf_counter()
    made_folder = not final.parent.exists()
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        with terminate_cleanly():
            meta = build(tmp)
            if not tmp.exists() or size_mb(tmp) == 0:
                raise VmfError(f"{what}: the converter wrote an empty {final.suffix} file")
            validate_sidecar(meta, f"metadata of {final.name}")
            embed(tmp, meta)
            publish_with_card(tmp, final, meta)  # the card lands first
    except BaseException:
        remove(tmp)
        if made_folder and not any(final.parent.iterdir()):
            final.parent.rmdir()
        log(f"{what}: FAILED after {time.perf_counter() - start:.1f} s")
        raise
    seconds = time.perf_counter() - start
    size = size_mb(final)
    lint = meta.get("lint")
    lint_note = f", {lint['ops']} ops, max rank {lint['max_rank']}" if lint else ""
    log(f"{what}: {final} ({size:.1f} MB) in {seconds:.1f} s; {describe(meta['parity'])}{lint_note}")
    return Artifact(
        target,
        precision,
        converter,
        form,
        final,
        sidecar_path(final),
        round(size, 3),
        meta["parity"],
        round(seconds, 2),
        lint,
    )
