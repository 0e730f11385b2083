"""vmf-bench --paced and --spin: one clip every MS beside back to back, on a fake clock.

The fake runtime parks its pool when idle (``IdleSensitiveBackend``: 5 ms right after a call,
15 ms after more than 100 ms idle, unless ONNX Runtime's pool may spin), so the paced figure
must come out slower than the back-to-back one, in every rendering, and spinning must reach it.
"""

import csv
import json
import subprocess

import pytest
from bench_fakes import FakeClock, IdleSensitiveBackend

from vmf.benchmarks import cli
from vmf.benchmarks import measure as measure_mod
from vmf.benchmarks.measure import measure_isolated
from vmf.benchmarks.rows import COLUMNS
from vmf.benchmarks.timing import PACED_MAX_RUNS, PACED_MIN_RUNS, TimingOptions, time_paced
from vmf.runtime import thread_plan

TINY = ["--frames", "8", "--resolution", "8", "--warmup", "1", "--runs", "4", "--threads", "1"]


def bench(args, tools, tmp_path, capsys):
    code = cli.main([*TINY, *args, "--cache", str(tmp_path / "cache")], tools=tools)
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


# --- the paced loop itself -------------------------------------------------------------------


def _call(clock, durations):
    it, starts = iter(durations), []

    def call():
        starts.append(clock.now)
        clock.now += next(it)

    return call, starts


def test_calls_start_on_ticks_and_the_sleep_is_not_timed():
    clock = FakeClock()
    call, starts = _call(clock, [0.010, 0.020, 0.030])
    samples = time_paced(call, 0.25, runs=3, clock=clock, sleep=clock.sleep)
    assert samples == pytest.approx([0.010, 0.020, 0.030])
    assert starts == pytest.approx([0.25, 0.50, 0.75])  # the first one, too, after an idle period
    assert clock.slept == pytest.approx([0.25, 0.24, 0.23])


def test_a_call_longer_than_the_period_skips_the_hops_due_meanwhile():
    clock = FakeClock()
    call, starts = _call(clock, [0.010, 0.600, 0.010, 0.010])
    time_paced(call, 0.25, runs=4, clock=clock, sleep=clock.sleep)
    # The second call (0.5 s) ends at 1.1 s: ticks 0.75 and 1.0 were missed, as a live stream skips them.
    assert starts == pytest.approx([0.25, 0.50, 1.25, 1.50])


def test_the_paced_run_count_is_bounded_by_min_time_and_its_limits():
    clock = FakeClock()
    call, _ = _call(clock, [0.010] * 100)
    # 2 s of wall time at 0.25 s a call: 8 calls, but at least PACED_MIN_RUNS.
    assert len(time_paced(call, 0.25, min_time=2.0, clock=clock, sleep=clock.sleep)) == PACED_MIN_RUNS
    call, _ = _call(clock, [0.010] * 100)
    assert len(time_paced(call, 0.25, min_time=3.5, clock=clock, sleep=clock.sleep)) == 14
    call, _ = _call(clock, [0.010] * 100)
    assert len(time_paced(call, 0.25, min_time=60.0, clock=clock, sleep=clock.sleep)) == PACED_MAX_RUNS


@pytest.mark.parametrize("kwargs", [{"period": 0}, {"period": 0.1, "runs": 0}])
def test_bad_paced_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        time_paced(lambda: None, clock=FakeClock(), sleep=lambda s: None, **kwargs)


# --- vmf-bench --paced end to end ------------------------------------------------------------


@pytest.fixture
def idle_sensitive(loader):
    loader.backend_class = IdleSensitiveBackend
    return loader


