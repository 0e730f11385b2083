"""The clip contract, below every other vmf package and free of torch.

What a model expects of its input and what every producer of clips must agree
on lives here once: which frames of a video make a clip (``sampling``) and the
error type every user-facing mistake raises (``errors``). Training, evaluation,
the exporter's calibration and the runtime all read it, so "the frames the
model was trained on" and "the frames a stream hands it" are the same indices
by construction (docs/training.md, "Clips").
"""

from .errors import VmfError
from .sampling import (
    CLIP_SAMPLINGS,
    TemporalSampler,
    kept_indices,
    stream_window,
    stream_window_ends,
    uniform_indices,
)

__all__ = [
    "CLIP_SAMPLINGS",
    "TemporalSampler",
    "VmfError",
    "kept_indices",
    "stream_window",
    "stream_window_ends",
    "uniform_indices",
]
