"""What a refresher is and how its commands run (scripts/refresh_figures.py).

A ``Refresher`` re-measures the figures of every block that names it
(``refresh="..."``, docs/performance.md, "Where every figure comes from"): a list of
``Step``s, the real commands (``vmf-bench``, ``vmf-export``, the measurement scripts),
and a ``render`` function that turns their output into the block's markdown, in the
columns the block has today. A step's command may hold placeholders, filled when it
runs: ``{python}`` (this interpreter), ``{bin}`` (its console scripts: ``vmf-bench``,
``vmf-export``), ``{scratch}`` (a folder for this invocation's exports and outputs) and
``{glob:PATTERN}`` (the one file under ``{scratch}`` an earlier step wrote). Steps run
in the repository root; the same command runs once per invocation, however many blocks
ask for it (``bench-main`` feeds docs/performance.md and the README).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vmf.model.errors import VmfError

BUSY_WARMUP_S = 20.0  # a busy step starts its loops this long before (the load average lags)
BUSY_LOOP = "while True: pass"
SETTLE_LOAD = 0.5  # a settling step waits for the 1-minute load per core to fall below this
SETTLE_MAX_S = 120.0  # and no longer than this (the load average lags a minute behind)


class StepFailed(VmfError):
    """A step's command failed or wrote nothing a renderer can read."""


@dataclass(frozen=True)
class Step:
    argv: tuple[str, ...]
    shown: str  # the command as a reader would type it
    busy: int = 0  # run beside this many busy loops (a "busy machine" row)
    timeout_s: float | None = None
    # Wait for the load the previous steps left to fade first: a step that reads the load
    # (vmf-stream --spin auto) would otherwise see the benchmark before it as a busy machine.
    settle: bool = False


@dataclass
class Result:
    step: Step
    stdout: str
    scratch: Path
    load_before: float
    load_after: float

    def json(self) -> dict:
        """The last stdout line that is a JSON object (what ``--json`` prints last)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    continue
        raise StepFailed(f"{self.step.shown}: printed no JSON object")

    def file(self, name: str) -> Path:
        path = self.scratch / name
        if not path.is_file():
            raise StepFailed(f"{self.step.shown}: wrote no {name}")
        return path


@dataclass(frozen=True)
class Refresher:
    name: str
    steps: Callable[[], list[Step]]
    render: Callable[[list[Result]], str]
    command: str  # what the block's marker names after a refresh
    slow: bool = False  # takes more than a few minutes: only with --slow (or --only)
    about: str = ""


@dataclass
class Runner:
    """Runs steps (each command once), or, with ``dry``, only says what it would run."""

    root: Path
    scratch: Path
    log: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))
    dry: bool = False
    load: Callable[[], tuple[float, float, float]] = os.getloadavg
    cores: Callable[[], int] = lambda: os.cpu_count() or 1
    sleep: Callable[[float], None] = time.sleep
    _done: dict = field(default_factory=dict)

    def expand(self, arg: str) -> str:
        arg = (
            arg.replace("{python}", sys.executable)
            .replace("{bin}", str(Path(sys.executable).parent))
            .replace("{scratch}", str(self.scratch))
        )
        if arg.startswith("{glob:") and arg.endswith("}"):
            pattern = arg[len("{glob:") : -1]
            found = sorted(self.scratch.glob(pattern))
            if len(found) != 1:
                raise StepFailed(f"expected one file {pattern} in the scratch folder, found {len(found)}")
            return str(found[0])
        return arg

    def run(self, step: Step) -> Result | None:
        key = (step.argv, step.busy)
        if key in self._done:
            done = self._done[key]
            self.log(f"  {'would reuse' if self.dry else 'reusing'}: {step.shown} (run for an earlier block)")
            if isinstance(done, StepFailed):  # a failed command fails every block that needs it, once
                raise done
            return done
        if self.dry:
            beside = (
                f"   (beside {step.busy} busy loops started {BUSY_WARMUP_S:.0f} s before)"
                if step.busy
                else ""
            )
            self.log(f"  would run: {step.shown}{beside}")
            self._done[key] = None
            return None
        try:
            result = self._run(step)
        except StepFailed as exc:
            self._done[key] = exc
            raise
        self._done[key] = result
        return result

    def settle(self) -> None:
        """Wait (at most ``SETTLE_MAX_S``) for the 1-minute load to fall below ``SETTLE_LOAD`` a core."""
        waited = 0.0
        while self.load()[0] >= SETTLE_LOAD * self.cores() and waited < SETTLE_MAX_S:
            self.sleep(5.0)
            waited += 5.0

    def _run(self, step: Step) -> Result:
        argv = [self.expand(a) for a in step.argv]
        self.log(f"  running: {step.shown}")
        if step.settle:
            self.settle()
        loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(step.busy)]
        try:
            if loops:
                time.sleep(BUSY_WARMUP_S)
            before = self.load()[0]
            try:
                done = subprocess.run(
                    argv, cwd=self.root, stdout=subprocess.PIPE, text=True, timeout=step.timeout_s
                )
            except subprocess.TimeoutExpired as exc:
                raise StepFailed(f"{step.shown}: no result after {step.timeout_s:.0f} s") from exc
            except OSError as exc:
                raise StepFailed(f"{step.shown}: cannot run it ({exc})") from exc
            after = self.load()[0]
        finally:
            for loop in loops:
                loop.terminate()
            for loop in loops:
                loop.wait()
        if done.returncode != 0:
            raise StepFailed(f"{step.shown}: exit status {done.returncode}")
        return Result(step, done.stdout, self.scratch, before, after)


def readable(args) -> str:
    """A command line as the block shows it: scratch paths relative, globs as their pattern."""
    out = []
    for arg in args:
        if arg.startswith("{glob:") and arg.endswith("}"):
            arg = arg[len("{glob:") : -1]
        arg = arg.replace("{scratch}/", "")
        out.append(f'"{arg}"' if (" " in arg or "," in arg) and not arg.startswith('"') else arg)
    return " ".join(out)


def console(name: str, *args: str, **kw) -> Step:
    """A step running one of vmf's console scripts (vmf-bench, vmf-export, vmf-data)."""
    return Step(("{bin}/" + name, *args), readable((name, *args)), **kw)


def script(path: str, *args: str, **kw) -> Step:
    """A step running ``python <path> ARGS`` (``path`` "-m" for ``python -m module``)."""
    return Step(("{python}", path, *args), readable(("python", path, *args)), **kw)


def joined(steps: list[Step]) -> str:
    """The steps' commands as one marker ``command``, in order, each once."""
    seen: list[str] = []
    for step in steps:
        shown = step.shown + (f" (beside {step.busy} busy loops)" if step.busy else "")
        if shown not in seen:
            seen.append(shown)
    return " ; ".join(seen)


# --------------------------------------------------------------------------- rendering helpers


def table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """A GitHub pipe table; columns in ``right`` right-aligned (``---:``)."""
    sep = "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"
    body = ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(["| " + " | ".join(header) + " |", sep, *body])


def num(value, digits: int = 1, unit: str = "", missing: str = "—") -> str:
    if value is None:
        return missing
    return f"{value:.{digits}f}{unit}"


def pct(value, digits: int = 1) -> str:
    """0.975 -> '97.5 %'; exactly 1 -> '100 %' (as the docs write it)."""
    if value is None:
        return "—"
    return "100 %" if abs(value - 1) < 1e-12 else f"{value * 100:.{digits}f} %"


def sci(value: float) -> str:
    """7.3e-07 -> '7.3e-7'; 0 -> '0'."""
    if not value:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"
