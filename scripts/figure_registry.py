"""Every refresher a figure block can name (``refresh="..."``), by name.

Importing this is cheap (no torch): a refresher's steps import what they need when they
run. scripts/refresh_figures.py runs them; tests/docs/test_figure_provenance.py checks
that every refreshable block names one of them.
"""

from __future__ import annotations

import figure_refresh_bench
import figure_refresh_export
import figure_refresh_stream
from figure_steps import Refresher


def _registry() -> dict[str, Refresher]:
    out: dict[str, Refresher] = {}
    for module in (figure_refresh_bench, figure_refresh_stream, figure_refresh_export):
        for refresher in module.REFRESHERS:
            if refresher.name in out:
                raise RuntimeError(f"two refreshers are named {refresher.name!r}")
            out[refresher.name] = refresher
    return out


REGISTRY: dict[str, Refresher] = _registry()
