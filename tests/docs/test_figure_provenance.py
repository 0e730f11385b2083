"""Every published figure carries its provenance (docs/performance.md, "Where every figure comes from").

The checks on the real pages: every figure block parses and names its commit, date,
machine, load and command (and what it measures, or why it is a record); every markdown
table of measured figures lies in a block; no block names a commit older than the last
change to what it measures. Then the parser, the rewriter and the table rule on small
synthetic pages, and the staleness check on a scratch git repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import figure_blocks as fb  # noqa: E402
from scratch_git import git  # noqa: E402  (tests/docs is on sys.path: no __init__.py)
from figure_registry import REGISTRY  # noqa: E402


@pytest.fixture(scope="module")
def blocks() -> list[fb.Block]:
    return fb.all_blocks(ROOT)  # a malformed marker fails here, naming its file and line


# --------------------------------------------------------------------------- the real pages


def test_every_block_names_its_provenance(blocks):
    assert len(blocks) >= 20, "the walk found too few blocks: are README.md and docs/*.md read?"
    fb.unique_ids(blocks)
    problems = []
    for b in blocks:
        missing = [k for k in fb.REQUIRED if not b.fields.get(k, "").strip()]
        if missing:
            problems.append(f"{b.where()} {b.id}: no {', '.join(missing)}")
        if b.is_record:
            if not b.fields.get("why", "").strip():
                problems.append(f"{b.where()} {b.id}: a record without why")
            continue
        if not b.measures:
            problems.append(f"{b.where()} {b.id}: measures nothing")
        gone = fb.missing_paths(b, ROOT)
        if gone:  # a misspelt path would never change, so the block would never be stale
            problems.append(f"{b.where()} {b.id}: measures paths that do not exist: {', '.join(gone)}")
        if b.refresh not in REGISTRY:
            problems.append(f"{b.where()} {b.id}: refresh={b.refresh!r} is not in scripts/figure_registry.py")
        if not b.body:
            problems.append(f"{b.where()} {b.id}: holds no figures")
    assert problems == [], "\n".join(problems)


def test_every_table_of_measured_figures_is_in_a_block():
    outside = []
    for path in fb.doc_files(ROOT):
        text = path.read_text(encoding="utf-8")
        spans = [(b.open_line, b.close_line) for b in fb.parse_blocks(text, path.name)]
        for table in fb.markdown_tables(text):
            reason = fb.measured_reason(table)
            if reason and not any(a < table.start and table.end < z for a, z in spans):
                outside.append(f"{path.relative_to(ROOT)}:{table.start + 1}: {reason}")
    assert outside == [], (
        "tables of measured figures outside any figure block (wrap each in a marker naming its "
        "commit, date, machine, load and command: docs/performance.md, 'Where every figure comes from'):\n  "
        + "\n  ".join(outside)
    )


def test_the_refreshers_and_the_blocks_agree(blocks):
    named = {b.refresh for b in blocks if not b.is_record}
    unused = sorted(set(REGISTRY) - named)
    assert unused == [], f"refreshers no block names (remove them, or name them in a block): {unused}"
    for refresher in REGISTRY.values():
        steps = refresher.steps()
        assert steps and refresher.command, refresher.name


# --------------------------------------------------------------------------- the parser


def marker(**fields) -> str:
    base = dict(
        id="t-one", commit="abc1234", date="2026-12-07", machine="2-core Test CPU, no GPU", load="0.10 → 0.20"
    )
    base.update(command="vmf-bench --variant 560M", measures="model/", refresh="fake")
    base.update(fields)
    base = {k: v for k, v in base.items() if v is not None}
    return fb.marker_line(base) + "\n" + fb.italic_line(base) + "\n"


TABLE = "| model | p50 ms |\n|---|---:|\n| VMF-560M | 26.1 |\n"
PAGE = (
    "# Page\n\nProse before, kept byte for byte.  \n\n"
    + marker()
    + "\n"
    + TABLE
    + "<!-- /figures -->\n\nProse between.\n\n- a list item:\n\n  "
    + marker(
        id="t-two", kind="record", why="the model is not committed", measures=None, refresh=None
    ).replace("\n", "\n  ", 1)
    + "\n  | a | top-1 |\n  |---|---|\n  | x | 97.5 % |\n  <!-- /figures -->\n\nProse after.\n"
)


def test_blocks_parse_with_their_fields_and_body():
    one, two = fb.parse_blocks(PAGE, "page.md")
    assert (one.id, one.fields["commit"], one.measures, one.refresh, one.is_record) == (
        "t-one",
        "abc1234",
        ["model/"],
        "fake",
        False,
    )
    assert one.body == TABLE.strip("\n").split("\n")
    assert two.is_record and two.indent == "  " and two.fields["why"] == "the model is not committed"
    assert two.body[0] == "| a | top-1 |"


def test_a_rewritten_block_leaves_every_byte_around_it():
    one, two = fb.parse_blocks(PAGE, "page.md")
    fields = dict(
        one.fields,
        commit="def5678",
        date="2030-01-02",
        load="0.05 → 0.07",
        command='python x.py --rows "a,b" <in',
    )
    new = fb.rewrite(
        PAGE, one, fields, "| model | p50 ms |\n|---|---:|\n| VMF-560M | 20.0 |\n| VMF-1G | 80.0 |"
    )
    lines, new_lines = PAGE.splitlines(keepends=True), new.splitlines(keepends=True)
    assert new_lines[: one.open_line] == lines[: one.open_line]
    tail = len(lines) - one.close_line
    assert new_lines[-tail:] == lines[-tail:]  # from the closing marker on, the page is as it was
    again_one, again_two = fb.parse_blocks(new, "page.md")
    assert again_one.fields == fields  # quotes and '<' survive the marker's escaping
    assert again_one.body[-1] == "| VMF-1G | 80.0 |"
    assert again_two.fields == two.fields and again_two.body == two.body


def test_a_block_in_a_list_item_is_rewritten_at_its_indentation():
    _, two = fb.parse_blocks(PAGE, "page.md")
    new = fb.rewrite(
        PAGE, two, dict(two.fields, date="2030-01-02"), "| a | top-1 |\n|---|---|\n| y | 50.0 % |"
    )
    assert "\n  | y | 50.0 % |\n  <!-- /figures -->\n\nProse after.\n" in new
    assert fb.parse_blocks(new, "page.md")[1].fields["date"] == "2030-01-02"


@pytest.mark.parametrize(
    "page, error",
    [
        (marker(commit=None) + TABLE + "<!-- /figures -->\n", "page.md:1: the marker lacks commit"),
        (marker(load="") + TABLE + "<!-- /figures -->\n", "page.md:1: the marker lacks load"),
        (marker(measures=None) + TABLE + "<!-- /figures -->\n", "page.md:1: the marker lacks measures"),
        (marker(kind="record", refresh=None) + TABLE + "<!-- /figures -->\n", "says why it cannot be re-run"),
        (
            marker(commit="HEAD") + TABLE + "<!-- /figures -->\n",
            "commit 'HEAD' is not an abbreviated git hash",
        ),
        (marker(date="7 Dec") + TABLE + "<!-- /figures -->\n", "date '7 Dec' is not YYYY-MM-DD"),
        (marker(id="Perf Main") + TABLE + "<!-- /figures -->\n", "id 'Perf Main' is not lower-case words"),
        (marker() + TABLE, "page.md:1: block 't-one' is never closed"),
        (TABLE + "<!-- /figures -->\n", "page.md:4: <!-- /figures --> without an opening marker"),
        (
            marker() + marker(id="t-two") + "<!-- /figures -->\n",
            "page.md:3: a block opens inside block 't-one'",
        ),
        (marker().replace('load="', 'lod="') + TABLE + "<!-- /figures -->\n", "unknown field 'lod'"),
        (marker().replace("2-core", "4-core", 1) + TABLE + "<!-- /figures -->\n", "must be the italic line"),
        ('<!-- figure id="x" -->\n', "page.md:1: a malformed figures marker"),
        ("```\n" + marker() + "```\n", "page.md:2: a figures marker inside a code block"),
    ],
)
def test_a_malformed_marker_is_one_clear_error(page, error):
    with pytest.raises(fb.FigureBlockError) as caught:
        fb.parse_blocks(page, "page.md")
    message = str(caught.value)
    assert error in message and "\n" not in message


def test_a_marker_in_a_markdown_example_is_not_a_block():
    page = "```markdown\n" + marker() + TABLE + "<!-- /figures -->\n```\n"
    assert fb.parse_blocks(page, "page.md") == []
    assert fb.markdown_tables(page) == []


def test_ids_are_unique_across_pages():
    a = fb.parse_blocks(marker() + TABLE + "<!-- /figures -->\n", "a.md")
    b = fb.parse_blocks(marker() + TABLE + "<!-- /figures -->\n", "b.md")
    with pytest.raises(fb.FigureBlockError, match="b.md:1: id 't-one' is already used at a.md:1"):
        fb.unique_ids(a + b)


# --------------------------------------------------------------------------- the table rule


def one_table(text: str) -> fb.Table:
    (table,) = fb.markdown_tables(text)
    return table


@pytest.mark.parametrize(
    "text",
    [
        "| model | p50 ms |\n|---|---|\n| a | 1 |\n",  # a measured quantity in the header
        "| variant | p50_ms | size_mb |\n|---|---|---|\n| 560M | 26.13 | 18.3 |\n",  # the CSV's column names
        "| backend | time |\n|---|---|\n| ONNX Runtime | 26.1 ms |\n",  # a time in a cell
        "| model | held-out |\n|---|---|\n| demo | 97.5 % |\n",  # a share
        "| runtime | paced / back to back |\n|---|---|\n| LiteRT | 1.18× |\n",  # a ratio
        "| model | file |\n|---|---|\n| demo | 15.8 MB |\n",  # a size
        "| variant | server: NNAPI |\n|---|---|\n| 560M | 77 |\n",  # partitions per accelerator
        "  | converter | median latency |\n  |---|---|\n  | a | 21.8 |\n",  # indented in a list item
    ],
)
def test_a_table_of_measured_figures_is_recognised(text):
    assert fb.measured_reason(one_table(text))


@pytest.mark.parametrize(
    "text",
    [
        "| flag | what it does |\n|---|---|\n| `--hop` | frames between clips (default 8) |\n",
        "| variant | k_t, s_t, p | T' |\n|---|---|---|\n| 560M | 8, 8, 0 | 8 |\n",
        "| model | clip |\n|---|---|\n| VMF-1G | 8 x 64^2 |\n| VMF-560M | 64x172 |\n",  # clip sizes, not ratios
        "| package | version |\n|---|---|\n| onnxruntime-web | 1.31.1 |\n",
        "| key | meaning |\n|---|---|\n| items | terms and forms |\n",  # 'ms' inside words
    ],
)
def test_a_table_without_measured_figures_is_not(text):
    assert fb.measured_reason(one_table(text)) is None


def test_tables_in_code_are_not_tables():
    assert fb.markdown_tables("```\n| a | p50 ms |\n|---|---|\n| x | 1 ms |\n```\n") == []


# --------------------------------------------------------------------------- staleness against git


def commit_file(repo: Path, path: str, text: str) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", f"change {path}")
    return git(repo, "rev-parse", "--short", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    return repo


def block_at(commit: str, measures: str = "model/") -> fb.Block:
    (block,) = fb.parse_blocks(
        marker(commit=commit, measures=measures) + TABLE + "<!-- /figures -->\n", "p.md"
    )
    return block


def test_a_block_is_stale_once_a_later_commit_changes_what_it_measures(repo):
    measured = commit_file(repo, "model/net.py", "a = 1\n")
    assert fb.staleness(block_at(measured), repo).state == "fresh"
    commit_file(repo, "docs/other.md", "prose\n")  # what the block does not measure
    assert fb.staleness(block_at(measured), repo).state == "fresh"
    changed = commit_file(repo, "model/net.py", "a = 2\n")
    s = fb.staleness(block_at(measured), repo)
    assert s.state == "stale" and s.newest.startswith(changed)
    assert fb.staleness(block_at(changed), repo).state == "fresh"


def test_a_commit_the_repository_lacks_is_an_error_unless_the_clone_is_shallow(repo, tmp_path):
    first = commit_file(repo, "model/net.py", "a = 1\n")
    commit_file(repo, "model/net.py", "a = 2\n")
    with pytest.raises(
        fb.FigureBlockError, match="names commit 0000000, which this repository does not have"
    ):
        fb.staleness(block_at("0000000"), repo)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    s = fb.staleness(block_at(first), shallow)
    assert (s.state, s.reason) == ("skip", f"the shallow clone lacks commit {first}")


def test_outside_a_git_checkout_staleness_is_skipped_with_the_reason(tmp_path):
    s = fb.staleness(block_at("abc1234"), tmp_path)
    assert s.state == "skip" and "not a git checkout" in s.reason


def test_uncommitted_changes_are_found_under_the_measured_paths(repo):
    commit_file(repo, "model/net.py", "a = 1\n")
    commit_file(repo, "docs/page.md", "prose\n")
    assert fb.uncommitted(["model/"], repo) == []
    (repo / "model" / "net.py").write_text("a = 3\n")
    (repo / "docs" / "page.md").write_text("other prose\n")
    assert fb.uncommitted(["model/"], repo) == ["model/net.py"]


def test_the_machine_is_named_short():
    assert fb.short_cpu_name("Intel(R) Xeon(R) Processor") == "Intel Xeon"
    assert fb.short_cpu_name("Intel(R) Xeon(R) CPU @ 2.20GHz") == "Intel Xeon"
    assert fb.short_cpu_name("AMD EPYC 7B13 64-Core Processor") == "AMD EPYC 7B13"
    assert fb.load_span(0.974, 0.61) == "0.97 → 0.61"


# --------------------------------------------------------------------------- staleness of the real pages


def test_no_block_is_older_than_what_it_measures():
    """Last in this file: it fails whenever measured code changes, until the figures are re-measured."""
    stale, skipped = [], []
    for b in fb.all_blocks(ROOT):
        if b.is_record:
            continue
        s = fb.staleness(b, ROOT)
        if s.state == "stale":
            stale.append(
                f"{b.id} ({b.file}): names commit {b.fields['commit']}; its paths changed since, last in {s.newest}; "
                f"re-measure: make figures ONLY={b.id}"
            )
        elif s.state == "skip":
            skipped.append(f"{b.id}: {s.reason}")
    assert stale == [], (
        f"{len(stale)} figure blocks are stale (the code they measure changed after the commit they name; "
        "python scripts/refresh_figures.py --only ID re-measures one on an idle machine):\n  "
        + "\n  ".join(stale)
    )
    if skipped:
        pytest.skip("staleness not checked for " + "; ".join(skipped))
