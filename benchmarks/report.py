"""The ``--markdown`` document: a performance section that reproduces itself.

It states the machine, the exact command, the readable table, the plot (when
``--plot`` was given) and, folded, every column of the schema, so a figure in
docs/performance.md can always be traced to the run that produced it.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from .machine import describe
from .rows import Row, format_markdown, format_markdown_full

LEGEND = (
    "p50/p90/p99/mean are per 64-frame clip (or the clip shown), batch 1, after warm-up. "
    "GMAC/s = the reference model's MACs x clips/s, so forms compare on the same work. "
    "RSS MB is the process's peak resident memory while that row loaded and ran. "
    "'paper' columns are Table 12 (V100 GPU / Xeon 8168 CPU, 64 frames), for reference only. "
    "Forms: deployable = the rank-4 rewrite, exported; naive = the reference 5-D graph "
    "exported as is; reference = PyTorch running the reference model eagerly (the torch backend)."
)


def markdown_section(
    rows: list[Row],
    command: str,
    machine: dict,
    plot: "str | os.PathLike | None" = None,
    markdown_path: "str | os.PathLike | None" = None,
    comparisons: list[str] = (),
) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"**Machine:** {describe(machine)}.",
        "",
        f"**Command** ({when}):",
        "",
        "```bash",
        command,
        "```",
        "",
        format_markdown(rows),
        "",
        LEGEND,
    ]
    if comparisons:
        lines += ["", *(f"- {line}" for line in comparisons)]
    if plot is not None:
        target = Path(plot)
        if markdown_path is not None:
            here = Path(markdown_path).resolve().parent
            target = Path(os.path.relpath(Path(plot).resolve(), here))
        lines += ["", f"![latency per clip against MACs]({target.as_posix()})"]
    lines += [
        "",
        "<details><summary>All columns (same rows as --json / --csv)</summary>",
        "",
        format_markdown_full(rows),
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)
