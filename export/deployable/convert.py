"""The walker: a reference block or model -> its deployable twin, through the form's table.

It records every block's static input shape once (hooks on a meta-device
deep copy), then builds each twin from its reference block as a new module
with its own weights; the reference is never mutated and nothing keeps a
hook.
"""

from __future__ import annotations

import torch
from torch import nn

from vmf.model import VideoMobileFormer, VmfError

from .context import build_context
from .forms import Form, form
from .network import DeployableVideoMobileFormer


def _convert(block: nn.Module, example: tuple, chosen: Form) -> nn.Module:
    twin = build_context(block, example, chosen.twins, chosen.layout).convert(block)
    return twin.eval().requires_grad_(False)


def to_deployable(
    block: nn.Module,
    *example: torch.Tensor | None,
    layout: str = "TCHW",
    spelling: str = "default",
) -> nn.Module:
    """The deployable twin of one reference block, its static shapes taken from ``example``.

    ``example`` are the block's reference (5-D) inputs; only their shapes are
    used (the recording pass runs on a meta-device copy). ``block`` is never
    mutated: every twin builds new tensors and modules from the reference's
    weights (folded in float64) and deep-copies what it keeps as is (norms,
    the FFN), so nothing is shared with the reference. ``layout`` and
    ``spelling`` pick the form (``forms.FORMS``); a pair that is not a form
    raises ``VmfError``.
    """
    return _convert(block, example, form(layout, spelling))


def make_deployable(
    model: VideoMobileFormer,
    frames: int | None = None,
    layout: str = "TCHW",
    resolution: int | None = None,
    *,
    spelling: str = "default",
) -> DeployableVideoMobileFormer:
    """A new, eval-mode, static-shape deployable form of ``model`` (which is left untouched).

    ``frames`` defaults to ``model.cfg.frames`` (64) and must be a multiple of
    the stem's temporal stride; ``resolution`` defaults to the variant's. The
    result takes ``[frames, 3, R, R]`` (``layout="TCHW"``) or
    ``[frames, R, R, 3]`` (``"THWC"``) normalised RGB and returns
    ``[1, num_classes]`` logits: what ``model.eval()`` computes (BN folded
    with its running statistics, dropout off), whatever mode ``model`` is in.
    ``spelling`` picks the ops the same arithmetic is written in:
    ``"xnnpack"`` (ExecuTorch) or ``"ort_mobile"`` (ONNX Runtime Mobile),
    TCHW only (``forms.FORMS``). Raises ``VmfError`` on a bad argument.
    """
    if not isinstance(model, VideoMobileFormer):
        raise VmfError(f"make_deployable needs a VideoMobileFormer, got {type(model).__name__}")
    cfg = model.cfg
    frames = cfg.frames if frames is None else frames
    resolution = cfg.resolution if resolution is None else resolution
    chosen = form(layout, spelling)
    if not isinstance(frames, int) or isinstance(frames, bool) or frames < 1:
        raise VmfError(f"frames must be a positive integer, got {frames!r}")
    stride = model.stem.conv_t.stride[0]
    if frames % stride:
        raise VmfError(
            f"frames must be a multiple of the stem's temporal stride {stride} "
            f"for variant {model.variant}, got {frames}"
        )
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise VmfError(f"resolution must be a positive integer, got {resolution!r}")
    example = torch.empty(1, 3, frames, resolution, resolution, device="meta")
    device = next(model.parameters()).device  # twins are built on the CPU; follow the model
    return _convert(model, (example,), chosen).to(device)
