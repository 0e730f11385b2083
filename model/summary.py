"""The params/MACs table against the paper (Table 1 for VMF, Table 2 for Mobile3D)."""

from __future__ import annotations

from dataclasses import dataclass

from .counting import count_macs, count_params
from .network import build_model
from .variants import VARIANTS

TOLERANCE = 0.05  # the project's fidelity bar: within 5 % of the paper


@dataclass(frozen=True)
class SummaryRow:
    model: str
    variant: str
    baseline: bool
    params: int
    macs: int
    paper_params: float  # 0 when the paper gives none
    paper_macs: float

    @staticmethod
    def diff(ours: float, paper: float) -> float | None:
        return None if not paper else ours / paper - 1.0


def summary_rows() -> list[SummaryRow]:
    rows = []
    for name, cfg in VARIANTS.items():
        for baseline in (False, True):
            model = build_model(name, baseline=baseline)
            rows.append(
                SummaryRow(
                    model=("Mobile3D-" if baseline else "VMF-") + name,
                    variant=name,
                    baseline=baseline,
                    params=count_params(model),
                    macs=count_macs(model),
                    paper_params=0.0 if baseline else cfg.paper_params,
                    paper_macs=cfg.paper_baseline_macs if baseline else cfg.paper_macs,
                )
            )
    return rows


def _cell(ours: float, paper: float, unit: float, suffix: str) -> list[str]:
    diff = SummaryRow.diff(ours, paper)
    mark = "" if diff is None else ("  ok" if abs(diff) <= TOLERANCE else "  OFF")
    return [
        f"{ours / unit:.3f}{suffix}",
        f"{paper / unit:.2f}{suffix}" if paper else "-",
        "-" if diff is None else f"{diff * 100:+.1f}%{mark}",
    ]


def format_summary(rows: list[SummaryRow] | None = None) -> str:
    rows = summary_rows() if rows is None else rows
    header = ["model", "res", "params", "paper", "diff", "MACs (64 fr)", "paper", "diff"]
    table = [header]
    for r in rows:
        res = VARIANTS[r.variant].resolution
        table.append(
            [
                r.model,
                str(res),
                *_cell(r.params, r.paper_params, 1e6, "M"),
                *_cell(r.macs, r.paper_macs, 1e9, "G"),
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        "Paper: Table 1 (VMF params/FLOPs) and Table 2 (Mobile3D FLOPs); 'ok' = within "
        f"±{TOLERANCE:.0%}. 2G uses #Exp 3, not Table 1's 2.25, to meet the paper's budget "
        "(see model/variants.py)."
    )
    return "\n".join(lines)
