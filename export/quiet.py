"""Silence the converters' own console output (banners, progress bars) for a block.

TensorFlow, LiteRT, coremltools and the quantizer print from C++ and from
tqdm straight to file descriptors 1 and 2; ``vmf-export`` prints one line per
step instead. Errors still surface: as exceptions, which the caller reports.
"""

from __future__ import annotations

import os
import sys


class quiet:
    """``with quiet(): ...`` sends fds 1 and 2 to /dev/null for the block."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = [os.dup(1), os.dup(2)]
        self._null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self._null, 1)
        os.dup2(self._null, 2)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in (*self._saved, self._null):
            os.close(fd)
        return False
