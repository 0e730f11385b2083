"""Figure blocks: the measured figures in README.md and docs/*.md with their provenance.

A block (docs/performance.md, "Where every figure comes from") is

    <!-- figures id="perf-main" commit="2736fb0" date="2026-11-30" machine="..." load="..."
         command="vmf-bench ..." measures="model/variants.py export/deployable/" refresh="bench-main" -->
    *Measured 2026-11-30 · commit 2736fb0 · 2-core AMD EPYC, no GPU · load 7.25 → 6.88 · `vmf-bench ...`*

    | the table ... |
    <!-- /figures -->

(the opening marker on one line). The marker is what tools read, the italic line what a
reader sees; ``italic_line`` derives the second from the first and the two must agree.
``measures`` lists the repository paths whose change makes the figures stale; a block of
``kind="record"`` (a past run that cannot be re-run here) says ``why`` instead and is
exempt from staleness and from refreshing.

Parsing, rewriting, the rule that says which markdown tables hold measured figures, the
staleness check against git, and the machine and load a new measurement names. Standard
library only (and the project's error type): ``scripts/refresh_figures.py`` and
``tests/docs/test_figure_provenance.py`` both import it.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from vmf.model.errors import VmfError

ROOT = Path(__file__).resolve().parents[1]

REQUIRED = ("id", "commit", "date", "machine", "load", "command")
OPTIONAL = ("measures", "refresh", "kind", "why")
FIELDS = REQUIRED + OPTIONAL
RECORD = "record"
KINDS = (RECORD,)

OPEN = re.compile(r"^(?P<indent>[ \t]*)<!--\s*figures\b(?P<attrs>.*?)-->\s*$")
CLOSE = re.compile(r"^[ \t]*<!--\s*/figures\s*-->\s*$")
# Anything that looks like a marker, so a misspelt one is an error rather than prose.
LOOKS_LIKE = re.compile(r"^\s*<!--\s*/?\s*figures?\b")
ATTR = re.compile(r'\s*(?P<key>[a-z_]+)="(?P<value>[^"]*)"')
COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
FENCE = re.compile(r"^\s*(```|~~~)")

_ESCAPES = (("&", "&amp;"), ('"', "&quot;"), ("<", "&lt;"), (">", "&gt;"))


class FigureBlockError(VmfError):
    """A malformed marker: one line naming the file, the line and what is wrong."""


def escape(value: str) -> str:
    for raw, entity in _ESCAPES:
        value = value.replace(raw, entity)
    return value


def unescape(value: str) -> str:
    for raw, entity in reversed(_ESCAPES):
        value = value.replace(entity, raw)
    return value


@dataclass
class Block:
    """One figure block of one file. Lines are 0-based indices into ``text.splitlines()``."""

    file: str  # as given to parse_blocks (repository-relative for the docs)
    fields: dict[str, str]
    open_line: int
    close_line: int
    indent: str = ""
    italic: str | None = None  # the line after the marker, without indentation
    body: list[str] = field(default_factory=list)  # the lines after the italic line (and one blank)

    @property
    def id(self) -> str:
        return self.fields["id"]

    @property
    def is_record(self) -> bool:
        return self.fields.get("kind") == RECORD

    @property
    def measures(self) -> list[str]:
        return self.fields.get("measures", "").split()

    @property
    def refresh(self) -> str | None:
        return self.fields.get("refresh") or None

    def where(self) -> str:
        return f"{self.file}:{self.open_line + 1}"


def parse_attrs(attrs: str, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    rest = attrs
    while rest.strip():
        m = ATTR.match(rest)
        if not m:
            raise FigureBlockError(
                f'{where}: cannot read the marker from "{rest.strip()[:40]}" (key="value" pairs)'
            )
        key, value = m["key"], unescape(m["value"])
        if key not in FIELDS:
            raise FigureBlockError(f"{where}: unknown field {key!r} (fields: {', '.join(FIELDS)})")
        if key in fields:
            raise FigureBlockError(f"{where}: field {key!r} given twice")
        fields[key] = value
        rest = rest[m.end() :]
    return fields


def check_fields(fields: dict[str, str], where: str) -> None:
    """What every marker must hold; one error naming the first problem."""
    missing = [k for k in REQUIRED if not fields.get(k, "").strip()]
    if missing:
        raise FigureBlockError(f"{where}: the marker lacks {', '.join(missing)}")
    if not ID.match(fields["id"]):
        raise FigureBlockError(f"{where}: id {fields['id']!r} is not lower-case words joined by '-'")
    if not COMMIT.match(fields["commit"]):
        raise FigureBlockError(f"{where}: commit {fields['commit']!r} is not an abbreviated git hash")
    if not DATE.match(fields["date"]):
        raise FigureBlockError(f"{where}: date {fields['date']!r} is not YYYY-MM-DD")
    kind = fields.get("kind")
    if kind is not None and kind not in KINDS:
        raise FigureBlockError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == RECORD:
        if not fields.get("why", "").strip():
            raise FigureBlockError(f'{where}: a kind="record" block says why it cannot be re-run (why="...")')
        if fields.get("refresh"):
            raise FigureBlockError(
                f"{where}: a record is not refreshed, yet it names refresh={fields['refresh']!r}"
            )
    else:
        if not fields.get("measures", "").strip():
            raise FigureBlockError(
                f"{where}: the marker lacks measures (the paths whose change makes it stale)"
            )
        if not fields.get("refresh", "").strip():
            raise FigureBlockError(f'{where}: the marker lacks refresh (or is it kind="record"?)')


def parse_blocks(text: str, file: str = "<text>") -> list[Block]:
    """Every block of a markdown text, checked; FigureBlockError on the first malformed one."""
    lines = text.splitlines()
    blocks: list[Block] = []
    current: Block | None = None
    fence: str | None = None  # the info string of the code fence we are in, outside blocks
    for n, line in enumerate(lines):
        where = f"{file}:{n + 1}"
        if current is None and FENCE.match(line):
            fence = None if fence is not None else line.strip().lstrip("`~").strip()
            continue
        if fence is not None:
            # A marker in code is an example only in a markdown fence; anywhere else it is a
            # block put on the wrong side of its fence, which would hide it from every check.
            if LOOKS_LIKE.search(line) and fence not in ("markdown", "md"):
                raise FigureBlockError(
                    f"{where}: a figures marker inside a code block (put it outside the fence)"
                )
            continue
        opened, closed = OPEN.match(line), CLOSE.match(line)
        if opened:
            if current is not None:
                raise FigureBlockError(
                    f"{where}: a block opens inside block {current.id!r} ({current.where()})"
                )
            fields = parse_attrs(opened["attrs"], where)
            check_fields(fields, where)
            current = Block(file, fields, n, -1, indent=opened["indent"])
        elif closed:
            if current is None:
                raise FigureBlockError(f"{where}: <!-- /figures --> without an opening marker")
            current.close_line = n
            inner = [
                x[len(current.indent) :] if x.startswith(current.indent) else x.lstrip()
                for x in lines[current.open_line + 1 : n]
            ]
            current.italic = inner[0] if inner else None
            body = inner[1:]
            if body and not body[0].strip():
                body = body[1:]
            current.body = body
            expected = italic_line(current.fields)
            if current.italic != expected:
                raise FigureBlockError(
                    f"{current.where()}: the line after the marker of {current.id!r} must be the italic "
                    f"line the marker implies, {expected!r}, not {current.italic!r}"
                )
            blocks.append(current)
            current = None
        elif LOOKS_LIKE.search(line):
            raise FigureBlockError(f"{where}: a malformed figures marker: {line.strip()[:80]}")
    if current is not None:
        raise FigureBlockError(f"{current.where()}: block {current.id!r} is never closed (<!-- /figures -->)")
    return blocks


def marker_line(fields: dict[str, str]) -> str:
    ordered = [k for k in FIELDS if k in fields]
    return "<!-- figures " + " ".join(f'{k}="{escape(fields[k])}"' for k in ordered) + " -->"


def italic_line(fields: dict[str, str]) -> str:
    """What a reader sees: the marker's date, commit, machine, load and command."""
    return (
        f"*Measured {fields.get('date', '?')} · commit {fields.get('commit', '?')} · "
        f"{fields.get('machine', '?')} · load {fields.get('load', '?')} · `{fields.get('command', '?')}`*"
    )