def test_paced_p50_is_slower_than_back_to_back_in_json_csv_and_markdown(
    tools, idle_sensitive, tmp_path, capsys
):
    csv_path, md_path = tmp_path / "bench.csv", tmp_path / "bench.md"
    code, out, _ = bench(
        [
            "--backend",
            "onnxruntime",
            "tflite",
            "--paced",
            "267",
            "--spin",
            "off",
            "--csv",
            str(csv_path),
            "--markdown",
            str(md_path),
            "--json",
        ],
        tools,
        tmp_path,
        capsys,
    )
    assert code == 0
    result = last_json(out)
    assert result["paced_ms"] == 267.0
    assert result["spin"] == {"asked": "off", "on": False, "reason": "--spin off"}
    rows = result["results"]
    for r in rows:
        assert r["p50_ms"] == pytest.approx(5.0) and r["p90_ms"] == pytest.approx(5.0)  # back to back
        assert r["paced_p50_ms"] == pytest.approx(15.0) and r["paced_p90_ms"] == pytest.approx(15.0)
        assert r["paced_ms"] == 267.0
        # --min-time 2 s at 267 ms a clip is 8 clips: the floor applies.
        assert r["paced_runs"] == PACED_MIN_RUNS and r["runs"] == 4
    assert [r["spin"] for r in rows] == [False, None]  # LiteRT's pool has no switch
    # Each paced call came after an idle gap of about one period, never after a back-to-back one.
    for backend in idle_sensitive.loaded:
        paced_gaps = backend.idle_before[-PACED_MIN_RUNS:]
        assert all(0.1 < gap <= 0.267 for gap in paced_gaps)
        assert all(gap == 0 for gap in backend.idle_before[1:5])  # warm-up and the timed runs
    with open(csv_path, newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == list(COLUMNS)
    assert [float(t["paced_p50_ms"]) for t in table] == pytest.approx([15.0, 15.0])
    assert [float(t["p50_ms"]) for t in table] == pytest.approx([5.0, 5.0])
    assert [t["spin"] for t in table] == ["False", ""]
    md = md_path.read_text()
    header = next(line for line in md.splitlines() if line.startswith("| model |"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    body = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in md.splitlines()
        if line.startswith("| VMF-560M |")
    ][:2]  # the readable table (the full one follows, folded)
    for row in body:
        cell = dict(zip(cells, row))
        assert (cell["p50 ms"], cell["paced p50"], cell["paced/b2b"]) == ("5.00", "15.00", "3.00x")
        assert cell["every ms"] == "267"
    assert [dict(zip(cells, row))["spin"] for row in body] == ["off", "-"]
    assert "**Spin-wait:** off (--spin off)." in md
    assert "one clip every 267 ms p50 15.0 ms vs back to back 5.0 ms: paced 3.00x" in md
    assert "paced p50" in out and "3.00x" in out  # the printed table


def test_spinning_reaches_the_runtime_that_has_the_switch(tools, idle_sensitive, tmp_path, capsys):
    code, out, _ = bench(
        ["--backend", "onnxruntime", "tflite", "--paced", "267", "--json"], tools, tmp_path, capsys
    )
    assert code == 0
    rows = {r["backend"]: r for r in last_json(out)["results"]}
    assert [b.spin for b in idle_sensitive.loaded] == [True, True]  # vmf-bench's default: on
    assert rows["onnxruntime"]["spin"] is True
    assert rows["onnxruntime"]["paced_p50_ms"] == pytest.approx(5.0)  # a spinning pool stays warm
    assert rows["tflite"]["paced_p50_ms"] == pytest.approx(15.0)


@pytest.mark.parametrize("load, on", [(0.2, True), (9.0, False)])
def test_spin_auto_chooses_from_the_load(tools, idle_sensitive, tmp_path, capsys, monkeypatch, load, on):
    monkeypatch.setattr(thread_plan, "load_average", lambda: load)
    monkeypatch.setattr(thread_plan, "available_cores", lambda: 2)
    code, out, _ = bench(["--backend", "onnxruntime", "--spin", "auto", "--json"], tools, tmp_path, capsys)
    assert code == 0
    result = last_json(out)
    assert result["spin"] == {"asked": "auto", "on": on, "reason": f"auto: load {load:.1f} of 2 cores"}
    assert idle_sensitive.loaded[0].spin is on and result["results"][0]["spin"] is on
    assert result["paced_ms"] is None and result["results"][0]["paced_p50_ms"] is None
    assert "paced p50" not in out  # no paced columns in a table that was not paced


def test_hop_and_fps_set_the_pace_and_paced_runs_the_count(tools, idle_sensitive, tmp_path, capsys):
    code, out, _ = bench(
        ["--backend", "tflite", "--hop", "8", "--fps", "30", "--paced-runs", "7", "--json"],
        tools,
        tmp_path,
        capsys,
    )
    assert code == 0
    (row,) = last_json(out)["results"]
    assert row["paced_ms"] == pytest.approx(1000 * 8 / 30) and row["paced_runs"] == 7


def test_fps_alone_paces_at_the_streams_hop(tools, idle_sensitive, tmp_path, capsys):
    from vmf.runtime.clip_assembler import HOP

    code, out, _ = bench(["--backend", "tflite", "--fps", "25", "--json"], tools, tmp_path, capsys)
    assert code == 0 and last_json(out)["paced_ms"] == pytest.approx(1000 * HOP / 25)


def test_the_plot_draws_paced_points_beside_the_back_to_back_ones(monkeypatch, tmp_path):
    import matplotlib.axes

    from vmf.benchmarks.plot import plot_latency
    from vmf.benchmarks.rows import Row

    drawn = []
    original = matplotlib.axes.Axes.plot

    def record(self, xs, ys, *args, **kwargs):
        drawn.append((list(ys), kwargs.get("marker"), kwargs.get("label")))
        return original(self, xs, ys, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", record)
    row = Row("560M", False, "tflite", "fp32", None, 2, "cpu", 64, 172, macs=5 * 10**8, model="VMF-560M")
    row.p50_ms, row.paced_ms, row.paced_p50_ms = 20.0, 267.0, 40.0
    plot_latency([row], tmp_path / "p.png")
    assert ([20.0], "o", "tflite fp32 2t") in drawn
    assert ([40.0], "^", "tflite fp32 2t, paced") in drawn


@pytest.mark.parametrize(
    "args, message",
    [
        (["--paced", "0"], "argument --paced: '0' must be > 0"),
        (["--paced", "fast"], "argument --paced: 'fast' is not a number of milliseconds"),
        (["--paced", "100", "--fps", "30"], "argument --fps: not allowed with argument --paced"),
        (["--hop", "8"], "--hop goes with --stream (frames between clips) or --fps"),
        (["--paced-runs", "5"], "--paced-runs needs --paced MS or --fps F"),
        (["--model", "m.onnx", "--stream", "--paced", "100"], "--paced paces the rows of a table"),
        (["--spin", "sometimes"], "argument --spin: invalid choice: 'sometimes'"),
    ],
)
def test_pacing_mistakes_are_one_line_exit_2(args, message, capsys):
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("error: " + message) and err.rstrip().endswith("(see vmf-bench --help)")


def test_a_row_in_its_own_process_gets_the_pace_and_the_spin(monkeypatch):
    sent = {}

    def run(cmd, **kwargs):
        sent.update(json.loads(cmd[-1]))
        answer = {
            "samples": [0.005] * 3,
            "device": "fake",
            "backend": "onnxruntime",
            "form": None,
            "converter": None,
            "parity": None,
            "peak_rss_mb": 1.0,
            "paced": [0.015] * 10,
            "spin": False,
        }
        return subprocess.CompletedProcess(cmd, 0, json.dumps(answer) + "\n", "")

    monkeypatch.setattr(measure_mod.subprocess, "run", run)
    timing = TimingOptions(warmup=0, runs=3, paced_ms=267.0, paced_runs=10, spin=False)
    m = measure_isolated("m.onnx", "onnxruntime", 2, "cpu", timing)
    assert sent["timing"]["paced_ms"] == 267.0 and sent["timing"]["paced_runs"] == 10
    assert sent["timing"]["spin"] is False
    assert m.paced == [0.015] * 10 and m.spin is False
    assert TimingOptions(**sent["timing"]) == timing  # what the worker rebuilds
