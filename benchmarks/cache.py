"""The benchmark's artifact cache: export once, time many times.

Exports are slow (an int8 TFLite export calibrates; onnx2tf runs TensorFlow),
and a benchmark is re-run often, so every artifact is kept in a folder named
by everything that changes its bytes: the model (variant, baseline), its form,
the clip (frames, resolution), the target format, precision and converter, the
project's version (a new release may export differently) and the versions of
the converters and runtimes an export goes through (``tools_fingerprint``: a new
onnx2tf or ONNX Runtime may convert or quantise differently). A folder is
only ever visible complete: it is produced under a temporary name in the
cache and renamed into place once the producer returned, and its manifest
(``entry.json``) is written last, so an interrupted export is never reused.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from vmf.model import VmfError
from vmf.model.files import normalise_mode

from .reference import model_name

MANIFEST = "entry.json"


def project_version() -> str:
    """``importlib.metadata.version("vmf")`` plus ``+src.<hash>`` of what shapes an export."""
    try:
        version = importlib.metadata.version("vmf")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree, not installed
        version = "unknown"
    return f"{version}+src.{source_fingerprint()}"


@functools.lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """Hash of the ``vmf.model`` and ``vmf.export`` sources and the X3D builder (12 hex digits)."""
    import vmf.export
    import vmf.model

    files = [
        *Path(vmf.model.__file__).parent.glob("*.py"),
        *Path(vmf.export.__file__).parent.glob("*.py"),
        *Path(__file__).parent.glob("x3d*.py"),
    ]
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: (p.parent.name, p.name)):
        digest.update(f"{path.parent.name}/{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def tools_fingerprint() -> str:
    """Hash of the installed versions of every converter and runtime an export may use (8 hex digits).

    The packages are the ones a model card records (``vmf.export.metadata.versions``).
    """
    from vmf.export.metadata import versions

    text = json.dumps(versions(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def default_cache_dir() -> Path:
    """``$VMF_BENCH_CACHE``, else ``$XDG_CACHE_HOME/vmf/bench`` (``~/.cache/vmf/bench``)."""
    if os.environ.get("VMF_BENCH_CACHE"):
        return Path(os.environ["VMF_BENCH_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vmf" / "bench"


@dataclass(frozen=True)
class CacheKey:
    """Everything an exported artifact's bytes depend on."""

    variant: str
    baseline: bool
    form: str  # "deployable", "naive" or "reference" (PyTorch checkpoint)
    frames: int
    resolution: int
    target: str  # "onnx", "tflite", "coreml", "checkpoint"
    precision: str
    converter: str  # "-" where the target has a single converter
    version: str
    tools: str = "-"  # tools_fingerprint(): the converters' and runtimes' versions

    def folder(self) -> str:
        model = model_name(self.variant, self.baseline).lower()
        return (
            f"{model}_{self.form}_{self.frames}x{self.resolution}_{self.target}_"
            f"{self.precision}_{self.converter}_tools-{self.tools}"
        ).replace(os.sep, "-")


@dataclass(frozen=True)
class CachedArtifact:
    path: Path  # the model file (or .mlpackage folder) inside the entry
    hit: bool  # True when it came from an earlier run


class ArtifactCache:
    """``fetch(key, produce)``: the cached artifact, or ``produce(folder)``'s result, kept."""

    def __init__(self, root: "str | os.PathLike"):
        self.root = Path(root).expanduser()

    def entry_dir(self, key: CacheKey) -> Path:
        return self.root / key.version / key.folder()

    def lookup(self, key: CacheKey) -> Path | None:
        entry = self.entry_dir(key)
        try:
            manifest = json.loads((entry / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        path = entry / manifest.get("artifact", "")
        if manifest.get("key") != _plain(key) or not manifest.get("artifact") or not path.exists():
            return None
        return path

    def fetch(self, key: CacheKey, produce: Callable[[Path], Path]) -> CachedArtifact:
        """Return the artifact for ``key``; on a miss ``produce(tmp_folder)`` makes it.

        ``produce`` writes into the empty folder it is given and returns the
        artifact's path inside it; it raises (a ``VmfError`` for a user-facing
        reason) to fail, and then nothing is kept.
        """
        found = self.lookup(key)
        if found is not None:
            return CachedArtifact(found, hit=True)
        entry = self.entry_dir(key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".tmp", dir=entry.parent))
        try:
            artifact = Path(produce(tmp))
            try:
                relative = artifact.resolve().relative_to(tmp.resolve())
            except ValueError:
                raise VmfError(f"the exporter wrote {artifact} outside the cache folder") from None
            if not artifact.exists():
                raise VmfError(f"the exporter reported {artifact.name} but did not write it")
            (tmp / MANIFEST).write_text(
                json.dumps({"key": _plain(key), "artifact": relative.as_posix()}, indent=2) + "\n"
            )
            normalise_mode(tmp, directory=True)  # mkdtemp made it 0700
            if entry.exists():  # a stale or broken entry (lookup refused it): replace it
                shutil.rmtree(entry)
            os.replace(tmp, entry)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return CachedArtifact(entry / relative, hit=False)


def _plain(key: CacheKey) -> dict:
    return asdict(key)