def rewrite(text: str, block: Block, fields: dict[str, str], body: str) -> str:
    """``text`` with ``block`` replaced by one of these fields and this body (a markdown
    fragment, no indentation); every byte outside the block is kept as it was."""
    check_fields(fields, block.where())
    lines = text.splitlines(keepends=True)
    start = sum(len(x) for x in lines[: block.open_line])
    end = sum(len(x) for x in lines[: block.close_line])  # the closing marker line is kept
    eol = "\r\n" if lines[block.open_line].endswith("\r\n") else "\n"
    pad = block.indent

    def ind(line: str) -> str:
        return pad + line if line.strip() else ""

    new = [ind(marker_line(fields)), ind(italic_line(fields)), ""]
    new += [ind(x) for x in body.strip("\n").split("\n")]
    return text[:start] + eol.join(new) + eol + text[end:]


# --------------------------------------------------------------------------- which tables count


@dataclass
class Table:
    start: int  # 0-based line of the header
    end: int  # 0-based line of the last row
    header: list[str]
    rows: list[list[str]]


SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner)]


def markdown_tables(text: str) -> list[Table]:
    """The pipe tables of a markdown text (a header row, a --- row, body rows), not in code."""
    lines = text.splitlines()
    tables, n, in_fence = [], 0, False
    while n < len(lines):
        if FENCE.match(lines[n]):
            in_fence = not in_fence
        elif (
            not in_fence
            and lines[n].lstrip().startswith("|")
            and n + 1 < len(lines)
            and SEPARATOR.match(lines[n + 1])
        ):
            end = n + 1
            while end + 1 < len(lines) and lines[end + 1].lstrip().startswith("|"):
                end += 1
            tables.append(Table(n, end, cells(lines[n]), [cells(x) for x in lines[n + 2 : end + 1]]))
            n = end
        n += 1
    return tables


