"""The one way vmf writes a file: under a hidden scratch name, then renamed into place.

Every file vmf produces (checkpoints, model cards, exported models, CSV, plots,
videos) goes through ``atomic_path``: a reader sees the old file or the new
one, never half of one. The scratch name is a sibling of the destination (same
file system, so the rename is atomic) and keeps the destination's suffix,
because converters and savers pick the format from it.

Permissions are those of an ordinary file: the scratch file is created the way
``open()`` creates one, so the process umask applies (``tempfile.mkstemp``
would make it readable by its owner only). SIGTERM is turned into an exception
while a write is in progress, so the scratch file is removed on ``kill`` as it
is on Ctrl-C; only ``kill -9`` can leave a hidden ``.partial`` file, which is
never mistaken for the real one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterator

PARTIAL = ".partial"  # marks scratch names: ``.<stem>.<8 hex>.partial<suffix>``


def current_umask() -> int:
    """The process umask (reading it means setting it; restored at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def ordinary_mode(directory: bool = False) -> int:
    """0644 for a file (0755 for a folder) under the usual umask 022."""
    return (0o777 if directory else 0o666) & ~current_umask()


def scratch_path(final: "str | os.PathLike") -> Path:
    """A hidden sibling of ``final`` with the same suffix (tools choose formats by suffix)."""
    final = Path(final)
    return final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}{PARTIAL}{final.suffix}")


def remove(path: "str | os.PathLike") -> None:
    """Remove a file or a folder tree; nothing if it is not there."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM while a write is in progress."""


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM into ``Terminated`` for the block, so ``finally`` clauses run.

    Only where Python lets us (the main thread) and only if nobody else set a
    handler; the previous handler is restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        raise Terminated(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_path(final: "str | os.PathLike", *, directory: bool = False) -> Iterator[Path]:
    """``with atomic_path(p) as tmp: write(tmp)``; ``p`` appears only if the block succeeds.

    The block creates ``tmp`` itself (any writer that takes a path: ``torch.save``,
    ``fig.savefig``, a converter); ``directory=True`` for a folder (``.mlpackage``).
    An existing ``final`` is replaced. On any exception, SIGINT or SIGTERM the
    scratch file is removed and ``final`` is left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_path(final)
    with terminate_cleanly():
        try:
            yield tmp
            if not tmp.exists():
                raise FileNotFoundError(f"the writer did not create {final.name}")
            normalise_mode(tmp, directory=tmp.is_dir())
            replace(tmp, final)
        finally:
            remove(tmp)


def normalise_mode(path: Path, directory: bool = False) -> None:
    """Give ``path`` (and a folder's contents) ordinary permissions under the umask.

    Writers that use ``mkstemp``/``mkdtemp`` internally leave 0600/0700 behind.
    """
    path.chmod(ordinary_mode(directory))
    if directory:
        for root, dirs, files in os.walk(path):
            for d in dirs:
                os.chmod(os.path.join(root, d), ordinary_mode(True))
            for f in files:
                os.chmod(os.path.join(root, f), ordinary_mode(False))


def replace(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` over ``final``; a folder is first moved aside (rename cannot replace one)."""
    if final.is_dir() and not final.is_symlink():
        aside = scratch_path(final)
        os.replace(final, aside)
        try:
            os.replace(tmp, final)
        finally:
            remove(aside)
    else:
        os.replace(tmp, final)


def write_bytes(path: "str | os.PathLike", data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, with ordinary permissions."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: "str | os.PathLike", text: str, newline: "str | None" = None) -> Path:
    """Write ``text`` to ``path`` atomically, with ordinary permissions."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline=newline) as f:
            f.write(text)
    return Path(path)


def write_json(path: "str | os.PathLike", obj) -> Path:
    """``obj`` as indented JSON plus a newline, atomically."""
    return write_text(path, json.dumps(obj, indent=2) + "\n")


def write_with(path: "str | os.PathLike", writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp)`` and publish ``tmp`` as ``path`` (for savers that take a path)."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def publish_pair(artifact_tmp: Path, artifact: Path, card_text: str, card: Path) -> None:
    """Publish an artifact and its model card so ``artifact`` never stands beside a wrong card.

    Two renames cannot be one atomic step, so the order guarantees it instead:
    the old artifact is moved aside first (an old card alone is harmless: every
    reader starts from the artifact), the old card removed, the new card
    renamed in, and the new artifact last. A process killed at any point
    leaves the old pair, a lone card, or the new pair; never an artifact with
    no card or with another export's card.
    """
    card_tmp = scratch_path(card)
    with terminate_cleanly():
        try:
            with open(card_tmp, "w") as f:
                f.write(card_text)
            normalise_mode(artifact_tmp, directory=artifact_tmp.is_dir())
            aside = None
            if artifact.exists() or artifact.is_symlink():
                aside = scratch_path(artifact)
                os.replace(artifact, aside)
            if card.exists():
                card.unlink()
            os.replace(card_tmp, card)
            os.replace(artifact_tmp, artifact)
            if aside is not None:
                remove(aside)
        finally:
            remove(card_tmp)
