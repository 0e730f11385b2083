"""The artifact each job times: from the cache, or exported (then cached).

VMF artifacts come from the project's exporter (``vmf.export.export``; the
torch backend's deployable rows time its ``.pt2``); a reference row (torch,
``--naive``) gets a seeded checkpoint; X3D-S gets its naive ONNX export
(``x3d_export``). Everything goes through ``ArtifactCache``, so a second run
exports nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from vmf.contract import targets as registry
from vmf.model import VARIANTS, VmfError

from .cache import ArtifactCache, CacheKey, project_version, tools_fingerprint
from .jobs import CHECKPOINT, REFERENCE, X3D_NAME, Job, Tools, refused, target_of
from .measure import one_line


def cache_key(job: Job) -> CacheKey:
    """Everything the job's artifact depends on (the thread count and device do not)."""
    target = target_of(job.backend, job.form)
    precision = "fp32" if target == CHECKPOINT else job.precision
    return CacheKey(
        job.variant,
        job.baseline,
        job.form,
        job.frames,
        job.resolution,
        target,
        precision,
        job.converter or "-",
        project_version(),
        tools_fingerprint(),
    )


_KEPT_LOG = re.compile(r" \(converter output: (?P<path>[^()]+\.log)\)$")


def keep_conversion_log(exc: Exception, cache_root: Path) -> Exception:
    """The exporter names the log of a failed conversion, kept in its ``out_dir``; here that is
    a scratch folder the cache deletes, so move the log to ``<cache>/logs/`` and say so."""
    found = _KEPT_LOG.search(str(exc))
    if not found or not Path(found["path"]).is_file():
        return exc
    logs = cache_root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    kept = logs / Path(found["path"]).name
    shutil.move(found["path"], kept)
    return VmfError(f"{str(exc)[: found.start()]} (converter output: {kept})")


def _export_producer(job: Job, tools: Tools, cache_root: Path) -> Callable[[Path], Path]:
    target = target_of(job.backend, job.form)

    def produce(folder: Path) -> Path:
        # Converters print progress on stdout; stdout is the table and the JSON line.
        try:
            with contextlib.redirect_stdout(sys.stderr):
                report = tools.exporter()(
                    job.variant,
                    targets=(target,),
                    precisions=(job.precision,),
                    converter=job.converter,
                    out_dir=folder,
                    baseline=job.baseline,
                    frames=job.frames,
                    resolution=job.resolution,
                    verify=True,
                    form=job.form,
                    log=tools.log,
                )
        except VmfError as exc:
            raise keep_conversion_log(exc, cache_root) from None
        made = [a for a in report.artifacts if a.target == target and a.precision == job.precision]
        if not made:
            raise VmfError(f"the exporter made no {target} {job.precision} artifact")
        return Path(made[0].path)

    return produce


def _checkpoint_producer(job: Job) -> Callable[[Path], Path]:
    """Seeded random weights for a reference row, with the job's clip in the config."""

    def produce(folder: Path) -> Path:
        import torch

        from vmf.model import VideoMobileFormer, save_checkpoint

        cfg = dataclasses.replace(VARIANTS[job.variant], frames=job.frames, resolution=job.resolution)
        torch.manual_seed(0)
        model = VideoMobileFormer(cfg, baseline=job.baseline).eval()
        return save_checkpoint(model, folder / f"{job.model.lower()}.pt")

    return produce


def _x3d_producer(job: Job) -> Callable[[Path], Path]:
    def produce(folder: Path) -> Path:
        from .x3d_export import export_x3d_onnx

        return export_x3d_onnx(folder, frames=job.frames, resolution=job.resolution)

    return produce


def artifact_for(job: Job, cache: ArtifactCache, tools: Tools) -> Path:
    """The job's artifact from the cache, else made now (one precision) and cached."""
    if job.variant == X3D_NAME:
        produce = _x3d_producer(job)
    elif job.form == REFERENCE:
        produce = _checkpoint_producer(job)
    else:
        produce = _export_producer(job, tools, cache.root)
    key = cache_key(job)
    found = cache.lookup(key)
    if found is not None:
        tools.cached.add(key)
        return found
    if key in tools.failed_exports:
        raise VmfError(tools.failed_exports[key])
    tools.log(
        f"exporting {job.model} {job.form} {key.target} {key.precision} "
        f"({job.frames}x{job.resolution}) into {cache.root}"
    )
    start = time.perf_counter()
    try:
        path = cache.fetch(key, produce).path
    except Exception as exc:
        tools.failed_exports[key] = f"export failed: {one_line(exc)}"
        raise VmfError(tools.failed_exports[key]) from None
    tools.exported.add(key)
    tools.log(f"exported {path.name} in {time.perf_counter() - start:.1f}s")
    return path