# A measured quantity: a header naming one, or a cell holding a number with a unit of one.
MEASURED_HEADER = re.compile(
    r"(?<![\w-])(ms|p50|p90|p99|clips/s|top-1|top-5|latency|RSS|MB|GMAC/s|partitions|accuracy|acc\.|NNAPI|XNNPACK)(?![\w-])",
    re.IGNORECASE,
)
MEASURED_CELL = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ms|MB|GB|%)(?!\w)"  # 26.1 ms, 18.3 MB, 97.5 %
    r"|(?<![\w.])\d+(?:\.\d+)?[×x](?!\w)"  # 1.29×, 0.77x (not 64x172, not 8 x 64)
)


def measured_reason(table: Table) -> str | None:
    """Why a table holds measured figures (the header or cell that says so), else None.

    The rule: a header that names a measured quantity (ms, p50/p90/p99, clips/s, top-1,
    top-5, latency, RSS, MB, GMAC/s, partitions, accuracy; an accelerator, NNAPI or XNNPACK,
    whose partitions it counts; ``p50_ms`` reads as ``p50 ms``), or a cell holding a number with
    a unit of time, size or share (ms, MB, GB, %) or a ratio written 1.29× / 1.29x. A
    clip size (64x172, 8 x 64^2), a version or a default value is none of these.
    """
    for cell in table.header:
        m = MEASURED_HEADER.search(cell.replace("_", " "))
        if m:
            return f"header {cell!r} names {m.group(1)!r}"
    for row in table.rows:
        for cell in row:
            m = MEASURED_CELL.search(cell)
            if m:
                return f"cell {cell[:40]!r} holds {m.group(0)!r}"
    return None


