"""scripts/refresh_figures.py on a scratch repository, with fake refreshers (nothing is timed).

A fake refresher runs a real command (a Python one-liner printing JSON) and renders a
table from it, so the whole path is exercised: choosing blocks, the busy and
uncommitted-changes gates, running each command once, rewriting the block (marker and
italic line) atomically, leaving a failed block as it was, --list, --check, --dry-run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import figure_blocks as fb  # noqa: E402
from scratch_git import git  # noqa: E402  (tests/docs is on sys.path: no __init__.py)
import refresh_figures as rf  # noqa: E402
from figure_steps import Refresher, Step, table  # noqa: E402


def printing(p50: float, count_file: Path | None = None) -> Step:
    """A command printing a JSON summary (and, given a file, appending to it: how often it ran)."""
    code = f"import json; print('progress'); print(json.dumps({{'p50': {p50}}}))"
    if count_file is not None:
        code = f"open({str(count_file)!r}, 'a').write('x'); " + code
    return Step(("{python}", "-c", code), f"python -c print-{p50}")


def render(results) -> str:
    return table(["model", "p50 ms"], [["fake", f"{results[0].json()['p50']:.1f} ms"]], right={1})


def registry(count_file: Path) -> dict[str, Refresher]:
    shared = printing(12.5, count_file)
    return {
        "fast": Refresher("fast", lambda: [shared], render, "fake-bench --json"),
        "also-fast": Refresher("also-fast", lambda: [shared], render, "fake-bench --json"),
        "slow": Refresher("slow", lambda: [printing(99.0)], render, "fake-slow", slow=True),
        "broken": Refresher(
            "broken", lambda: [Step(("{python}", "-c", "raise SystemExit(3)"), "fake-broken")], render, "x"
        ),
    }


def block(id: str, refresh: str | None, commit: str, **extra) -> str:
    fields = dict(
        id=id, commit=commit, date="2026-11-30", machine="2-core Old CPU, no GPU", load="7.25 → 6.88"
    )
    fields["command"] = "old command"
    if refresh:
        fields.update(measures="model/", refresh=refresh)
    fields.update(extra)
    old = "| model | p50 ms |\n|---|---:|\n| fake | 40.0 ms |\n"
    return fb.marker_line(fields) + "\n" + fb.italic_line(fields) + "\n\n" + old + "<!-- /figures -->\n"


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "model").mkdir()
    git(repo, "init", "-q")
    (repo / "model" / "net.py").write_text("a = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "the network")
    first = git(repo, "rev-parse", "--short", "HEAD")
    (repo / "README.md").write_text(
        "# R\n\nProse.  \n\n" + block("r-fast", "fast", first) + "\nMore prose.\n"
    )
    (repo / "docs" / "page.md").write_text(
        "# P\n\n"
        + block("p-also", "also-fast", first)
        + "\nbetween\n\n"
        + block("p-slow", "slow", first)
        + "\n"
        + block("p-broken", "broken", first)
        + "\n"
        + block("p-record", None, first, kind="record", why="its model is not committed")
        + "\nend\n"
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "the pages")
    return repo


IDLE = rf.Machine(
    load=lambda: (0.1, 0.1, 0.1),
    cores=lambda: 2,
    describe=lambda: "2-core Test CPU, no GPU",
    today=lambda: "2030-01-02",
)


def run(repo: Path, *argv: str, machine: rf.Machine = IDLE, tmp: Path | None = None) -> int:
    count = (tmp or repo.parent) / "count"
    return rf.run_main(lambda: rf.main(list(argv), root=repo, registry=registry(count), machine=machine))


def test_a_refresh_rewrites_the_block_and_nothing_around_it(repo, capsys):
    before = (repo / "README.md").read_text()
    assert run(repo, "--only", "r-fast") == 0
    after = (repo / "README.md").read_text()
    head = git(repo, "rev-parse", "--short", "HEAD")
    (new,) = fb.parse_blocks(after, "README.md")
    assert new.fields == dict(
        id="r-fast",
        commit=head,
        date="2030-01-02",
        machine="2-core Test CPU, no GPU",
        load="0.10 → 0.10",
        command="fake-bench --json",
        measures="model/",
        refresh="fast",
    )
    assert new.body == ["| model | p50 ms |", "|---|---:|", "| fake | 12.5 ms |"]
    assert after.startswith('# R\n\nProse.  \n\n<!-- figures id="r-fast"')
    assert after.endswith("<!-- /figures -->\n\nMore prose.\n") and before.endswith(
        "<!-- /figures -->\n\nMore prose.\n"
    )
    assert "1 blocks re-measured" in capsys.readouterr().out


def test_a_command_two_blocks_need_runs_once(repo, tmp_path):
    assert run(repo, "--only", "r-fast", "p-also", tmp=tmp_path) == 0
    assert (tmp_path / "count").read_text() == "x"
    page = (repo / "docs" / "page.md").read_text()
    assert (
        "| fake | 12.5 ms |" in page and page.count("| fake | 40.0 ms |") == 3
    )  # the other blocks untouched


def test_a_failed_refresher_leaves_its_block_and_fails_the_run(repo, capsys):
    before = (repo / "docs" / "page.md").read_text()
    assert run(repo, "--only", "p-broken", "p-also") == 1
    out = capsys.readouterr().out
    assert "1 of 2 blocks failed" in out and "p-broken (docs/page.md): fake-broken: exit status 3" in out
    after = (repo / "docs" / "page.md").read_text()
    broken = {b.id: b for b in fb.parse_blocks(after, "page.md")}["p-broken"]
    assert broken.fields["commit"] != git(repo, "rev-parse", "--short", "HEAD")
    assert {b.id: b for b in fb.parse_blocks(before, "page.md")}["p-broken"] == broken


def test_slow_blocks_are_skipped_and_listed_without_slow(repo, capsys):
    assert run(repo) == 1  # the broken block fails; the slow one is not run
    out = capsys.readouterr().out
    assert "skipped p-slow (docs/page.md): slow: --slow runs it" in out
    assert "| fake | 99.0 ms |" not in (repo / "docs" / "page.md").read_text()


def test_a_busy_machine_is_refused_unless_forced(repo, capsys):
    busy = rf.Machine(load=lambda: (1.6, 1.0, 1.0), cores=lambda: 2, describe=IDLE.describe, today=IDLE.today)
    before = (repo / "README.md").read_text()
    assert run(repo, "--only", "r-fast", machine=busy) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the machine is busy (1-minute load 1.60 on 2 cores") and "\n" not in err
    assert (repo / "README.md").read_text() == before
    assert run(repo, "--only", "r-fast", "--force", machine=busy) == 0
    assert "load 1.60 → 1.60" in (repo / "README.md").read_text()


def test_uncommitted_changes_to_what_is_measured_are_refused_unless_forced(repo, capsys):
    (repo / "model" / "net.py").write_text("a = 2\n")
    assert run(repo, "--only", "r-fast") == 1
    err = capsys.readouterr().err
    assert "uncommitted changes to what the figures measure (model/net.py)" in err
    assert run(repo, "--only", "r-fast", "--force") == 0


def test_dry_run_prints_the_commands_and_measures_nothing(repo, tmp_path, capsys):
    busy = rf.Machine(load=lambda: (9.0, 9.0, 9.0), cores=lambda: 2, describe=IDLE.describe, today=IDLE.today)
    before = (repo / "README.md").read_text()
    assert run(repo, "--dry-run", "--only", "r-fast", "p-also", machine=busy, tmp=tmp_path) == 0
    err = capsys.readouterr().err
    assert "would run: python -c print-12.5" in err and "would reuse: python -c print-12.5" in err
    assert (repo / "README.md").read_text() == before and not (tmp_path / "count").exists()


def test_list_and_check_say_which_blocks_are_stale(repo, capsys):
    assert run(repo, "--check") == 0
    capsys.readouterr()
    (repo / "model" / "net.py").write_text("a = 2\n")
    git(repo, "commit", "-qam", "a faster network")
    changed = git(repo, "rev-parse", "--short", "HEAD")
    assert run(repo, "--check") == 1
    out = capsys.readouterr().out
    first = git(repo, "rev-parse", "--short", "HEAD~2")
    assert f"r-fast (README.md): commit {first}; its paths changed since, last in {changed} (" in out
    assert "make figures ONLY=<id>" in out and "p-record" not in out
    assert run(repo, "--list") == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "stale" in listed["r-fast"] and "refresh slow (slow)" in listed["p-slow"]
    assert "record: its model is not committed" in listed["p-record"]


def test_choosing_an_unknown_block_or_a_record_is_one_error(repo, capsys):
    assert run(repo, "--only", "nope") == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: no block nope (python scripts/refresh_figures.py --list names them)"
    )
    assert run(repo, "--only", "p-record") == 1
    assert "p-record is a record, not re-measured here: its model is not committed" in capsys.readouterr().err
    assert run(repo, "--check", "--list") == 2  # a usage error


def test_a_settling_step_waits_for_the_load_to_fade_and_no_longer_than_its_cap(tmp_path):
    import figure_steps

    loads = iter([1.8, 1.4, 1.1, 0.9, 0.2])  # 1-minute load averages, one read per check
    slept = []
    runner = figure_steps.Runner(
        root=tmp_path,
        scratch=tmp_path,
        log=lambda m: None,
        load=lambda: (next(loads), 0.0, 0.0),
        cores=lambda: 2,
        sleep=slept.append,
    )
    runner.settle()
    assert len(slept) == 3  # 1.8, 1.4 and 1.1 are at or above half of 2 cores; 0.9 is not

    slept.clear()
    busy = figure_steps.Runner(
        root=tmp_path,
        scratch=tmp_path,
        log=lambda m: None,
        load=lambda: (5.0, 0, 0),
        cores=lambda: 2,
        sleep=slept.append,
    )
    busy.settle()
    assert sum(slept) == figure_steps.SETTLE_MAX_S  # a machine that stays busy is not waited on forever
