"""Per-frame preprocessing, re-exported from ``vmf.contract.preprocess`` where it is defined.

The input contract is shared by the exporter, the runtime, training and the
Android core, so it lives in the torch-free contract package; this module keeps
``from vmf.export.preprocess import FramePreprocessor`` working.
"""

from vmf.contract.preprocess import MEAN, STD, FramePreprocessor, ResamplePlan, resample_plan, resize_crop
from vmf.contract.sampling import uniform_indices

__all__ = [
    "MEAN",
    "STD",
    "FramePreprocessor",
    "ResamplePlan",
    "resample_plan",
    "resize_crop",
    "uniform_indices",
]
