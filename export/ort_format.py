"""ONNX Runtime Mobile's file format: ``.ort`` and the operator list of a minimal build.

Phone apps ship ONNX Runtime Mobile, which loads ``.ort`` flatbuffers and can
be built with only the operators a model needs. Both come from ONNX Runtime's
own converter (``python -m onnxruntime.tools.convert_onnx_models_to_ort``,
called in-process) in its "Runtime" optimization style, the one its
documentation gives for the Core ML and NNAPI execution providers: basic
optimizations are applied and the rest saved for nodes left on the CPU, so
the EPs still see the ops the checker counted (docs/mobile-accelerators.md).
The ONNX graph's metadata (the model card) travels into the ``.ort``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from vmf.contract.targets import get as get_target
from vmf.model import VmfError

from .quiet import quiet

if TYPE_CHECKING:
    from vmf.contract.targets import Job

    from .session import ExportSession
    from .steps import Artifact

CONFIG_SUFFIX = ".required_operators.config"
ORT_AGREEMENT_ATOL = 1e-5  # .ort vs the mobile .onnx it comes from: the same kernels, same graph


def config_path(ort_path: "str | os.PathLike") -> Path:
    """``vmf-560m_fp32.ort`` -> ``vmf-560m_fp32.required_operators.config``."""
    ort_path = Path(ort_path)
    return ort_path.with_name(ort_path.name.rsplit(".", 1)[0] + CONFIG_SUFFIX)


def onnx_to_ort(
    onnx_path: "str | os.PathLike",
    ort_path: "str | os.PathLike",
    config: "str | os.PathLike",
    *,
    header: list[str] = (),
) -> tuple[Path, Path]:
    """Convert ``onnx_path`` to ``ort_path`` and write the operators it needs to ``config``.

    ``header``: comment lines put first in the config (in place of the
    converter's, which names its temporary files). Raises ``VmfError`` with
    the converter's first error line when it fails.
    """
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    ort_path, config = Path(ort_path), Path(config)
    with tempfile.TemporaryDirectory(prefix="vmf-ort-") as work:
        work = Path(work)
        model = work / "model.onnx"
        shutil.copyfile(onnx_path, model)
        try:
            with quiet(), contextlib.redirect_stdout(io.StringIO()):
                convert_onnx_models_to_ort(
                    model, output_dir=work / "out", optimization_styles=[OptimizationStyle.Runtime]
                )
        except Exception as exc:  # the converter raises whatever ONNX Runtime raised
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise VmfError(f"ONNX Runtime could not convert the mobile ONNX to .ort ({first})") from None
        produced = work / "out" / "model.with_runtime_opt.ort"
        operators = work / "out" / "model.required_operators.with_runtime_opt.config"
        if not produced.is_file() or not operators.is_file():
            raise VmfError("ONNX Runtime's converter wrote no .ort file")
        shutil.copyfile(produced, ort_path)
        lines = [
            line for line in operators.read_text().splitlines() if line.strip() and not line.startswith("#")
        ]
    config.write_text("".join(f"# {line}\n" for line in header) + "\n".join(lines) + "\n")
    return ort_path, config


def read_operators(config: "str | os.PathLike") -> dict[str, set[str]]:
    """``{"ai.onnx;13": {"Softmax", ...}, ...}`` from a required-operators config."""
    ops: dict[str, set[str]] = {}
    for line in Path(config).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        domain, opset, names = line.split(";", 2)
        ops.setdefault(f"{domain};{opset}", set()).update(n for n in names.split(",") if n)
    return ops


# -- the step vmf-export runs for --target ort (registry: Target.writer) ----------------------
def export_ort(s: "ExportSession", job: "Job") -> list["Artifact"]:
    """ONNX Runtime Mobile: the mobile ONNX, its ``.ort`` and the operators a minimal build needs.

    Written to ``ort/``: ``<name>_mobile.onnx`` (the deployable form spelled
    for the Core ML and NNAPI EPs, deployable/ort_mobile_spelling.py), ``<name>.ort`` (what an
    app ships) and ``<name>.required_operators.config``, each with the model
    card (embedded in both models, a sidecar beside each, named in the
    config's header). Fails when ONNX Runtime's checker finds more partitions
    than the target's ``partition_budget`` allows, unless allow_partitions.
    """
    from vmf.model.files import write_text

    from .metadata import embed
    from .onnx import onnx_predictor, torch2onnx
    from .parity import compare
    from .partitions import ort_partitions
    from .session import run_all
    from .sidecar import sidecar_path

    layout = get_target(job.target).layout
    mobile = s.scratch / "mobile_fp32.onnx"
    with s.timed("ort: torch.onnx exported the mobile graph"):
        torch2onnx(s.module(layout, "ort_mobile"), s.example(layout), mobile)
    (precision,) = job.precisions  # fp32 only (the target's precisions)
    ort_final = s.final_path(job.target, precision, None)
    onnx_final = ort_final.with_name(ort_final.stem + "_mobile.onnx")
    config = config_path(ort_final)
    partitions = s.partitions(ort_partitions(mobile), job.target, ort_final.name)

    def card(converter: str, parity: dict) -> dict:
        return s.metadata(job.target, precision, converter=converter, parity=parity, partitions=partitions)

    def build_onnx(tmp: Path) -> dict:
        shutil.copyfile(mobile, tmp)
        return card("torch.onnx", s.parity(onnx_predictor(tmp), job.target, precision, tmp.name))

    def build_ort(tmp: Path) -> dict:
        header = [
            f"Operators ONNX Runtime needs to run {ort_final.name} ({s.facts.variant}, "
            f"model card {sidecar_path(ort_final).name}).",
            "Build a minimal ONNX Runtime with: ./build.sh --minimal_build extended "
            f"--include_ops_by_config {config.name} --use_nnapi | --use_coreml",
            "(docs/mobile-accelerators.md).",
        ]
        trial = s.scratch / "trial.ort"
        onnx_to_ort(mobile, trial, s.scratch / config.name, header=header)
        agreement = compare(
            run_all(onnx_predictor(trial), s.clips, tmp.name),
            run_all(onnx_predictor(mobile), s.clips, onnx_final.name),
        )
        if agreement["max_abs_err"] > ORT_AGREEMENT_ATOL:
            raise VmfError(
                f"{tmp.name} disagrees with {onnx_final.name} "
                f"(max abs {agreement['max_abs_err']:.1e}); nothing was kept"
            )
        parity = s.parity(onnx_predictor(trial), job.target, precision, tmp.name)
        parity["ort_vs_onnx_max_abs_err"] = agreement["max_abs_err"]
        meta = card("onnxruntime.tools", parity)
        meta["ort_config"] = config.name
        # A .ort cannot be edited: convert again from an ONNX that carries the final card.
        carded = s.scratch / "carded.onnx"
        shutil.copyfile(mobile, carded)
        embed(carded, meta)
        onnx_to_ort(carded, tmp, s.scratch / config.name, header=header)
        return meta

    onnx_artifact = s.step(job.target, precision, None, build_onnx, final=onnx_final)
    ort_artifact = s.step(job.target, precision, "onnxruntime.tools", build_ort, final=ort_final)
    write_text(config, (s.scratch / config.name).read_text())
    return [onnx_artifact, ort_artifact]
