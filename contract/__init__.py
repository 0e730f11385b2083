"""The clip contract, below every other vmf package and free of torch.

What a model expects of its input and what every producer of clips must agree
on lives here once:

- ``sampling``: which frames of a video make a clip;
- ``preprocess``: how a frame becomes one slot of the clip (resize, crop,
  ``MEAN``/``STD``), what the Android core reproduces;
- ``card``: the model card beside every artifact (its keys, schema, validation,
  reading), ``labels``: the class names it lists;
- ``video``: the one video reader and the suffixes of video files;
- ``split_layout``: where the halves of a split artifact meet (stem reuse);
- ``web_layout``: the files of a web export and the headers it is served with;
- ``errors``: the error type every user-facing mistake raises.

Training, evaluation, the exporter and the runtime all read it, so "the frames
the model was trained on" and "the frames a stream hands it" are the same
indices by construction (docs/training.md, "Clips"), and the runtime needs
nothing of the exporter or of training. Only ``errors`` and ``sampling`` are
imported with the package; the other modules are imported by name.
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
