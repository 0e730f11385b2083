"""From a list of jobs to rows: get every artifact (cache or export), then time each.

Every job becomes exactly one row. Whatever goes wrong inside a job (a
missing package, a conversion the converter refuses, Core ML on Linux, an int8
export that fails its parity gate) is caught here and becomes a ``failed``
row with the one-line reason, so the rest of the table is still measured.

The exporter, the backend loader and the clock are passed in (``Tools``): the
CLI uses the real ones, the tests a counting fake exporter and a fake backend
on a fake clock.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

from vmf.model import VmfError

from .artifacts import artifact_for, export_ahead
from .cache import ArtifactCache
from .jobs import REFERENCE, X3D_NAME, Job, Tools, refused
from .measure import measure, measure_isolated, one_line
from .reference import model_name, paper_latency
from .rows import FAILED, OK, Row
from .timing import LatencyStats, TimingOptions


# --- model facts: counted once on the reference model, so GMAC/s compares forms fairly -------


@functools.lru_cache(maxsize=None)
def model_facts(variant: str, baseline: bool, frames: int, resolution: int) -> tuple[int, int]:
    """(MACs, params) of the reference network on one ``frames x resolution`` clip."""
    from vmf.model import build_model, count_macs, count_params

    if variant == X3D_NAME:
        from .x3d import X3D_S, build_x3d

        model = build_x3d(dataclasses.replace(X3D_S, frames=frames, resolution=resolution))
    else:
        model = build_model(variant, baseline=baseline)
    return count_macs(model, frames, resolution), count_params(model)


# --- timing one job ----------------------------------------------------------------------------


def size_mb(path: Path) -> float:
    if path.is_dir():  # .mlpackage
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
    return path.stat().st_size / 2**20


def device_kind(description: str) -> str:
    """``cpu``, ``cuda`` or, for Core ML, ``ane/gpu/cpu``, from a backend's own description."""
    lower = str(description).lower()
    if "cuda" in lower:
        return "cuda"
    if "core ml" in lower:  # compute units ALL: Core ML places each layer itself
        return "ane/gpu/cpu"
    return "cpu"


def delegation_note(path: Path) -> str | None:
    """``1 xnnpack partition, 1204/1204 ops delegated`` from an ExecuTorch model card, else None."""
    if path.suffix != ".pte":
        return None
    from vmf.contract.card import read_sidecar

    try:
        lint = read_sidecar(path).get("lint") or {}
    except VmfError:
        return None
    if "partitions" not in lint:
        return None
    return (
        f"{lint['partitions']} {lint['delegate']} partition(s), "
        f"{lint['delegated_ops']}/{lint['ops']} ops delegated"
    )


def format_parity(parity) -> str | None:
    """The exporter's own phrase for its parity record, else a short ``k=v, ...`` line."""
    if parity in (None, {}, []):
        return None
    if not isinstance(parity, dict):
        return str(parity)
    if "metric" in parity or parity.get("checked") is False:
        try:
            from vmf.export.parity import describe

            return describe(parity)
        except (ImportError, KeyError, TypeError, ValueError):
            pass  # a record from another version of the exporter: fall back to k=v
    parts = []
    for k, v in parity.items():
        if isinstance(v, dict):
            inner = format_parity(v)
            if inner:
                parts.append(f"{k}: {inner}")
        elif isinstance(v, float):
            parts.append(f"{k}={v:.3g}")
        elif isinstance(v, (int, str, bool)):
            parts.append(f"{k}={v}")
    return ", ".join(parts) or None


def base_row(job: Job) -> Row:
    paper = paper_latency(job.model, job.frames)
    return Row(
        variant=job.variant,
        baseline=job.baseline,
        backend=job.backend,
        precision=job.precision,
        converter=job.converter,
        threads=job.threads,
        device=job.device,
        frames=job.frames,
        resolution=job.resolution,
        model=job.model,
        form=job.form,
        paper_gpu_ms=paper.gpu_ms if paper else None,
        paper_cpu_ms=paper.cpu_ms if paper else None,
    )


def prepare_job(job: Job, cache: ArtifactCache, tools: Tools) -> tuple[Row, Path | None]:
    """The job's row and artifact (cached or exported); no artifact when the row failed."""
    row = base_row(job)
    refusal = refused(job)
    if refusal:
        row.status, row.reason = FAILED, refusal
        return row, None
    try:
        row.macs, row.params = model_facts(job.variant, job.baseline, job.frames, job.resolution)
        return row, artifact_for(job, cache, tools)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # every failure of one job is that row's status, not the run's end
        return _failed(row, exc, tools), None


def measure_job(job: Job, row: Row, path: Path, tools: Tools, timing: TimingOptions) -> Row:
    """Time a prepared job into its row, or fail the row with the one-line reason."""
    try:
        return time_artifact(path, row, tools, timing, job.backend, job.threads, job.device)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        return _failed(row, exc, tools)


