"""The deployable form: the reference network re-expressed, weight-exactly, at rank <= 4.

Phone accelerators take rank <= 4 tensors only and no CONV_3D
(docs/deployable-form.md), so ``make_deployable`` returns a new
module that takes one clip with time folded into the batch axis,
``[T, 3, R, R]`` ("TCHW") or ``[T, R, R, 3]`` ("THWC"), and gives ``[1, classes]``
logits equal to the reference's (fp32 max abs difference <= 1e-4).

Modules, in import order (none imports one below it):

- ``context``: the twin protocol (``from_reference(block, ctx)``), the
  context the walker hands a twin, the recording of static shapes;
- ``folding``: exact weight algebra (BatchNorm folding, 3D -> 2D kernels);
- ``frame_ops``: small rank-4 ops (zero frames, shifts, the first token);
- ``stem``: the (2+1)D stem as one fused 2D conv over the frames it reads;
- ``mobile``: Mobile block, 3x3x3 depthwise conv as 2D taps, frame-level DY-ReLU;
- ``attention``: the bridges and the Former as MatMul + Softmax, one
  template ``forward`` per block with named steps;
- ``head``: the classifier;
- ``network``: the whole model and one block of Fig. 2;
- ``channels_last``: the THWC (TFLite) twins;
- ``xnnpack_spelling``, ``ort_mobile_spelling``: the ExecuTorch and ONNX
  Runtime Mobile spellings;
- ``forms``: the one table ``FORMS`` keyed by (layout, spelling) and its
  validation (``form``);
- ``convert``: the walker, ``to_deployable`` and ``make_deployable``.
"""

from .convert import make_deployable, to_deployable
from .forms import FORMS, SPELLINGS, Form, form
from .network import DeployableVideoMobileFormer

__all__ = [
    "FORMS",
    "SPELLINGS",
    "DeployableVideoMobileFormer",
    "Form",
    "form",
    "make_deployable",
    "to_deployable",
]
