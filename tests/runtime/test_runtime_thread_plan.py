"""The thread plan's spin-wait choice: --spin auto from the measured load, on/off as asked."""

import pytest

from vmf.runtime import thread_plan
from vmf.runtime.thread_plan import ThreadPlan, choose_spin, plan_threads

from runtime_fixtures import LevelBackend, fake_meta


def _load(value):
    calls = []

    def read():
        calls.append(value)
        return value

    return read, calls


def test_auto_spins_on_an_otherwise_idle_machine():
    read, calls = _load(0.3)
    plan = plan_threads(2, cores=2, load=read)
    assert calls == [0.3] and plan.spin is True
    assert "inference 2 (spin-wait on (auto: load 0.3 of 2 cores))" in plan.describe()


def test_auto_does_not_spin_on_a_busy_machine():
    read, _ = _load(7.2)
    plan = plan_threads(2, cores=2, spin="auto", load=read)
    assert plan.spin is False
    assert "spin-wait off (auto: load 7.2 of 2 cores)" in plan.describe()


def test_auto_threshold_is_half_the_cores():
    # Just under and at the threshold: AUTO_SPIN_MAX_LOAD_PER_CORE of 8 cores is a load of 4.
    assert choose_spin("auto", inference=4, cores=8, load=lambda: 3.9)[0] is True
    assert choose_spin("auto", inference=4, cores=8, load=lambda: 4.0)[0] is False


def test_without_a_load_average_auto_falls_back_to_fitting_the_cores():
    on, why = choose_spin(None, inference=1, cores=4, load=lambda: None)
    assert on is True and why == "auto: no load average here; 1 inference + 2 stream threads <= 4 cores"
    on, why = choose_spin(None, inference=2, cores=2, load=lambda: None)
    assert on is False and why == "auto: no load average here; 2 inference + 2 stream threads > 2 cores"


@pytest.mark.parametrize("asked, on", [("on", True), (True, True), ("off", False), (False, False)])
def test_an_explicit_choice_ignores_the_load(asked, on):
    read, calls = _load(100.0)
    plan = plan_threads(1, cores=2, spin=asked, load=read)
    assert plan.spin is on and calls == []
    assert plan.spin_reason == f"--spin {'on' if on else 'off'}"


def test_the_default_reader_is_the_module_one(monkeypatch):
    monkeypatch.setattr(thread_plan, "load_average", lambda: 0.0)
    assert plan_threads(2, cores=2).spin is True
    monkeypatch.setattr(thread_plan, "load_average", lambda: 5.0)
    assert plan_threads(2, cores=2).spin is False


def test_a_bad_spin_value_is_refused():
    with pytest.raises(ValueError, match="spin must be one of auto, on, off"):
        plan_threads(1, cores=2, spin="sometimes")


def test_a_backend_without_a_switch_is_said_to_ignore_it():
    plan = plan_threads(1, cores=2, spin="on")
    fake = LevelBackend(fake_meta())  # spin_switch is False, as on LiteRT, OpenVINO, torch
    applied = plan.for_backend(fake)
    assert applied.spin is True
    assert applied.spin_reason == "--spin on; no effect on fake: its pool has no spin switch"

    class Switchable(LevelBackend):
        spin_switch = True

    assert plan.for_backend(Switchable(fake_meta())) == plan


def test_the_plan_survives_its_json_form():
    plan = plan_threads(2, cores=4, spin="off")
    assert ThreadPlan(**plan.to_dict()) == plan  # how vmf-stream prints the summary's plan
    older = {k: v for k, v in plan.to_dict().items() if k != "spin_reason"}
    assert "spin-wait off)" in ThreadPlan(**older).describe()  # a report from before the reason


@pytest.mark.parametrize("spin, entry", [(False, "0"), (True, None)])
def test_onnx_runtime_applies_the_plans_spin(tiny_models, spin, entry):
    from vmf.runtime.backends import load_backend

    backend = load_backend(tiny_models["onnx"], threads=1, spin=spin)
    assert backend.spin_switch and backend.spin is spin
    options = backend._session.get_session_options()
    try:
        applied = options.get_session_config_entry("session.intra_op.allow_spinning")
    except RuntimeError:  # never set: ONNX Runtime's default, spinning
        applied = None
    assert applied == entry


def test_busy_cores_counts_the_cpus_busy_over_the_sample():
    from vmf.runtime.thread_plan import busy_cores

    # user nice system idle iowait ...: 150 of 200 ticks busy over the sample, on 2 CPUs
    reads = iter([[100, 0, 100, 1000, 0, 0, 0], [200, 0, 150, 1040, 10, 0, 0]])
    slept = []
    assert busy_cores(0.2, read=lambda: next(reads), sleep=slept.append, cpus=2) == 1.5
    assert slept == [0.2]
    assert busy_cores(read=lambda: None, sleep=slept.append) is None  # no /proc/stat (macOS, Windows)


def test_auto_sees_work_that_the_lagging_load_average_does_not(monkeypatch):
    import vmf.runtime.thread_plan as thread_plan

    # two busy loops started 20 s ago: the 1-minute average still reads 0.9, the CPUs are full
    monkeypatch.setattr(thread_plan.os, "getloadavg", lambda: (0.9, 0.5, 0.3))
    monkeypatch.setattr(thread_plan, "busy_cores", lambda: 2.0)
    assert thread_plan.load_average() == 2.0
    assert choose_spin("auto", inference=2, cores=2)[0] is False
    # and an idle machine whose average still remembers earlier work stays "busy" until it fades
    monkeypatch.setattr(thread_plan, "busy_cores", lambda: 0.1)
    monkeypatch.setattr(thread_plan.os, "getloadavg", lambda: (1.4, 1.0, 0.5))
    assert thread_plan.load_average() == 1.4
    monkeypatch.setattr(thread_plan, "busy_cores", lambda: None)
    assert thread_plan.load_average() == 1.4
