"""PyTorch, from a vmf checkpoint (CPU, or CUDA when torch sees a GPU).

A checkpoint has no sidecar, so the same model card is derived from the
config it stores (frames, resolution, MEAN/STD, the exporter's default labels) and the
model is fed exactly what an exported one is: a [T, 3, R, R] clip (TCHW,
time folded into the batch axis). It runs the deployable form when the
exporter provides it (the same weights re-expressed with rank-4 ops,
docs/deployable-form.md), else the reference network behind a permute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.export.labels import load_labels
from vmf.export.sidecar import make_card
from vmf.model import VmfError

from .backend_base import Backend, check_threads


def checkpoint_meta(model, sha256: str | None) -> dict:
    """The sidecar an export of ``model`` in TCHW fp32 would carry (vmf.export.metadata's
    fields), as far as a checkpoint knows them: no parity, converter or MACs."""
    from vmf.export.onnx import INPUT_NAME  # the names an ONNX export would carry
    from vmf.model import count_params

    cfg = model.cfg
    frames, res = int(cfg.frames), int(cfg.resolution)
    return make_card(
        variant=cfg.name,
        baseline=bool(model.baseline),
        frames=frames,
        resolution=res,
        temporal_stride=int(cfg.temporal_stride),
        input_name=INPUT_NAME,
        layout="TCHW",
        # The class names the checkpoint was trained with, else Kinetics-400's for 400 classes.
        labels=list(getattr(model, "classes", None) or load_labels(int(model.num_classes))),
        precision="fp32",
        converter=None,
        weights_sha256=sha256,
        untrained=None,
        parity=None,
        macs=None,
        params=count_params(model),
        versions={},
        source="checkpoint config",
        target="torch",
        sample_fps=getattr(model, "sample_fps", None),
    )


class _ReferenceTCHW:
    """Fallback when the deployable form is unavailable: [T,3,R,R] -> (1,3,T,R,R) -> model."""

    def __init__(self, model):
        self.model = model

    def __call__(self, clip):
        return self.model(clip.permute(1, 0, 2, 3).unsqueeze(0))


def _fast_form(model, frames: int):
    try:
        from vmf.export.deployable import make_deployable
    except ModuleNotFoundError as exc:
        if exc.name not in ("vmf.export.deployable",):
            raise
        return _ReferenceTCHW(model), "reference"
    return make_deployable(model, frames=frames, layout="TCHW").eval(), "deployable"


class TorchBackend(Backend):
    name = "torch"
    suffixes = (".pt", ".pth", ".ckpt")

    def __init__(self, path: Path, meta: dict, device: str, module, torch_device, form: str):
        super().__init__(path, meta, device)
        self._module = module
        self._torch_device = torch_device
        self.form = form  # "deployable" or "reference": which module runs

    @classmethod
    def load(
        cls, path: Path, *, threads: int | None = None, device: str = "cpu", spin: bool = True
    ) -> "TorchBackend":
        import torch

        from vmf.model import load_checkpoint, read_checkpoint

        if device == "cuda" and not torch.cuda.is_available():
            raise VmfError(
                "--device cuda: this torch sees no CUDA GPU "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'})"
            )
        threads = check_threads(threads)
        model = load_checkpoint(path)  # CheckpointError (a VmfError) for anything wrong
        sha = read_checkpoint(path).get("sha256")
        meta = checkpoint_meta(model, sha)
        # torch's intra-op pool is process-wide: this backend sets it for the process.
        torch.set_num_threads(threads)
        module, form = _fast_form(model, int(model.cfg.frames))
        torch_device = torch.device(device)
        if hasattr(module, "to"):
            module = module.to(torch_device)
        else:
            module.model.to(torch_device)
        described = (
            f"torch cuda ({torch.cuda.get_device_name(0)})"
            if device == "cuda"
            else f"torch cpu, {threads} threads"
        )
        return cls(path, meta, described, module, torch_device, form)

    def _infer(self, clip: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(clip).to(self._torch_device)
            logits = self._module(x)
            if self._torch_device.type == "cuda":
                torch.cuda.synchronize()  # the timer around run() must see the device finish
            return logits.float().cpu().numpy()
