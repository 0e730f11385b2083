"""Re-measure the figure blocks of README.md and docs/*.md on this machine and rewrite them.

    python scripts/refresh_figures.py                 # every refreshable block that is quick
    python scripts/refresh_figures.py --slow          # and the slow ones (accuracy, partitions, ExecuTorch)
    python scripts/refresh_figures.py --only perf-main web-latency
    python scripts/refresh_figures.py --list          # every block: file, refresher, stale or not
    python scripts/refresh_figures.py --check         # exit 1 when a block names a commit older than what it measures
    python scripts/refresh_figures.py --dry-run       # the commands, nothing measured

A block's figures are re-measured by its refresher (``refresh="..."``,
scripts/figure_registry.py), which runs the real commands and renders the block in its
columns; the marker and the italic line then name this commit, today, this machine, the
load average before and after, and the command (docs/performance.md, "Where every figure
comes from"). A refresher that fails leaves its block as it was and is reported at the end
(exit status 1). Figures measured on a busy machine are meaningless, so it refuses while
the 1-minute load average is above half the cores; figures of code that is not committed
would name a commit that does not hold it, so it refuses while a block's ``measures``
paths have uncommitted changes. ``--force`` does it anyway.
"""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

if str(Path(__file__).resolve().parent) not in sys.path:  # its modules beside it, however it is loaded
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import figure_blocks as fb  # noqa: E402
from figure_steps import Refresher, Runner  # noqa: E402

from vmf.model.cli import Parser, run_main  # noqa: E402
from vmf.model.errors import VmfError  # noqa: E402
from vmf.model.files import write_text  # noqa: E402

BUSY_SHARE = 0.5  # refuse above this 1-minute load per usable core


@dataclass
class Machine:
    """What a run reads about this machine; a test gives its own."""

    load: Callable[[], tuple[float, float, float]] = os.getloadavg
    cores: Callable[[], int] = fb.usable_cores
    describe: Callable[[], str] = fb.machine_description
    today: Callable[[], str] = field(default=lambda: datetime.date.today().isoformat())


def parser() -> Parser:
    p = Parser(prog="refresh_figures.py", description=__doc__.splitlines()[0])
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--list", action="store_true", help="list every block: id, file, refresher or record, stale or not"
    )
    what.add_argument("--check", action="store_true", help="exit 1 listing the stale blocks; measure nothing")
    what.add_argument("--dry-run", action="store_true", help="print the commands the chosen blocks would run")
    p.add_argument("--only", nargs="+", metavar="ID", help="these blocks only (slow ones included)")
    p.add_argument(
        "--slow", action="store_true", help="also the blocks whose refresher takes more than a few minutes"
    )
    p.add_argument(
        "--force", action="store_true", help="measure even on a busy machine or with uncommitted changes"
    )
    return p


def state_of(block: fb.Block, root: Path) -> str:
    if block.is_record:
        return f"record: {block.fields['why']}"
    s = fb.staleness(block, root)
    if s.state == "stale":
        return f"stale (commit {block.fields['commit']}; its paths changed since, last in {s.newest})"
    if s.state == "skip":
        return f"unknown ({s.reason})"
    return f"fresh (commit {block.fields['commit']})"


def list_blocks(blocks: list[fb.Block], registry: dict[str, Refresher], root: Path) -> int:
    for b in blocks:
        refresher = registry.get(b.refresh or "")
        how = (
            "record"
            if b.is_record
            else f"refresh {b.refresh}" + (" (slow)" if refresher and refresher.slow else "")
        )
        print(f"{b.id:28} {b.file:28} {how:32} {state_of(b, root)}")
    return 0


def check(blocks: list[fb.Block], root: Path) -> int:
    stale, unknown, fresh = [], [], 0
    for b in blocks:
        if b.is_record:
            continue
        s = fb.staleness(b, root)
        if s.state == "stale":
            stale.append(
                f"{b.id} ({b.file}): commit {b.fields['commit']}; its paths changed since, last in {s.newest}"
            )
        elif s.state == "skip":
            unknown.append(f"{b.id}: {s.reason}")
        else:
            fresh += 1
    for line in unknown:
        print(f"not checked: {line}")
    if stale:
        print(f"{len(stale)} stale blocks (re-measure: make figures ONLY=<id>):")
        for line in stale:
            print(f"  {line}")
        return 1
    print(f"{fresh} refreshable blocks fresh, {sum(b.is_record for b in blocks)} records exempt")
    return 0


