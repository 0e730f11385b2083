"""Self-describing checkpoints.

A vmf checkpoint is a plain dict ``{"format", "variant", "baseline",
"num_classes", "config", "state_dict", "sha256"}`` saved with ``torch.save``.
It is read back with ``torch.load(..., weights_only=True)``, so loading never
runs code from the file. A plain state dict (someone else's training run) can
be loaded into a named variant with ``load_weights``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import nn

from .errors import CheckpointError
from .files import atomic_path
from .network import VideoMobileFormer, build_model
from .variants import VARIANTS, VariantConfig, get_variant

FORMAT = "vmf-checkpoint-v1"


def state_dict_sha256(state_dict: dict) -> str:
    """A hash of the weights themselves (names, shapes, bytes), independent of the file."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(
    model: VideoMobileFormer,
    path: "str | os.PathLike",
    *,
    classes: "list[str] | None" = None,
    sample_fps: float | None = None,
    half: bool = False,
    extra: dict | None = None,
) -> Path:
    """Write ``model`` with everything needed to rebuild it; atomic (temp name, then rename).

    The config records the clip the model was trained on (``frames``,
    ``resolution``); ``classes`` (default: the model's own ``classes``, if set)
    and ``sample_fps`` travel with it so the runtime, the exporter and the
    evaluator use them by default; so does the model's ``clip_sampling``
    attribute (how training clips were taken, ``vmf.contract.sampling``). ``half=True`` stores floating-point weights
    in fp16 (half the file; they load back as fp32). ``extra`` adds keys (e.g.
    a trainer's resumable state).
    """
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    classes = classes if classes is not None else getattr(model, "classes", None)
    if classes is not None and len(classes) != model.num_classes:
        raise CheckpointError(f"{len(classes)} class names for a model with {model.num_classes} classes")
    payload = {
        "format": FORMAT,
        "variant": model.cfg.name,
        "baseline": bool(model.baseline),
        "num_classes": int(model.num_classes),
        "config": model.cfg.to_dict(),
        "classes": list(classes) if classes is not None else None,
        "sample_fps": sample_fps if sample_fps is not None else getattr(model, "sample_fps", None),
        "clip_sampling": getattr(model, "clip_sampling", None),
        "state_dict": state,
        "sha256": state_dict_sha256(state),
        **(extra or {}),
    }
    with atomic_path(path) as tmp:  # ordinary permissions; never half a checkpoint
        torch.save(payload, tmp)
    return path


def read_checkpoint(path: "str | os.PathLike") -> dict:
    """Load a file as a vmf checkpoint or a plain state dict; never executes code from it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors, or an object weights_only refuses
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({reason[:160]})") from None
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]  # common trainer layout {"state_dict": ..., "epoch": ...}
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {"format": None, "state_dict": obj}
    raise CheckpointError(f"{path} is neither a vmf checkpoint nor a state dict of tensors")


def load_checkpoint(path: "str | os.PathLike") -> VideoMobileFormer:
    """Rebuild the model a vmf checkpoint describes and load its weights (eval mode)."""
    ckpt = read_checkpoint(path)
    if ckpt["format"] != FORMAT:
        raise CheckpointError(
            f"{path} is a plain state dict with no variant recorded; "
            "load it with load_weights(path, variant=...) (CLI: --variant)"
        )
    try:
        cfg = VariantConfig.from_dict(ckpt["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has a malformed config ({exc})") from None
    model = VideoMobileFormer(cfg, baseline=bool(ckpt["baseline"]), num_classes=int(ckpt["num_classes"]))
    _load_into(model, ckpt["state_dict"], path, source=_describe(ckpt))
    # What the model was trained on travels with it (None for older checkpoints).
    model.classes = ckpt.get("classes")
    model.sample_fps = ckpt.get("sample_fps")
    model.clip_sampling = ckpt.get("clip_sampling")  # "video" | "stream" (None: before it was recorded)
    return model.eval()


def load_weights(
    path: "str | os.PathLike",
    variant: "str | VariantConfig | None" = None,
    *,
    baseline: bool | None = None,
    num_classes: int | None = None,
) -> VideoMobileFormer:
    """Load a vmf checkpoint or a plain state dict, checking it against ``variant`` if given.

    A vmf checkpoint of another variant, or a state dict whose names or shapes
    do not fit the variant, raises ``CheckpointError``. For a plain state dict
    ``num_classes`` defaults to the classifier's size found in it.
    """
    ckpt = read_checkpoint(path)
    if ckpt["format"] == FORMAT:
        want = get_variant(variant).name if variant is not None else ckpt["variant"]
        if want != ckpt["variant"] or (baseline is not None and bool(baseline) != bool(ckpt["baseline"])):
            raise CheckpointError(
                f"{path} holds {_describe(ckpt)} weights, not {_name(want, bool(baseline))}"
            )
        if num_classes is not None and num_classes != ckpt["num_classes"]:
            raise CheckpointError(
                f"{path} has {ckpt['num_classes']} classes, not the {num_classes} asked for"
            )
        return load_checkpoint(path)
    if variant is None:
        raise CheckpointError(f"{path} is a plain state dict: say which variant it is (--variant)")
    state = ckpt["state_dict"]
    if num_classes is None:
        classifier = state.get("head.classifier.weight")
        num_classes = int(classifier.shape[0]) if classifier is not None else 400
    if baseline is None:
        baseline = "tokens" not in state
    model = build_model(variant, baseline=baseline, num_classes=num_classes)
    _load_into(model, state, path, source="this state dict")
    return model.eval()


def _load_into(model: nn.Module, state: dict, path, source: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    target = _name(model.cfg.name, model.baseline)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]!r})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]!r})")
        raise CheckpointError(
            f"{path}: {source} does not fit {target}: keys {', '.join(parts)}{_other_variant_hint(state)}"
        )
    wrong = [k for k in own if tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong:
        k = wrong[0]
        raise CheckpointError(
            f"{path}: {source} does not fit {target}: {len(wrong)} tensors have other shapes "
            f"(e.g. {k!r} {list(state[k].shape)} vs {list(own[k].shape)})"
            f"{_other_variant_hint(state)}"
        )
    # fp16-stored weights (a compact checkpoint) are copied into the fp32 model.
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)


def _other_variant_hint(state: dict) -> str:
    """Name the variant whose parameter shapes these weights fit, if any ("is it 5G?")."""
    shapes = {k: tuple(v.shape) for k, v in state.items() if not k.startswith("head.classifier")}
    fits = []
    for name in VARIANTS:  # 560M and 1G share every shape, so several may fit
        for baseline in (False, True):
            with torch.device("meta"):
                ref = build_model(name, baseline=baseline).state_dict()
            ref_shapes = {k: tuple(v.shape) for k, v in ref.items() if not k.startswith("head.classifier")}
            if ref_shapes == shapes:
                fits.append(_name(name, baseline))
    return f"; they fit {' or '.join(fits)}: is it another variant's weights?" if fits else ""


def _name(variant: str, baseline: bool) -> str:
    return f"Mobile3D-{variant}" if baseline else f"VMF-{variant}"


def _describe(ckpt: dict) -> str:
    return _name(ckpt["variant"], bool(ckpt["baseline"]))
