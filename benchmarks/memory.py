"""Peak resident memory of this process, per benchmark row.

``getrusage``'s ``ru_maxrss`` only ever grows, so the fifth row would report
the worst of the four before it. On Linux the kernel's high-water mark
(``VmHWM``) can be reset by writing ``5`` to ``/proc/self/clear_refs``
(proc(5)), so each row measures its own peak: load, warm-up and timed runs.
Elsewhere the process-lifetime peak is reported, which is an upper bound.
"""

from __future__ import annotations

import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window; False where the OS cannot (the peak is then lifetime)."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident set size in MiB since the last successful ``reset_peak_rss``."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        return psutil.Process().memory_info().peak_wset / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0  # bytes on macOS, else kB
