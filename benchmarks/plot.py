"""Latency against MACs: the picture a user reads instead of the table.

Both axes are logarithmic, so equal efficiency (GMAC/s) is a straight 45°
line and the four variants spread evenly. One colour per backend/precision/
form/threads series; VMF variants are joined by a solid line, their Mobile3D
baselines (paper Table 2) by a dashed one with hollow markers, so the cost of
the Former and bridges reads off directly; X3D-S is a separate star. Every
point is labelled with its variant. Rows timed with ``--paced`` add their paced
p50 in the same colour (triangles on a dotted line), so the gap between a
stream's latency and the back-to-back figure reads off each series.
"""

from __future__ import annotations

import os
from pathlib import Path

from vmf.model import MissingDependencyError, VmfError
from vmf.model.files import write_with

from .rows import Row


def _series_name(r: Row) -> str:
    parts = [r.backend, r.precision]
    if r.form and r.form != "deployable":
        parts.append(r.form)
    if r.threads is not None:
        parts.append(f"{r.threads}t")
    if r.device != "cpu":
        parts.append(r.device)
    return " ".join(parts)


def plot_latency(rows: list[Row], path: "str | os.PathLike", title: str = "") -> Path:
    """Draw p50 latency against MACs for the rows that were timed; write a PNG atomically."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; never needs a display
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("--plot needs matplotlib: pip install 'vmf[plot]'") from None
    timed = [r for r in rows if r.ok and r.macs and r.p50_ms]
    if not timed:
        raise VmfError("nothing was timed, so there is nothing to plot")
    path = Path(path)
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    series: dict[str, list[Row]] = {}
    for r in timed:
        series.setdefault(_series_name(r), []).append(r)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    any_paced_label: dict[str, bool] = {}  # one legend entry per series for its paced points
    for i, (name, members) in enumerate(sorted(series.items())):
        colour = colours[i % len(colours)]
        groups = (
            ("VMF", [r for r in members if r.model.startswith("VMF")], "o", "-", colour),
            ("Mobile3D", [r for r in members if r.baseline], "o", "--", "none"),
            ("X3D", [r for r in members if r.model.startswith("X3D")], "*", "", colour),
        )
        label = name  # one legend entry per series, on its first group
        for kind, group, marker, style, face in groups:
            if not group:
                continue
            group.sort(key=lambda r: r.macs)
            ax.plot(
                [r.macs / 1e9 for r in group],
                [r.p50_ms for r in group],
                marker=marker,
                linestyle=style or "none",
                color=colour,
                markerfacecolor=face,
                markersize=11 if marker == "*" else 7,
                label=label,
            )
            label = None
            paced = [r for r in group if r.paced_p50_ms]
            if paced:
                ax.plot(
                    [r.macs / 1e9 for r in paced],
                    [r.paced_p50_ms for r in paced],
                    marker="^",
                    linestyle=":" if style else "none",
                    color=colour,
                    markerfacecolor=face,
                    markersize=7,
                    label=None if any_paced_label.get(name) else f"{name}, paced",
                )
                any_paced_label[name] = True
            for r in group:
                # Mobile3D sits just left of its VMF twin: label it below-left, VMF above-right.
                below = kind == "Mobile3D"
                tag = f"M3D-{r.variant}" if below else (r.variant if kind == "VMF" else r.model)
                ax.annotate(
                    tag,
                    (r.macs / 1e9, r.p50_ms),
                    textcoords="offset points",
                    xytext=(-5, -11) if below else (5, 4),
                    ha="right" if below else "left",
                    fontsize=7 if below else 8,
                    color=colour,
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.margins(x=0.12, y=0.08)  # room for the labels of the outermost points
    ax.set_xlabel("GMACs per clip (log)")
    ax.set_ylabel("p50 latency per clip, ms (log)")
    paced_rows = [r for r in timed if r.paced_ms is not None]
    paced_note = ""
    if paced_rows:
        every = sorted({round(r.paced_ms, 1) for r in paced_rows})
        paced_note = f"\ntriangles/dotted: paced (one clip every {'/'.join(f'{m:g}' for m in every)} ms)"
    ax.set_title(
        title
        or "p50 latency per clip vs MACs\nfilled/solid: VMF, hollow/dashed: Mobile3D baseline, "
        f"star: X3D-S{paced_note}",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    try:
        write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return path
