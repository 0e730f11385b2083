"""Converter output: captured per step into a log, shown with ``--verbose``, kept on failure.

TensorFlow, LiteRT, coremltools and the quantizer print from C++ and from
tqdm straight to file descriptors 1 and 2; ``vmf-export`` prints one line per
step instead. Each converter call runs inside ``with quiet():``, which sends
fds 1 and 2 for that block only to the export's conversion log
(``conversion_log``). An export that fails keeps the log under ``--out`` and
names it in its one-line error; one that succeeds deletes it.

``verbose`` (``vmf-export --verbose``, ``export(verbose=True)``, or
``VMF_VERBOSE=1`` for anything else) leaves the file descriptors alone, so the
converters print to the console as they run. Outside an export (a runtime
loading a model) the output is dropped unless verbose. The redirection is of
file descriptors, so while a converter runs, whatever else the process prints
goes to the same log; an application embedding ``export()`` that must keep
its console passes ``verbose=True``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from pathlib import Path
from typing import Iterator

_LOG: "Path | None" = None  # the conversion log of the export in progress
_VERBOSE = False
_CONVERTER_FAILED = False  # a converter raised inside quiet() (or failed in a subprocess)


def verbose() -> bool:
    return _VERBOSE or os.environ.get("VMF_VERBOSE", "") not in ("", "0")


@contextlib.contextmanager
def conversion_log(path: "Path | None", *, show: bool = False) -> Iterator["Path | None"]:
    """Send the ``quiet()`` blocks inside to ``path`` (append), or to the console if ``show``."""
    global _LOG, _VERBOSE, _CONVERTER_FAILED
    saved = _LOG, _VERBOSE, _CONVERTER_FAILED
    _LOG, _VERBOSE, _CONVERTER_FAILED = path, show, False
    try:
        yield path
    finally:
        _LOG, _VERBOSE, _CONVERTER_FAILED = saved


def converter_failed() -> bool:
    """Whether a converter failed in this ``conversion_log`` (its log is then worth keeping)."""
    return _CONVERTER_FAILED


def record(text: str, heading: str = "", *, failed: bool = False) -> None:
    """Add ``text`` (a subprocess's output, a traceback) to the conversion log, or print it if verbose.

    ``failed``: the text is the output of a converter that failed.
    """
    global _CONVERTER_FAILED
    _CONVERTER_FAILED = _CONVERTER_FAILED or failed
    if not text:
        return
    block = (f"--- {heading}\n" if heading else "") + text.rstrip("\n") + "\n"
    if verbose():
        sys.stderr.write(block)
        sys.stderr.flush()
    elif _LOG is not None:
        with open(_LOG, "a") as f:
            f.write(block)


def record_exception(exc: BaseException) -> None:
    """The full traceback of ``exc`` and of what it replaced (``raise ... from None`` hides that)."""
    chain = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    for item in reversed(chain):
        record(
            "".join(traceback.format_exception(type(item), item, item.__traceback__, chain=False)),
            f"{type(item).__name__}",
        )


class quiet:
    """``with quiet(): ...`` sends fds 1 and 2 to the conversion log for the block."""

    def __enter__(self):
        self._saved = None
        if verbose():
            return self
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = [os.dup(1), os.dup(2)]
        if _LOG is not None:
            self._sink = os.open(_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        else:
            self._sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self._sink, 1)
        os.dup2(self._sink, 2)
        return self

    def __exit__(self, *exc):
        global _CONVERTER_FAILED
        if exc[0] is not None and issubclass(exc[0], Exception):
            _CONVERTER_FAILED = True
        if self._saved is None:
            return False
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in (*self._saved, self._sink):
            os.close(fd)
        return False
