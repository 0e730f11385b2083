"""PyTorch, from a vmf checkpoint (CPU, or CUDA when torch sees a GPU).

A checkpoint has no sidecar, so the same model card is derived from the
config it stores (frames, resolution, MEAN/STD, the default labels) and the
model is fed exactly what an exported one is: a [T, 3, R, R] clip (TCHW,
time folded into the batch axis). It runs the reference network (``vmf.model``)
behind a permute: the runtime never imports the exporter, so the deployable
form (the exporter's rank-4 rewrite, docs/deployable-form.md) is what exported
files run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.contract.card import INPUT_NAME, make_card
from vmf.contract.labels import load_labels
from vmf.model import VmfError

from .backend_base import Backend, check_threads


def checkpoint_meta(model, sha256: str | None) -> dict:
    """The card an export of ``model`` in TCHW fp32 would carry, as far as a
    checkpoint knows it: no parity, converter or MACs."""
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
        clip_sampling=getattr(model, "clip_sampling", None),
    )


class _ReferenceTCHW:
    """The reference network fed a TCHW clip: [T,3,R,R] -> (1,3,T,R,R) -> model."""

    def __init__(self, model):
        self.model = model

    def __call__(self, clip):
        return self.model(clip.permute(1, 0, 2, 3).unsqueeze(0))


class TorchBackend(Backend):
    name = "torch"
    suffixes = (".pt", ".pth", ".ckpt")  # a vmf checkpoint: not an export target (vmf.contract.targets)

    def __init__(self, path: Path, meta: dict, device: str, module, torch_device, form: str):
        super().__init__(path, meta, device)
        self._module = module
        self._torch_device = torch_device
        self.form = form  # which module runs: "reference" (the benchmarks report it)

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
        module, form = _ReferenceTCHW(model.eval()), "reference"
        torch_device = torch.device(device)
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