def doc_files(root: Path = ROOT) -> list[Path]:
    """The pages whose figures carry provenance: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def all_blocks(root: Path = ROOT) -> list[Block]:
    blocks = []
    for path in doc_files(root):
        blocks += parse_blocks(path.read_text(encoding="utf-8"), str(path.relative_to(root)))
    return blocks


def unique_ids(blocks: list[Block]) -> None:
    seen: dict[str, Block] = {}
    for b in blocks:
        if b.id in seen:
            raise FigureBlockError(f"{b.where()}: id {b.id!r} is already used at {seen[b.id].where()}")
        seen[b.id] = b


def missing_paths(block: Block, root: Path = ROOT) -> list[str]:
    """``measures`` paths that do not exist: a typo there would make the block never stale."""
    return [p for p in block.measures if not (root / p).exists()]


# --------------------------------------------------------------------------- git


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


@dataclass
class Staleness:
    state: str  # "fresh", "stale", "skip"
    newest: str = ""  # stale: the newest commit that touched the paths ("abc1234 (2026-12-07: subject)")
    reason: str = ""  # skip: why the check could not run


def git_state(root: Path = ROOT) -> str | None:
    """None when the checkout can answer staleness questions, else why not."""
    try:
        done = git(root, "rev-parse", "--is-inside-work-tree")
    except OSError as exc:
        return f"git cannot run ({exc})"
    if done.returncode != 0 or done.stdout.strip() != "true":
        return f"{root} is not a git checkout"
    return None


def has_commit(root: Path, commit: str) -> bool:
    return git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def is_shallow(root: Path) -> bool:
    return git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def staleness(block: Block, root: Path = ROOT) -> Staleness:
    """Is there a commit after the block's that changed what it measures?"""
    why_not = git_state(root)
    if why_not:
        return Staleness("skip", reason=why_not)
    commit = block.fields["commit"]
    if not has_commit(root, commit):
        if is_shallow(root):
            return Staleness("skip", reason=f"the shallow clone lacks commit {commit}")
        raise FigureBlockError(
            f"{block.where()}: block {block.id!r} names commit {commit}, which this repository does not have"
        )
    done = git(
        root, "log", "-1", "--format=%h (%ad: %s)", "--date=short", f"{commit}..HEAD", "--", *block.measures
    )
    if done.returncode != 0:
        raise FigureBlockError(f"{block.where()}: git log failed for {block.id!r}: {done.stderr.strip()}")
    newest = done.stdout.strip()
    if len(newest) > 80:  # a commit subject can run to a paragraph
        newest = newest[:78] + "…)"
    return Staleness("stale", newest=newest) if newest else Staleness("fresh")


def head_commit(root: Path = ROOT) -> str:
    done = git(root, "rev-parse", "--short", "HEAD")
    if done.returncode != 0:
        raise FigureBlockError(f"cannot read the commit of {root}: {done.stderr.strip()}")
    return done.stdout.strip()


def uncommitted(paths: list[str], root: Path = ROOT) -> list[str]:
    """Files under ``paths`` that differ from HEAD (tracked changes and untracked files)."""
    if not paths:
        return []
    done = git(root, "status", "--porcelain", "--", *paths)
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------- the machine and its load


def short_cpu_name(model: str) -> str:
    """'Intel(R) Xeon(R) CPU @ 2.20GHz' -> 'Intel Xeon'; 'AMD EPYC 7B13 64-Core Processor' -> 'AMD EPYC 7B13'."""
    name = re.sub(r"\((R|TM|tm|r)\)", "", model)
    name = re.sub(r"@.*$", "", name)
    name = re.sub(r"\b(CPU|Processor|\d+-Core)\b", "", name)
    return re.sub(r"\s+", " ", name).strip() or model.strip()


def gpu_description() -> str:
    """'no GPU', or the NVIDIA GPUs nvidia-smi lists ('1 GPU: NVIDIA H100 80GB HBM3')."""
    try:
        done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "no GPU"
    names = [
        re.sub(r"^GPU \d+: ", "", x).split(" (UUID")[0]
        for x in done.stdout.splitlines()
        if x.startswith("GPU")
    ]
    if done.returncode != 0 or not names:
        return "no GPU"
    return f"{len(names)} GPU{'s' if len(names) > 1 else ''}: {names[0]}"


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine_description() -> str:
    """'2-core Intel Xeon, no GPU': the CPU's model name, the cores this process may use, the GPU."""
    from vmf.benchmarks.machine import cpu_model

    return f"{usable_cores()}-core {short_cpu_name(cpu_model())}, {gpu_description()}"


def load_span(start: float, end: float) -> str:
    return f"{start:.2f} → {end:.2f}"