def choose(blocks: list[fb.Block], registry: dict[str, Refresher], only, slow: bool):
    """(blocks to refresh, [(block, why skipped)])."""
    by_id = {b.id: b for b in blocks}
    if only:
        unknown = [i for i in only if i not in by_id]
        if unknown:
            raise VmfError(
                f"no block {', '.join(unknown)} (python scripts/refresh_figures.py --list names them)"
            )
        records = [by_id[i] for i in only if by_id[i].is_record]
        if records:
            r = records[0]
            raise VmfError(f"{r.id} is a record, not re-measured here: {r.fields['why']}")
        chosen = [by_id[i] for i in only]
    else:
        chosen = [b for b in blocks if not b.is_record]
    for b in chosen:
        if b.refresh not in registry:
            raise VmfError(
                f"{b.where()}: block {b.id} names refresher {b.refresh!r}, which scripts/figure_registry.py lacks"
            )
    skipped = (
        [] if only or slow else [(b, "slow: --slow runs it") for b in chosen if registry[b.refresh].slow]
    )
    return [b for b in chosen if b not in [s for s, _ in skipped]], skipped


def refresh(
    chosen: list[fb.Block],
    registry: dict[str, Refresher],
    root: Path,
    machine: Machine,
    dry: bool = False,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
) -> list[tuple[fb.Block, str]]:
    """Run each block's refresher and rewrite the block; [(block, why it failed)]."""
    failures = []
    commit = "" if dry else fb.head_commit(root)
    described = "" if dry else machine.describe()
    # Scratch only (exports, JSON the commands write): the pages are written through write_text.
    with tempfile.TemporaryDirectory(prefix="vmf-figures-") as scratch:
        runner = Runner(root, Path(scratch), log=log, dry=dry, load=machine.load)
        for block in chosen:
            refresher = registry[block.refresh]
            log(
                f"{block.id} ({block.file}): {refresher.name}"
                + (f", {refresher.about}" if refresher.about else "")
            )
            try:
                results = [runner.run(step) for step in refresher.steps()]
                if dry:
                    continue
                body = refresher.render(results)
                fields = {k: v for k, v in block.fields.items() if k not in ("kind", "why")}
                fields.update(
                    commit=commit,
                    date=machine.today(),
                    machine=described,
                    # The load when its first command started and its last one ended (a command
                    # another block ran first counts with the load it ran under).
                    load=fb.load_span(results[0].load_before, results[-1].load_after),
                    command=refresher.command,
                )
                rewrite_block(root, block, fields, body)
            except Exception as exc:  # any refresher's failure is reported; its block stays as it was
                failures.append(
                    (block, str(exc) if isinstance(exc, VmfError) else f"{type(exc).__name__}: {exc}")
                )
                log(f"  failed: {failures[-1][1]}")
                continue
            log(f"  rewritten: {block.file} ({block.id}, commit {commit})")
    return failures


def rewrite_block(root: Path, block: fb.Block, fields: dict[str, str], body: str) -> None:
    """Rewrite one block in place (atomically), reading its page again first: another block
    of the page may have been rewritten since it was parsed, moving this one."""
    path = root / block.file
    text = path.read_text(encoding="utf-8")
    current = {b.id: b for b in fb.parse_blocks(text, block.file)}.get(block.id)
    if current is None:
        raise VmfError(f"block {block.id} is no longer in {block.file}")
    write_text(path, fb.rewrite(text, current, fields, body), newline="")


def main(
    argv=None, root: Path = fb.ROOT, registry: dict | None = None, machine: Machine | None = None
) -> int:
    args = parser().parse_args(argv)
    machine = machine or Machine()
    if registry is None:
        from figure_registry import REGISTRY as registry
    blocks = fb.all_blocks(root)
    fb.unique_ids(blocks)
    if args.list:
        return list_blocks(blocks, registry, root)
    if args.check:
        return check(blocks, root)
    chosen, skipped = choose(blocks, registry, args.only, args.slow)
    if not args.dry_run and not args.force:
        load, cores = machine.load()[0], machine.cores()
        if load > BUSY_SHARE * cores:
            raise VmfError(
                f"the machine is busy (1-minute load {load:.2f} on {cores} cores, above {BUSY_SHARE * cores:g}): "
                "figures measured now would be meaningless; wait, or --force"
            )
        dirty = fb.uncommitted(sorted({p for b in chosen for p in b.measures}), root)
        if dirty:
            raise VmfError(
                f"uncommitted changes to what the figures measure ({', '.join(dirty[:5])}"
                f"{', ...' if len(dirty) > 5 else ''}): they would name commit {fb.head_commit(root)}, which does "
                "not hold the measured code; commit first, or --force"
            )
    failures = refresh(chosen, registry, root, machine, dry=args.dry_run)
    for block, why in skipped:
        print(f"skipped {block.id} ({block.file}): {why}")
    if failures:
        print(f"{len(failures)} of {len(chosen)} blocks failed (left as they were):")
        for block, why in failures:
            print(f"  {block.id} ({block.file}): {why}")
        return 1
    if not args.dry_run:
        print(f"{len(chosen)} blocks re-measured" + (f", {len(skipped)} skipped" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
