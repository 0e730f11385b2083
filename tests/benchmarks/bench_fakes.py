"""Fakes for vmf-bench: a clock (and its sleep), a backend that advances it by known delays,
one whose delay depends on how long it sat idle, a counting exporter.

They follow the real contracts (``vmf.export.export`` returns a report whose
``artifacts`` carry ``target, precision, path``; ``load_backend`` returns an
object with ``run, device, name, meta, input_shape``), so the CLI and runner
run unchanged on top of them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vmf.contract.card import make_card, read_sidecar
from vmf.export.sidecar import write_sidecar
from vmf.model import VmfError


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` on this clock: it moves the time on, and nothing waits."""
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


class FakeBackend:
    """Each ``run`` advances the clock by the next delay (seconds) of a cycle."""

    def __init__(self, path, meta, clock, delays, name, threads, spin=True):
        self.path, self.meta, self.name = Path(path), meta, name
        self.input_shape = tuple(meta["input_shape"])
        self.device = f"fake cpu, {threads} threads"
        self.spin_switch = name == "onnxruntime"  # as the real backends: only ONNX Runtime's pool
        self.spin = spin
        self._clock, self._delays = clock, itertools.cycle(delays)
        self.calls = 0

    def delay(self) -> float:
        return next(self._delays)

    def run(self, clip):
        assert clip.shape == self.input_shape and clip.dtype == np.float32
        self.calls += 1
        self._clock.now += self.delay()
        return np.zeros(len(self.meta["labels"]), np.float32)


class IdleSensitiveBackend(FakeBackend):
    """A runtime whose pool parks when idle: ``fast`` s right after a call, ``slow`` s when more
    than ``idle`` s passed since the last call ended (a stream's pace); spinning keeps it warm."""

    fast, slow, idle = 0.005, 0.015, 0.100

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.last_end: float | None = None
        self.idle_before: list[float] = []

    def delay(self) -> float:
        gap = 0.0 if self.last_end is None else self._clock.now - self.last_end
        self.idle_before.append(gap)
        parked = gap > self.idle and not (self.spin_switch and self.spin)
        return self.slow if parked else self.fast

    def run(self, clip):
        out = super().run(clip)
        self.last_end = self._clock.now
        return out


def sidecar_meta(
    variant="560M",
    baseline=False,
    frames=2,
    resolution=8,
    precision="fp32",
    converter="fake",
    form="deployable",
) -> dict:
    return make_card(
        variant=variant,
        baseline=baseline,
        frames=frames,
        resolution=resolution,
        temporal_stride=1,
        input_name="clip",
        layout="TCHW",
        labels=["a", "b", "c"],
        precision=precision,
        converter=converter,
        weights_sha256="0" * 64,
        untrained=True,
        parity={"max_abs": 1.5e-5, "top1_agree": 1.0},
        macs=1000,
        params=10,
        versions={},
        form=form,
    )


@dataclass
class Artifact:
    target: str
    precision: str
    converter: str
    form: str
    path: Path
    sidecar: Path
    size_mb: float
    parity: dict
    seconds: float


@dataclass
class Report:
    artifacts: list


@dataclass
class FakeExporter:
    """Writes a small file and a valid sidecar; counts calls; fails where told to."""

    fail: dict = field(default_factory=dict)  # (target, precision) -> message
    calls: list = field(default_factory=list)

    def __call__(
        self,
        variant,
        targets=("onnx",),
        precisions=("fp32",),
        *,
        converter=None,
        out_dir=".",
        baseline=False,
        frames=None,
        resolution=None,
        verify=True,
        form="deployable",
        log=print,
        **_,
    ):
        self.calls.append(
            (variant, baseline, tuple(targets), tuple(precisions), form, frames, resolution, converter)
        )
        artifacts = []
        for target in targets:
            for precision in precisions:
                if (target, precision) in self.fail:
                    raise VmfError(self.fail[(target, precision)])
                stem = f"{'mobile3d' if baseline else 'vmf'}-{variant.lower()}_{precision}"
                path = Path(out_dir) / target / f"{stem}.{target}"  # as vmf.export lays out
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(b"\0" * 2**20)  # 1 MiB, so size_mb is checkable
                used = converter or "fake-default"
                side = write_sidecar(
                    path, sidecar_meta(variant, baseline, frames, resolution, precision, used, form)
                )
                artifacts.append(
                    Artifact(target, precision, used, form, path, side, 1.0, {"max_abs": 1.5e-5}, 0.0)
                )
        return Report(artifacts)


@dataclass
class FakeLoader:
    clock: FakeClock
    delays: tuple = (0.010,)
    fail: dict = field(default_factory=dict)  # backend -> exception to raise
    loaded: list = field(default_factory=list)
    backend_class: type = FakeBackend

    def __call__(self, path, backend=None, threads=None, device="cpu", spin=True):
        if backend in self.fail:
            raise self.fail[backend]
        if str(path).endswith(".pt"):  # torch jobs get a checkpoint, which has no sidecar
            meta = sidecar_meta(frames=2, resolution=8)
        else:
            meta = read_sidecar(path)
        b = self.backend_class(path, meta, self.clock, self.delays, backend or "onnxruntime", threads, spin)
        self.loaded.append(b)
        return b
