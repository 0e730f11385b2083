"""PyTorch target: the deployable form as a ``torch.export`` program (``.pt2``).

The TCHW deployable form (the rank-4 rewrite the ONNX step exports too,
docs/deployable-form.md) is captured by ``torch.export.export`` on one example
clip (static shapes: one clip, T x 3 x R x R, as every target) and written with
``torch.export.save``; the model card goes into the archive as the extra file
``vmf.json`` (``vmf.export.metadata``), and the sidecar beside it as for every
target. The graph keeps PyTorch's own ATen ops (no decomposition), so it runs on
the same kernels as the module it was captured from.

The runtime's torch backend runs it with ``torch.export.load(path).module()``,
which needs nothing of ``vmf.export``: that is how eager PyTorch gets the fast
rank-4 form while the runtime never imports the exporter (docs/runtime.md). A
checkpoint (``.pt``) still runs the reference 5-D network there. fp32 only:
the file is for CPU and CUDA servers, where fp32 is what the other server
formats ship.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from vmf.contract.targets import get as get_target
from vmf.model import VmfError

if TYPE_CHECKING:
    from vmf.contract.targets import Job

    from .session import ExportSession
    from .steps import Artifact

CONVERTER = "torch.export"


def capture(module: nn.Module, example: torch.Tensor):
    """The ``torch.export`` program of ``module`` on ``example`` (one clip, static shapes)."""
    try:
        with torch.no_grad():
            return torch.export.export(module.eval(), (example,), strict=False)
    except Exception as exc:  # torch.export's errors are long; keep the first line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise VmfError(f"torch.export could not capture the model ({first})") from None


def input_name(program) -> str:
    """The name of the program's one clip input (its ``forward``'s argument)."""
    names = list(program.graph_signature.user_inputs)
    if len(names) != 1:
        raise VmfError(f"the captured program takes {len(names)} inputs; a vmf model takes one clip")
    return str(names[0])


def save_program(module: nn.Module, example: torch.Tensor, path: "str | os.PathLike") -> str:
    """Capture ``module`` and write the program to ``path``; returns its input's name."""
    program = capture(module, example)
    torch.export.save(program, str(path))
    return input_name(program)


def program_predictor(path: "str | os.PathLike"):
    """TCHW clip (numpy) -> logits ``(1, classes)``, running the ``.pt2`` at ``path`` as loaded."""
    module = torch.export.load(str(path)).module()

    def predict(clip: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32))
            return module(x).numpy().reshape(1, -1)

    return predict


# -- the step vmf-export runs for --target torch (registry: Target.writer) -----------------------
def export_torch(s: "ExportSession", job: "Job") -> list["Artifact"]:
    """Capture the deployable form, write the ``.pt2``, gate the loaded program's parity."""
    layout = get_target(job.target).layout

    def build(tmp: Path, precision: str) -> dict:
        with s.timed("torch: torch.export captured the deployable form"):
            name = save_program(s.module(layout), s.example(layout), tmp)
        # Judged as the runtime will run it: loaded back from the file, not the module in memory.
        parity = s.parity(program_predictor(tmp), job.target, precision, tmp.name)
        return s.metadata(job.target, precision, converter=CONVERTER, input_name=name, parity=parity)

    return s.per_precision(job, build)
