"""Small rank-4 operations shared by the deployable twins.

Zero frames along the batch (time) axis have two spellings, one per runtime
family, named for how they are written: ``concat_zero_frames`` (the default
form: ONNX, TFLite, Core ML) and ``constant_pad_frames`` (ExecuTorch's
XNNPACK spelling). They compute the same tensor; a twin picks one through
its ``pad_frames`` class attribute, so a spelling swaps the step, not the
forward that uses it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def concat_zero_frames(x: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """``x`` with ``before`` / ``after`` zero frames added along the batch (time) axis, as a Concat.

    A concatenation with constant zero frames rather than ``F.pad`` on the
    batch axis: litert-torch's layout pass has no NHWC rewrite for
    ``constant_pad_nd``, so a pad pins the tensor to NCHW and costs two
    full-size TRANSPOSE ops around it in the TFLite graph, whereas a concat
    follows the tensor's layout.
    """
    frame = x.shape[1:]
    parts = []
    if before:
        parts.append(torch.zeros((before, *frame), dtype=x.dtype, device=x.device))
    parts.append(x)
    if after:
        parts.append(torch.zeros((after, *frame), dtype=x.dtype, device=x.device))
    return torch.cat(parts, dim=0) if len(parts) > 1 else x


def constant_pad_frames(x: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """The same zero frames as one constant pad on the batch axis (XNNPACK has no ``full``)."""
    if not before and not after:
        return x
    return F.pad(x, (0, 0, 0, 0, 0, 0, before, after))


def shift_frames(x: torch.Tensor, offset: int, pad_frames=concat_zero_frames) -> torch.Tensor:
    """``y[t] = x[t - offset]`` for 0 < |offset| < T, zero frames (``pad_frames``) where ``t - offset`` is outside."""
    if offset > 0:
        return pad_frames(x[:-offset], offset, 0)
    return pad_frames(x[-offset:], 0, -offset)


def first_token(z: torch.Tensor) -> torch.Tensor:
    """``z[:, 0]`` (``[1, M, d]`` -> ``[1, d]``) as a Slice and a Reshape, not a Gather.

    Core ML MLProgram (through ONNX Runtime) and XNNPACK (onnx2tf writes a
    GATHER) take no Gather, and every block reads z0, so a Gather cut each
    phone graph once per block (docs/mobile-accelerators.md). A Reshape rather
    than a Squeeze: ExecuTorch's XNNPACK delegate leaves ``squeeze_copy`` out,
    which cut the .pte into 10 partitions; one spelling serves every target.
    """
    return z[:, :1].reshape(z.shape[0], z.shape[2])
