"""Shared test material for the runtime tests (imported by them and by conftest.py): tiny models with sidecars, videos written here, fake backends.

Everything is made in the test session: a VMF-560M config shrunk to 8 frames
at 32 x 32 (its real blocks, few MACs) saved as a vmf checkpoint and exported
to ONNX; videos written with OpenCV's VideoWriter (MJPG in .avi, which
opencv-python-headless writes and reads everywhere) whose frame k is uniform
grey of a known level, so a test can tell which frame landed where.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vmf.contract.card import make_card
from vmf.export.sidecar import write_sidecar
from vmf.model import MEAN, STD, VARIANTS, build_model, save_checkpoint
from vmf.runtime.backend_base import Backend
from vmf.runtime.backend_torch import checkpoint_meta

TINY_FRAMES = 8
TINY_RES = 32
TINY_CLASSES = 10
VIDEO_FPS = 25.0


def grey_level(index: int) -> int:
    """Frame ``index`` of a test video is uniform grey of this level (32 levels, 8 apart)."""
    return 4 + 8 * (index % 32)


def decode_levels(clip: np.ndarray) -> list[int]:
    """Frame indices (mod 32) of a preprocessed clip of uniform grey frames (either layout)."""
    values = clip.mean(axis=(1, 2, 3)) * STD[0] + MEAN[0]  # undo normalisation: v / 255
    return [int(round((v * 255 - 4) / 8)) % 32 for v in values]


def write_video(path: Path, count: int, size=(48, 64), fps: float = VIDEO_FPS) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (size[1], size[0]))
    assert writer.isOpened()
    for k in range(count):
        writer.write(np.full((*size, 3), grey_level(k), dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture
def make_video(tmp_path):
    def make(count: int, name: str = "clip.avi", **kwargs) -> Path:
        return write_video(tmp_path / name, count, **kwargs)

    return make


class _TCHW(torch.nn.Module):
    """[T,3,R,R] -> the reference model's (1,3,T,R,R): the exported input contract."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, clip):
        return self.model(clip.permute(1, 0, 2, 3).unsqueeze(0))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """A tiny VMF checkpoint and its ONNX export (with sidecar): {"checkpoint", "onnx", "model"}."""
    folder = tmp_path_factory.mktemp("tiny_models")
    torch.manual_seed(0)
    cfg = dataclasses.replace(VARIANTS["560M"], frames=TINY_FRAMES, resolution=TINY_RES)
    model = build_model(cfg, num_classes=TINY_CLASSES).eval()
    ckpt = save_checkpoint(model, folder / "tiny.pt")
    onnx_path = folder / "tiny.onnx"
    example = torch.zeros(TINY_FRAMES, 3, TINY_RES, TINY_RES)
    meta = checkpoint_meta(model, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy (TorchScript) exporter's deprecation notice
        torch.onnx.export(
            _TCHW(model).eval(),
            (example,),
            str(onnx_path),
            dynamo=False,
            opset_version=17,
            input_names=[meta["input_name"]],
            output_names=[meta["output"]],
        )
    write_sidecar(onnx_path, meta)
    return {"checkpoint": ckpt, "onnx": onnx_path, "model": model, "meta": meta}


def fake_meta(
    frames: int = 4, resolution: int = 8, layout: str = "TCHW", classes: int | None = None, **extra
) -> dict:
    classes = classes or frames
    return make_card(
        variant="test",
        baseline=False,
        frames=frames,
        resolution=resolution,
        temporal_stride=1,
        input_name="clip",
        layout=layout,
        labels=[f"class_{i}" for i in range(classes)],
        precision="fp32",
        converter=None,
        weights_sha256=None,
        untrained=True,
        parity=None,
        macs=None,
        params=None,
        versions={},
        **extra,
    )


class LevelBackend(Backend):
    """A fake model whose logit t is frame t's decoded grey level: shows what clip it was given.

    ``delay_s`` makes it deliberately slow (sleeping, so it costs no CPU).
    """

    name = "fake"

    def __init__(self, meta: dict | None = None, delay_s: float = 0.0):
        super().__init__(Path("fake.model"), meta or fake_meta(), "fake cpu")
        self.delay_s = delay_s
        self.clips: list[list[int]] = []

    def _infer(self, clip):
        levels = decode_levels(clip)
        self.clips.append(levels)
        if self.delay_s:
            time.sleep(self.delay_s)
        return np.asarray(levels, dtype=np.float32)
