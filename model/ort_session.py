"""The one way vmf opens an ONNX Runtime session: the exporter's checks, the runtime, the benchmarks.

Every session gets the same options: the graph optimiser's warnings stay off
the console (they are not the user's business), operators run one after
another (one clip at a time: no parallel branches to feed), and, when
``threads`` is given, exactly that many intra-op threads, applied so that a
report of them is true. ``spin=False`` keeps idle pool threads from
busy-waiting (a stream shares its cores: ``vmf.runtime.thread_plan``).
``onnxruntime`` is imported when a session is opened.
"""

from __future__ import annotations

import os
from typing import Sequence

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
QUIET = 3  # ONNX Runtime's log severity: errors only


def ort_session(
    path: "str | os.PathLike",
    *,
    threads: int | None = None,
    providers: Sequence[str] = (CPU_PROVIDER,),
    spin: bool = True,
    profile_prefix: str | None = None,
):
    """An ``onnxruntime.InferenceSession`` of ``path`` (``.onnx`` or ``.ort``) with vmf's options.

    ``threads=None`` leaves the intra-op pool to ONNX Runtime (its physical
    cores); ``profile_prefix`` turns its profiler on, writing there.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = QUIET
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = str(profile_prefix)
    return ort.InferenceSession(str(path), options, providers=list(providers))
