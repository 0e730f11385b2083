"""The one table of deployable forms: (layout, spelling) -> the twin of every reference block type.

The form varies along two axes, and both are entries of ``FORMS``:

- the *layout* of the input clip, time folded into the batch axis:
  ``"TCHW"`` (NCHW feature maps: ONNX Runtime, Core ML, PyTorch, ExecuTorch)
  or ``"THWC"`` (channels-last: TFLite, whose graphs are NHWC; its twins,
  ``channels_last.OVERRIDES``, need no feature-map transposes);
- the *spelling*, which ops the same arithmetic is written in:
  ``"default"`` (ONNX, TFLite, Core ML), ``"xnnpack"`` (ExecuTorch's XNNPACK
  delegate, ``xnnpack_spelling``) or ``"ort_mobile"`` (ONNX Runtime Mobile's
  Core ML and NNAPI EPs, ``ort_mobile_spelling``).

Every layout and every spelling follows one protocol: a ``TwinTable`` of
overrides laid over the default TCHW table (``DEFAULT_TWINS``). Only the
pairs that a runtime takes and that are exact are forms; ``form`` is the one
place a (layout, spelling) is validated. The two spellings for phone
runtimes are written for NCHW graphs only: the xnnpack stem views the clip
as ``3 s_t`` channels, and ExecuTorch and ONNX Runtime Mobile get TCHW clips
(``Target.layout`` in vmf.contract.targets); a THWC ort_mobile form mixed its bridges with the
channels-last DY-ReLU and failed with a shape error.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from torch import nn

from vmf.model import VideoMobileFormer, VmfError
from vmf.model.blocks import Head, KeepFeatures, KeepTokens, MobileBlock, Stem, VideoMobileFormerBlock
from vmf.model.bridges import Former, FormerToMobile, MobileToFormer
from vmf.model.dyrelu import FrameDyReLU, PlainReLU

from ..sidecar import LAYOUTS
from . import channels_last, ort_mobile_spelling, xnnpack_spelling
from .attention import DeployFormer, DeployFormerToMobile, DeployMobileToFormer
from .context import TwinTable
from .head import DeployHead
from .mobile import DeployFrameDyReLU, DeployMobileBlock, DeployReLU
from .network import DeployableVideoMobileFormer, DeployBlock, PassFeatures, PassThrough, PassTokens
from .stem import DeployStem

# Every reference block type that needs a rewrite -> its default (TCHW) twin (exact type
# match; no side-effect registration). The walker refuses any type missing here.
DEFAULT_TWINS: TwinTable = MappingProxyType(
    {
        VideoMobileFormer: DeployableVideoMobileFormer,
        Stem: DeployStem,
        VideoMobileFormerBlock: DeployBlock,
        MobileToFormer: DeployMobileToFormer,
        Former: DeployFormer,
        MobileBlock: DeployMobileBlock,
        FrameDyReLU: DeployFrameDyReLU,
        PlainReLU: DeployReLU,
        FormerToMobile: DeployFormerToMobile,
        Head: DeployHead,
        KeepTokens: PassTokens,
        KeepFeatures: PassFeatures,
        nn.Identity: PassThrough,
    }
)


def over_default(overrides: TwinTable) -> TwinTable:
    """``DEFAULT_TWINS`` with ``overrides`` laid over it; an override may only replace a twin."""
    unknown = [t.__name__ for t in overrides if t not in DEFAULT_TWINS]
    if unknown:
        raise TypeError(f"overrides for block types the default form does not have: {', '.join(unknown)}")
    return MappingProxyType({**DEFAULT_TWINS, **overrides})


@dataclass(frozen=True)
class Form:
    """One deployable form: the clip layout, the spelling, who takes it, and its twin table."""

    layout: str
    spelling: str
    used_by: str
    twins: TwinTable

    def __str__(self) -> str:
        return f"{self.layout}/{self.spelling} ({self.used_by})"


FORMS: dict[tuple[str, str], Form] = {
    (f.layout, f.spelling): f
    for f in (
        Form("TCHW", "default", "ONNX, onnx2tf, Core ML, PyTorch", DEFAULT_TWINS),
        Form("THWC", "default", "TFLite through litert-torch", over_default(channels_last.OVERRIDES)),
        Form("TCHW", "xnnpack", "ExecuTorch's XNNPACK delegate", over_default(xnnpack_spelling.OVERRIDES)),
        Form("TCHW", "ort_mobile", "ONNX Runtime Mobile", over_default(ort_mobile_spelling.OVERRIDES)),
    )
}

SPELLINGS = tuple(dict.fromkeys(spelling for _, spelling in FORMS))  # "default" first


def form(layout: str, spelling: str = "default") -> Form:
    """The deployable form for ``layout`` and ``spelling``; one ``VmfError`` naming the valid ones if none."""
    if layout not in LAYOUTS:
        raise VmfError(f"unknown input layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
    if spelling not in SPELLINGS:
        raise VmfError(f"unknown spelling {spelling!r}; valid spellings: {', '.join(SPELLINGS)}")
    found = FORMS.get((layout, spelling))
    if found is None:
        raise VmfError(
            f"the {spelling} spelling has no {layout} form; the deployable forms (layout/spelling) are: "
            + "; ".join(str(f) for f in FORMS.values())
        )
    return found
