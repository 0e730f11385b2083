"""Streaming runtime: frame sources, clip ring buffer, inference backends, latency, ``vmf-stream``.

Embedding in an app or a server::

    from vmf.runtime import Classifier
    clf = Classifier.load("vmf-560m_fp32.onnx", hop=8, threads=2)
    prediction = clf.push(frame_bgr)   # None until a clip is due

The pieces: ``sources`` (OpenCV capture on a thread), ``sampling``,
``ring_buffer``, ``clip_assembler``, ``backends`` (``load_backend``,
``BACKENDS``), ``scoring``, ``latency`` (bounded statistics), ``stream``
(``run_stream``), ``thread_plan``, ``stem_reuse`` (split artifacts), ``overlay``
and ``cli`` (``vmf-stream``). Long runs: docs/streaming.md.
"""

from .backends import BACKENDS, Backend, load_backend
from .classifier import Classifier
from .clip_assembler import HOP, ClipAssembler, expected_inferences
from .ring_buffer import ClipRingBuffer
from vmf.contract.sampling import TemporalSampler
from .scoring import Prediction
from .sources import Frame, SyntheticLiveSource, VideoSource, open_source
from .stream import StreamOptions, StreamReport, run_stream

__all__ = [
    "BACKENDS",
    "Backend",
    "load_backend",
    "Classifier",
    "HOP",
    "ClipAssembler",
    "expected_inferences",
    "ClipRingBuffer",
    "TemporalSampler",
    "Prediction",
    "Frame",
    "SyntheticLiveSource",
    "VideoSource",
    "open_source",
    "StreamOptions",
    "StreamReport",
    "run_stream",
]
