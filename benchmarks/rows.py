"""One benchmark row and its four renderings: text table, markdown, CSV and JSON.

The first 21 columns are the agreed benchmark schema, in its order; the ones after add
what a reader needs to trust a row: which model and form it is, how many runs,
whether the runtime's pool could spin, the paced figures beside the back-to-back
ones (``--paced``: one clip every ``paced_ms``, as a stream runs the model), the
parity figure the export measured, the paper's own latency, and the reason a row
failed. JSON, CSV and markdown carry the same columns.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from vmf.model.files import write_text

ISSUE_COLUMNS = (
    "variant",
    "baseline",
    "backend",
    "precision",
    "converter",
    "threads",
    "device",
    "frames",
    "resolution",
    "macs",
    "params",
    "size_mb",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "mean_ms",
    "std_ms",
    "clips_per_s",
    "gmacs_per_s",
    "peak_rss_mb",
    "status",
)
EXTRA_COLUMNS = (
    "model",
    "form",
    "runs",
    "spin",
    "paced_ms",
    "paced_runs",
    "paced_p50_ms",
    "paced_p90_ms",
    "parity",
    "paper_gpu_ms",
    "paper_cpu_ms",
    "reason",
)
COLUMNS = ISSUE_COLUMNS + EXTRA_COLUMNS

OK = "ok"
FAILED = "failed"


@dataclass
class Row:
    variant: str
    baseline: bool
    backend: str
    precision: str
    converter: str | None
    threads: int | None
    device: str
    frames: int
    resolution: int
    macs: int | None = None  # the reference model's, on this clip: GMAC/s compares across forms
    params: int | None = None
    size_mb: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    std_ms: float | None = None
    clips_per_s: float | None = None
    gmacs_per_s: float | None = None
    peak_rss_mb: float | None = None
    status: str = OK
    model: str = ""
    form: str = ""
    runs: int | None = None
    spin: bool | None = None  # the pool's busy-wait as applied (--spin); None: no switch on it
    paced_ms: float | None = None  # one clip every paced_ms (--paced); None: not paced
    paced_runs: int | None = None
    paced_p50_ms: float | None = None
    paced_p90_ms: float | None = None
    parity: str | None = None
    paper_gpu_ms: float | None = None
    paper_cpu_ms: float | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def paced_ratio(self) -> float | None:
        """Paced p50 over back-to-back p50: what a stream's idle time between clips costs."""
        if self.paced_p50_ms is None or not self.p50_ms:
            return None
        return self.paced_p50_ms / self.p50_ms

    def as_dict(self) -> dict:
        return {name: _json_safe(value) for name, value in asdict(self).items()}


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- text table (the paper's Table 12 layout, plus what this machine measured) ---------------

_TABLE = (
    # header, getter
    ("model", lambda r: r.model),
    ("form", lambda r: r.form),
    ("backend", lambda r: r.backend),
    # The converter matters for TFLite only (two of them); ONNX and torch have one way.
    ("prec", lambda r: r.precision + (f"/{r.converter}" if r.converter and r.backend == "tflite" else "")),
    ("thr", lambda r: "-" if r.threads is None else str(r.threads)),
    ("device", lambda r: r.device),
    ("clip", lambda r: f"{r.frames}x{r.resolution}"),
    ("GMACs", lambda r: _num(r.macs, 1e-9, 3)),
    ("params", lambda r: _num(r.params, 1e-6, 2, "M")),
    ("MB", lambda r: _num(r.size_mb, 1, 1)),
    ("p50 ms", lambda r: _num(r.p50_ms, 1, 2)),
    ("p90 ms", lambda r: _num(r.p90_ms, 1, 2)),
    ("p99 ms", lambda r: _num(r.p99_ms, 1, 2)),
    ("mean±std ms", lambda r: "-" if r.mean_ms is None else f"{r.mean_ms:.2f}±{r.std_ms:.2f}"),
    ("clips/s", lambda r: _num(r.clips_per_s, 1, 1)),
    ("GMAC/s", lambda r: _num(r.gmacs_per_s, 1, 1)),
    ("RSS MB", lambda r: _num(r.peak_rss_mb, 1, 0)),
    # Only when a row was paced (_columns): spin-wait, the pace, its p50/p90, paced/back to back.
    ("spin", lambda r: "-" if r.spin is None else ("on" if r.spin else "off")),
    ("every ms", lambda r: _num(r.paced_ms, 1, 0)),
    ("paced p50", lambda r: _num(r.paced_p50_ms, 1, 2)),
    ("paced p90", lambda r: _num(r.paced_p90_ms, 1, 2)),
    ("paced/b2b", lambda r: "-" if r.paced_ratio is None else f"{r.paced_ratio:.2f}x"),
    ("paper V100 ms", lambda r: _num(r.paper_gpu_ms, 1, 1)),
    ("paper Xeon ms", lambda r: _num(r.paper_cpu_ms, 1, 1)),
    ("status", lambda r: r.status if r.ok else f"{r.status}: {r.reason}"),
)


def _num(value, scale: float, digits: int, suffix: str = "") -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}{suffix}"


PACED_HEADERS = ("every ms", "paced p50", "paced p90", "paced/b2b")
_TEXT = ("model", "form", "backend", "prec", "device", "spin", "status")  # left-aligned


def _columns(rows: list[Row]) -> list[tuple]:
    """The readable columns: the paced ones (and spin) only when a row was paced; spin also
    when a row ran with it off, so a back-to-back figure says how it was made."""
    paced = any(r.paced_ms is not None for r in rows)
    spin = paced or any(r.spin is False for r in rows)
    return [(h, get) for h, get in _TABLE if (h not in PACED_HEADERS or paced) and (h != "spin" or spin)]


def _cells(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    columns = _columns(rows)
    return [h for h, _ in columns], [[get(r) for _, get in columns] for r in rows]


def format_table(rows: list[Row]) -> str:
    """Aligned text table; numbers right-aligned, the status (with any reason) last."""
    header, body = _cells(rows)
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    numeric = {i for i, h in enumerate(header) if h not in _TEXT}

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, body)])


def format_markdown(rows: list[Row]) -> str:
    """A GitHub table of the readable columns (the full schema is in the CSV/JSON)."""
    header, body = _cells(rows)
    out = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if h in _TEXT else "---:" for h in header) + "|",
    ]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in body]
    return "\n".join(out)


def format_markdown_full(rows: list[Row]) -> str:
    """Every column of the schema, one per table column (for machine-checked docs)."""
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for r in rows:
        d = r.as_dict()
        out.append("| " + " | ".join(_md_value(d[c]) for c in COLUMNS) + " |")
    return "\n".join(out)


def _md_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def to_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in r.as_dict().items()})
    return buf.getvalue()


def to_json(rows: list[Row], indent: int | None = None, **extra) -> str:
    """The one summary object ``--json`` prints last: ``{..., "results": [row, ...]}``."""
    return json.dumps(
        {**extra, "columns": list(COLUMNS), "results": [r.as_dict() for r in rows]}, indent=indent
    )


def write_text_atomic(path: "str | os.PathLike", text: str) -> Path:
    """Write ``text`` under a temporary name beside ``path``, then rename: never half a file."""
    return write_text(path, text, newline="")
