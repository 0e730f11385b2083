"""Where the halves of a split artifact (stem + body) meet, without torch.

Shared by the exporter, which writes the halves and checks their parity
(``vmf-export --split``), and the runtime's stem reuse, which must not import
torch or the exporter: which clip frames each stem output frame reads, how a
window reaching outside the clip is padded, and the export id stamped into
each half.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .errors import VmfError

ID_KEY = "vmf_split_id"  # ONNX metadata_props: the export both halves came from
HALF_KEY = "vmf_split_half"


def output_frames(frames: int, kernel: int, stride: int, padding: int) -> int:
    """T' of the reference stem: floor((T + 2p - k) / s) + 1."""
    return (frames + 2 * padding - kernel) // stride + 1


def stem_windows(frames: int, kernel: int, stride: int, padding: int) -> list[tuple[int, int]]:
    """``(first, end)`` clip frames read by each stem output frame; may reach outside [0, T)."""
    return [
        (stride * t - padding, stride * t - padding + kernel)
        for t in range(output_frames(frames, kernel, stride, padding))
    ]


def window(clip: np.ndarray, first: int, end: int, scratch: np.ndarray | None = None) -> np.ndarray:
    """Clip frames ``first .. end - 1`` (axis 0), with zero frames where that is outside the clip."""
    if first >= 0 and end <= clip.shape[0]:
        return clip[first:end]
    out = np.zeros((end - first, *clip.shape[1:]), clip.dtype) if scratch is None else scratch
    out[...] = 0
    lo, hi = max(first, 0), min(end, clip.shape[0])
    out[lo - first : hi - first] = clip[lo:hi]
    return out


def read_stamp(path: "str | Path") -> tuple[str | None, str | None]:
    """(export id, half) embedded in a split half; (None, None) when it has none."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # a truncated or foreign file
        raise VmfError(f"{Path(path).name} is not a loadable ONNX model ({exc})") from None
    props = {p.key: p.value for p in model.metadata_props}
    return props.get(ID_KEY), props.get(HALF_KEY)


def file_sha256(path: "str | Path") -> str:
    """Hex digest of a file: how a card names the exact halves it was written with."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
