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

from vmf.model import VmfError

from .quiet import quiet

CONFIG_SUFFIX = ".required_operators.config"


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
