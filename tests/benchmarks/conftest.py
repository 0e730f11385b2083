"""Fixtures for the vmf-bench tests; the fakes themselves are in ``bench_fakes``."""

import pytest
from bench_fakes import FakeClock, FakeExporter, FakeLoader

from vmf.benchmarks.jobs import Tools


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def exporter():
    return FakeExporter()


@pytest.fixture
def loader(clock):
    return FakeLoader(clock)


@pytest.fixture
def tools(exporter, loader, clock):
    logs = []
    # In-process: the fake backend and clock live in this process.
    # The fake exporter makes every combination, so the real exporter's option check is off.
    return Tools(
        export=exporter,
        load_backend=loader,
        clock=clock,
        sleep=clock.sleep,  # paced runs wait on the fake clock
        log=logs.append,
        isolate=False,
        check_export=lambda *job: None,
    )
