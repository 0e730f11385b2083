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
    "Forms: deployable = the rank-4 rewrite, exported (on torch: its torch.export .pt2); naive = "
    "the reference 5-D graph exported as is; reference = PyTorch running the reference model "
    "eagerly from a checkpoint (torch, --naive)."
)

PACED_LEGEND = (
    "Paced (--paced): after the back-to-back runs, the same model once every 'every ms' "
    "milliseconds, as a stream runs it one clip per hop; the sleep between clips is not "
    "counted. paced/b2b = paced p50 / back-to-back p50: what the idle time between clips "
    "costs (pools that park, cores that clock down). spin: whether the runtime's pool may "
    "busy-wait (--spin; '-' where the runtime has no switch)."
)


def markdown_section(
    rows: list[Row],
    command: str,
    machine: dict,
    plot: "str | os.PathLike | None" = None,
    markdown_path: "str | os.PathLike | None" = None,
    comparisons: list[str] = (),
    spin: str | None = None,
) -> str:
    """``spin``: how the runtimes' pools were told to wait (``--spin``, with auto's reason)."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"**Machine:** {describe(machine)}.",
        "",
        *([f"**Spin-wait:** {spin}.", ""] if spin else []),
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
    if any(r.paced_ms is not None for r in rows):
        lines += ["", PACED_LEGEND]
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