# --- several precisions of one model in one exporter call -------------------------------------


def export_ahead(jobs: list[Job], cache: ArtifactCache, tools: Tools) -> None:
    """Export, in one exporter call each, the precisions a model/form/target still lacks.

    The conversion is the slow part of a TFLite export (TensorFlow, or
    litert-torch's lowering) and the exporter does it once per call, then
    quantises per precision; calling it per precision would convert 3 times.
    Combinations the exporter refuses (Core ML int8, say) are failed first, from
    its own option check. What a failed call leaves unsettled is left to
    ``artifact_for``, which exports one precision at a time.
    """
    groups: dict[CacheKey, dict[str, Job]] = {}
    for job in jobs:
        target = target_of(job.backend, job.form)
        if job.variant == X3D_NAME or target == CHECKPOINT or refused(job):
            continue
        key = cache_key(job)
        if key in tools.failed_exports or cache.lookup(key) is not None:
            continue
        try:
            tools.check_export(target, job.precision, job.converter, job.form)
        except VmfError as exc:
            tools.failed_exports[key] = f"not exported: {exc}"
            continue
        group = dataclasses.replace(key, precision="*")
        groups.setdefault(group, {}).setdefault(job.precision, job)
    for members in groups.values():
        if len(members) > 1:
            _export_batch(list(members.values()), cache, tools)


def _export_batch(jobs: list[Job], cache: ArtifactCache, tools: Tools) -> None:
    first, target = jobs[0], target_of(jobs[0].backend, jobs[0].form)
    precisions = tuple(job.precision for job in jobs)
    cache.root.mkdir(parents=True, exist_ok=True)
    batch = Path(tempfile.mkdtemp(prefix=".batch-", suffix=".tmp", dir=cache.root))
    tools.log(
        f"exporting {first.model} {first.form} {target} {'+'.join(precisions)} "
        f"({first.frames}x{first.resolution}) into {cache.root}"
    )
    start, error, made = time.perf_counter(), None, {}
    try:
        try:
            with contextlib.redirect_stdout(sys.stderr):  # stdout is the table and the JSON
                tools.exporter()(
                    first.variant,
                    targets=(target,),
                    precisions=precisions,
                    converter=first.converter,
                    out_dir=batch,
                    baseline=first.baseline,
                    frames=first.frames,
                    resolution=first.resolution,
                    verify=True,
                    form=first.form,
                    log=tools.log,
                )
        except Exception as exc:  # what finished before the failure is still kept below
            error = one_line(keep_conversion_log(exc, cache.root))
        made = _finished_artifacts(batch, target)
        for job in jobs:
            if job.precision in made:
                path = made[job.precision]
                cache.fetch(cache_key(job), lambda folder, path=path: _move_into(path, folder))
                tools.exported.add(cache_key(job))
        missing = [job for job in jobs if job.precision not in made]
        # The exporter works through the precisions in order and stops at the first failure:
        # with nothing made, the shared conversion failed (all of them fail with it); else the
        # first one missing failed, and those after it were never tried (artifact_for will).
        for job in missing if not made else missing[:1]:
            if error:
                tools.failed_exports[cache_key(job)] = f"export failed: {error}"
    finally:
        shutil.rmtree(batch, ignore_errors=True)
    tools.log(
        f"exported {len(made)} of {len(jobs)} in {time.perf_counter() - start:.1f}s"
        + (f" ({error})" if error else "")
    )


def _finished_artifacts(folder: Path, target: str) -> dict[str, Path]:
    """precision -> artifact, for every artifact in ``folder`` that has a valid sidecar."""
    from vmf.contract.card import read_sidecar

    made = {}
    for side in folder.rglob("*.json"):  # the exporter writes into a folder per target
        artifact = side.with_suffix(registry.get(target).suffix)
        try:
            meta = read_sidecar(side)
        except VmfError:
            continue
        if artifact.exists():
            made[str(meta["precision"])] = artifact
    return made


def _move_into(artifact: Path, folder: Path) -> Path:
    from vmf.contract.card import sidecar_path

    shutil.move(str(sidecar_path(artifact)), str(folder / sidecar_path(artifact).name))
    return Path(shutil.move(str(artifact), str(folder / artifact.name)))
