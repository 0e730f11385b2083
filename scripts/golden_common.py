"""What the golden-file generators share: the test frames and the blob writer
(``scripts/make_android_golden.py``, ``scripts/golden_web.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.model.files import write_bytes

# A second normalisation with a different number per channel, so that an RGB/BGR
# mix-up in the Java normaliser cannot hide behind equal constants.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def structured_frame(height: int, width: int, seed: int) -> np.ndarray:
    """A BGR uint8 frame with gradients, a disc, stripes and a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx = height * rng.uniform(0.3, 0.7), width * rng.uniform(0.3, 0.7)
    radius = min(height, width) / 3
    disc = ((y - cy) ** 2 + (x - cx) ** 2) < radius**2
    blue = 255 * x / max(width - 1, 1)
    green = 255 * y / max(height - 1, 1)
    red = 127.5 + 127.5 * np.sin((x + 2 * y) / rng.uniform(2.0, 5.0))
    frame = np.stack([blue, green, red], axis=-1)
    frame[disc] = 255 - frame[disc]
    frame += rng.normal(0, 6, frame.shape)
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


class Writer:
    def __init__(self, root: Path):
        self.root = root
        self.total = 0
        self.names: set[str] = set()

    def blob(self, name: str, data) -> str:
        raw = data if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()
        write_bytes(self.root / name, raw)
        self.total += len(raw)
        self.names.add(name)
        return name