def _failed(row: Row, exc: BaseException, tools: Tools) -> Row:
    row.status, row.reason = FAILED, one_line(exc)
    tools.log(f"{row.model} {row.form} {row.backend} {row.precision}: failed: {row.reason}")
    return row


def time_artifact(
    path: Path,
    row: Row,
    tools: Tools,
    timing: TimingOptions,
    backend: str | None,
    threads: int | None,
    device: str,
) -> Row:
    """Load ``path`` on ``backend`` and time it into ``row`` (raises on failure)."""
    if tools.isolate:
        m = measure_isolated(path, backend, threads, device, timing)
    else:
        m = measure(
            path,
            backend,
            threads,
            device,
            timing,
            load_backend=tools.loader(),
            clock=tools.clock,
            sleep=tools.sleep,
        )
    stats = LatencyStats.from_seconds(m.samples)
    row.backend = m.backend or row.backend
    row.form = m.form or row.form  # the torch backend says which module it ran
    row.device = device_kind(m.device)
    row.size_mb = size_mb(Path(path))
    if m.converter and row.backend != "torch":
        row.converter = m.converter
    row.parity = format_parity(m.parity)
    delegation = delegation_note(Path(path))
    if delegation:  # ExecuTorch: what ran inside the delegate, beside the parity figure
        row.parity = f"{row.parity}; {delegation}" if row.parity else delegation
    row.peak_rss_mb = m.peak_rss_mb
    row.runs = stats.runs
    row.p50_ms, row.p90_ms, row.p99_ms = stats.p50_ms, stats.p90_ms, stats.p99_ms
    row.mean_ms, row.std_ms = stats.mean_ms, stats.std_ms
    row.clips_per_s = stats.clips_per_s
    # Throughput in the reference model's MACs: the same numerator for every form, so a faster
    # form shows as a higher rate, not as "fewer MACs".
    row.gmacs_per_s = row.macs * row.clips_per_s / 1e9 if row.macs else None
    row.spin = m.spin
    paced_note = ""
    if m.paced:  # the same model, one clip every paced_ms (a stream's hop)
        paced = LatencyStats.from_seconds(m.paced)
        row.paced_ms, row.paced_runs = timing.paced_ms, paced.runs
        row.paced_p50_ms, row.paced_p90_ms = paced.p50_ms, paced.p90_ms
        paced_note = f"; paced every {timing.paced_ms:.3g} ms p50 {row.paced_p50_ms:.2f} ms over {paced.runs}"
    row.status = OK
    tools.log(
        f"{row.model} {row.form} {row.backend} {row.precision} {threads}t: "
        f"p50 {row.p50_ms:.2f} ms over {row.runs} runs{paced_note} on {m.device}"
    )
    return row


def run_jobs(jobs: list[Job], cache: ArtifactCache, tools: Tools, timing: TimingOptions) -> list[Row]:
    """Every export first, then every timing, so no converter work overlaps a timed run."""
    export_ahead(jobs, cache, tools)
    prepared = [prepare_job(job, cache, tools) for job in jobs]
    return [
        measure_job(job, row, path, tools, timing) if path is not None else row
        for job, (row, path) in zip(jobs, prepared)
    ]


def run_model_file(
    path: "str | os.PathLike",
    backends: list[str] | None,
    threads: list[int],
    device: str,
    tools: Tools,
    timing: TimingOptions,
) -> list[Row]:
    """Rows for a given ``--model``: its sidecar says what it is. A load error is the user's."""
    from vmf.contract.card import read_sidecar

    path = Path(path)
    if not path.exists():
        raise VmfError(f"--model {path}: no such file")
    meta = read_sidecar(path) if path.suffix != ".pt" else _checkpoint_meta(path)
    rows = []
    for backend in backends or [None]:
        for t in threads:
            variant, baseline = str(meta.get("variant", "?")), bool(meta.get("baseline", False))
            frames, res = int(meta["frames"]), int(meta["resolution"])
            paper = paper_latency(model_name(variant, baseline), frames)
            row = Row(
                variant=variant,
                baseline=baseline,
                backend=backend or "",
                device=device,
                precision=str(meta.get("precision", "fp32")),
                converter=meta.get("converter"),
                threads=t,
                frames=frames,
                resolution=res,
                macs=meta.get("macs"),
                params=meta.get("params"),
                model=model_name(variant, baseline),
                form=str(meta.get("form", "")),
                paper_gpu_ms=paper.gpu_ms if paper else None,
                paper_cpu_ms=paper.cpu_ms if paper else None,
            )
            rows.append(time_artifact(path, row, tools, timing, backend, t, device))
    return rows


def _checkpoint_meta(path: Path) -> dict:
    from vmf.model import count_macs, count_params, load_checkpoint

    model = load_checkpoint(path)
    cfg = model.cfg
    return {
        "variant": cfg.name,
        "baseline": model.baseline,
        "frames": cfg.frames,
        "resolution": cfg.resolution,
        "precision": "fp32",
        "form": REFERENCE,
        "macs": count_macs(model),
        "params": count_params(model),
    }
