"""X3D-S to ONNX, as it stands (5-D ops), with a sidecar, for the Table 12 comparison.

X3D-S is exported the way a user without a rewrite would export it, through
the project's own ONNX writer (``vmf.export.onnx.torch2onnx``: opset 17,
onnxsim, checked), so the row says what an off-the-shelf efficient 3D CNN
costs on the same backend and loop. The sidecar follows the project's contract
(``vmf.contract.card``), so the same runtime backend loads it; its parity
figures are ONNX Runtime against PyTorch on one random clip, computed and gated
by the exporter's own ``vmf.export.parity`` (the ONNX fp32 tolerance).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
from pathlib import Path

import numpy as np

from vmf.contract.card import make_card
from vmf.export.onnx import INPUT_NAME, OUTPUT_NAME, torch2onnx
from vmf.export.parity import compare, gate
from vmf.export.sidecar import publish_with_card
from vmf.model import state_dict_sha256
from vmf.model.files import remove, scratch_path

from .x3d import X3D_S, X3DClip, build_x3d


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def export_x3d_onnx(
    folder: "str | os.PathLike", frames: int = X3D_S.frames, resolution: int = X3D_S.resolution, seed: int = 0
) -> Path:
    """Write ``x3d-s_naive_fp32.onnx`` and its sidecar into ``folder``; return the model path."""
    import torch

    from vmf.model import VmfError, count_macs, count_params
    from vmf.model.ort_session import ort_session

    folder = Path(folder)
    cfg = dataclasses.replace(X3D_S, frames=frames, resolution=resolution)
    net = build_x3d(cfg, seed=seed)
    wrapped = X3DClip(net).eval()
    example = torch.randn(frames, 3, resolution, resolution, generator=torch.Generator().manual_seed(seed))
    path = folder / "x3d-s_naive_fp32.onnx"
    tmp = scratch_path(path)
    try:
        torch2onnx(wrapped, example, tmp)
        with torch.no_grad():
            want = wrapped(example).numpy()
        session = ort_session(tmp)
        got = session.run([OUTPUT_NAME], {INPUT_NAME: example.numpy()})[0]
        # Relative to the largest logit: with random weights their size is arbitrary.
        parity = gate(compare(np.reshape(got, (1, -1)), np.reshape(want, (1, -1))), "onnx", "fp32")
        parity["checked"] = True
        if not parity["passed"]:
            raise VmfError(
                f"X3D-S ONNX export differs from PyTorch: max rel err "
                f"{parity['max_rel_err']:.2e} > {parity['threshold']:.0e}"
            )
        card = make_card(
            variant=cfg.name,
            baseline=False,
            frames=frames,
            resolution=resolution,
            temporal_stride=1,
            input_name=INPUT_NAME,
            layout="TCHW",
            labels=[f"class_{i}" for i in range(cfg.num_classes)],
            precision="fp32",
            converter="torch.onnx",
            weights_sha256=state_dict_sha256(net.state_dict()),
            untrained=True,
            parity=parity,
            macs=count_macs(net, frames, resolution),
            params=count_params(net),
            target="onnx",
            form="naive",
            versions={name: _version(name) for name in ("torch", "onnx", "onnxruntime")},
        )
        publish_with_card(tmp, path, card)  # the card lands first
    finally:
        remove(tmp)
    return path
