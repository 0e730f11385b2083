"""The one convention every vmf command line follows (docs/CONTRIBUTING.md, "Command lines").

- A bad command line: one line ``error: <what> (see <prog> --help)`` on
  stderr, exit status 2 (argparse's own usage block is not printed).
- A runtime error (``VmfError``: a missing file, a failed check): one line
  ``error: <what>`` on stderr, exit status 1. Never a traceback.
- Ctrl-C or SIGTERM: ``error: interrupted``, exit status 130.

This module imports neither torch nor numpy, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from .errors import VmfError
from .files import Terminated

USAGE_EXIT = 2
ERROR_EXIT = 1
INTERRUPTED_EXIT = 130


class UsageError(Exception):
    """A malformed command line (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake raises ``UsageError`` with a one-line message and a hint."""

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def run_main(body: Callable[[], int]) -> int:
    """Run a CLI's ``body`` under the convention above; its return value is the exit status."""
    try:
        return body()
    except UsageError as exc:
        print_error(str(exc))
        return USAGE_EXIT
    except VmfError as exc:
        print_error(str(exc))
        return ERROR_EXIT
    except (KeyboardInterrupt, Terminated):
        print_error("interrupted")
        return INTERRUPTED_EXIT
