"""PyTorch (CPU, or CUDA when torch sees a GPU), in one of two forms (docs/runtime.md).

- A ``.pt2`` (``vmf-export --target torch``): the deployable form (the
  exporter's rank-4 rewrite, docs/deployable-form.md) as a ``torch.export``
  program, run with ``torch.export.load(path).module()``. Its model card is the
  ``vmf.json`` extra file inside the archive. This is the fast form.
- A vmf checkpoint (``.pt``, ``.pth``, ``.ckpt``): it has no card, so one is
  derived from the config it stores (frames, resolution, MEAN/STD, the default
  labels), and it runs the reference 5-D network (``vmf.model``) behind a
  permute. The runtime never imports the exporter, so the rank-4 rewrite
  reaches eager PyTorch only through a ``.pt2``: export for speed.

Either way the model is fed exactly what an exported one is: a [T, 3, R, R]
clip (TCHW, time folded into the batch axis). Which suffixes are programs is
the torch target's record (``vmf.contract.targets``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from vmf.contract import targets as registry
from vmf.contract.card import CARD_FILE, INPUT_NAME, make_card, validate_sidecar
from vmf.contract.labels import load_labels
from vmf.model import VmfError

from .backend_base import Backend, check_io, check_threads, first_line

# What ``form`` says: the module that runs (the benchmark's rows report it).
DEPLOYABLE, REFERENCE = "deployable", "reference"


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


def is_program(path: Path) -> bool:
    """Whether ``path`` is a ``torch.export`` program (a target's suffix the torch backend runs)."""
    target = registry.by_suffix(Path(path).suffix)
    return target is not None and TorchBackend.name in target.backends


def load_program(path: Path):
    """``(ExportedProgram, card)`` of a ``.pt2``; one ``VmfError`` line for anything else.

    ``torch.export.load`` logs a traceback before it raises on a file it cannot
    read; that is silenced here, the error says it in one line.
    """
    import torch

    extra = {CARD_FILE: ""}
    logger = logging.getLogger("torch.export")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        program = torch.export.load(str(path), extra_files=extra)
    except Exception as exc:  # miniz, zipfile and the deserialiser each raise their own
        raise VmfError(f"{path.name} is not a loadable torch.export program ({first_line(exc)})") from None
    finally:
        logger.setLevel(level)
    if not extra[CARD_FILE]:
        raise VmfError(
            f"{path.name} carries no vmf model card (no {CARD_FILE} inside): "
            "export it with vmf-export --target torch"
        )
    try:
        meta = json.loads(extra[CARD_FILE])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VmfError(f"the model card inside {path.name} is not valid JSON ({exc})") from None
    return program, validate_sidecar(meta, f"the model card inside {path.name}")


def program_io(program) -> tuple[str, list, int | None]:
    """(input name, input shape, output size) of an exported program, for ``check_io``."""
    names = list(program.graph_signature.user_inputs)
    outputs = list(program.graph_signature.user_outputs)
    if len(names) != 1 or len(outputs) != 1:
        raise VmfError(
            f"the program has {len(names)} inputs and {len(outputs)} outputs; "
            "a vmf model has one clip input and one logits output"
        )
    nodes = {n.name: n for n in program.graph.nodes}
    shape = [int(d) for d in nodes[names[0]].meta["val"].shape]
    out = program.graph.output_node().args[0][0]
    val = getattr(out, "meta", {}).get("val")
    return str(names[0]), shape, None if val is None else int(val.numel())


class TorchBackend(Backend):
    name = "torch"
    suffixes = (".pt", ".pth", ".ckpt")  # a vmf checkpoint: not an export target (vmf.contract.targets)

    def __init__(self, path: Path, meta: dict, device: str, module, torch_device, form: str):
        super().__init__(path, meta, device)
        self._module = module
        self._torch_device = torch_device
        self.form = form  # which module runs: DEPLOYABLE (a .pt2) or REFERENCE (a checkpoint)

    @classmethod
    def load(
        cls, path: Path, *, threads: int | None = None, device: str = "cpu", spin: bool = True
    ) -> "TorchBackend":
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise VmfError(
                "--device cuda: this torch sees no CUDA GPU "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'})"
            )
        threads = check_threads(threads)
        torch_device = torch.device(device)
        if is_program(path):
            meta, module, form, kind = *_program_module(path, torch_device), "torch.export"
        else:
            meta, module, form, kind = *_checkpoint_module(path, torch_device), "torch"
        # torch's intra-op pool is process-wide: this backend sets it for the process.
        torch.set_num_threads(threads)
        described = (
            f"{kind} cuda ({torch.cuda.get_device_name(0)})"
            if device == "cuda"
            else f"{kind} cpu, {threads} threads"
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


def _checkpoint_module(path: Path, torch_device) -> tuple[dict, object, str]:
    """The reference network of a checkpoint, on ``torch_device``, with the card derived from it."""
    from vmf.model import load_checkpoint, read_checkpoint

    model = load_checkpoint(path)  # CheckpointError (a VmfError) for anything wrong
    meta = checkpoint_meta(model, read_checkpoint(path).get("sha256"))
    module = _ReferenceTCHW(model.eval())
    module.model.to(torch_device)
    return meta, module, REFERENCE


def _program_module(path: Path, torch_device) -> tuple[dict, object, str]:
    """The deployable form a ``.pt2`` holds, on ``torch_device``, with the card inside it."""
    program, meta = load_program(path)
    check_io(path, meta, *program_io(program))
    if torch_device.type != "cpu":
        # The program is captured on the CPU; moving the unlifted module with .to() would
        # leave device arguments inside the graph behind, so the program itself is moved.
        from torch.export.passes import move_to_device_pass

        try:
            program = move_to_device_pass(program, torch_device)
        except Exception as exc:
            raise VmfError(
                f"{path.name} could not be moved to {torch_device.type} ({first_line(exc)}); "
                "run it with --device cpu"
            ) from None
    return meta, program.module(), str(meta.get("form", DEPLOYABLE))
