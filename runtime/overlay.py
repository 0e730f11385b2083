"""What a person sees: the top-5 and the latency drawn on frames, written to a video or a window."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

from vmf.model import VmfError

from .scoring import Prediction

_FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}
_DEFAULT_FPS = 30.0  # for sources that do not report a rate (some cameras and streams)


def draw_overlay(image: np.ndarray, prediction: Prediction | None, status: str) -> np.ndarray:
    """A copy of ``image`` with the top-5 (label, score) and a status line drawn on it; under
    ``--hold`` the shown label (``prediction.label``) comes first."""
    import cv2

    canvas = image.copy()
    height = canvas.shape[0]
    scale = max(0.35, min(1.0, height / 720))
    step = int(26 * scale) + 4
    lines = [status]
    if prediction is None:
        lines.append("filling the clip buffer ...")
    else:
        if prediction.shown is not None:
            held = " (held)" if prediction.held else ""
            lines.append(f"shown: {prediction.label} {prediction.score:.1%}{held}")
        lines += [f"{score:5.1%}  {label}" for label, score in prediction.top]
    # A darkened panel under the text keeps it readable on any scene.
    width = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for t in lines) + 16
    panel = canvas[: step * len(lines) + step // 2, : min(width, canvas.shape[1])]
    panel[...] = (panel * 0.35).astype(np.uint8)
    for row, text in enumerate(lines):
        origin = (8, step * (row + 1))
        cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


class OverlayWriter:
    """Annotated frames into a video; written under a temporary name, renamed by ``close()``."""

    def __init__(self, path: "str | os.PathLike", fps: float | None):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _FOURCC_BY_SUFFIX:
            raise VmfError(
                f"--output {self.path.name}: write .mp4 or .avi (known: {', '.join(_FOURCC_BY_SUFFIX)})"
            )
        if not self.path.parent.is_dir():
            raise VmfError(f"--output folder {self.path.parent} does not exist")
        self.fps = fps or _DEFAULT_FPS
        self._fourcc = _FOURCC_BY_SUFFIX[suffix]
        # Same folder (rename is atomic there) and same suffix (OpenCV picks the container by it).
        # VideoWriter creates the file itself, so it gets the user's usual permissions.
        self._tmp = self.path.with_name(f".{self.path.stem}.{uuid.uuid4().hex[:8]}.partial{suffix}")
        self._writer = None
        self.frames_written = 0

    def write(self, image: np.ndarray) -> None:
        import cv2

        if self._writer is None:
            height, width = image.shape[:2]
            self._writer = cv2.VideoWriter(
                str(self._tmp), cv2.VideoWriter_fourcc(*self._fourcc), self.fps, (width, height)
            )
            if not self._writer.isOpened():
                self.close(keep=False)
                raise VmfError(f"OpenCV cannot write {self._fourcc} video to {self.path.name}")
        self._writer.write(image)
        self.frames_written += 1

    def close(self, keep: bool = True) -> Path | None:
        """Finish the file and move it into place (``keep``), or remove it."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if keep and self.frames_written and self._tmp.exists():
            os.replace(self._tmp, self.path)
            return self.path
        if self._tmp.exists():
            self._tmp.unlink()
        return None


def gui_available() -> bool:
    """Whether this OpenCV build can open windows (opencv-python-headless cannot)."""
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() not in ("", "NONE")
    return False


class Display:
    """One OpenCV window; ``show`` returns False once the user pressed q or Esc."""

    WINDOW = "vmf-stream"

    def __init__(self):
        import cv2

        if not gui_available():
            raise VmfError(
                "--display needs OpenCV with a GUI, and this one is headless "
                "(opencv-python-headless); use --output overlay.mp4 instead"
            )
        self._cv2 = cv2

    def show(self, image: np.ndarray) -> bool:
        self._cv2.imshow(self.WINDOW, image)
        return self._cv2.waitKey(1) & 0xFF not in (ord("q"), 27)

    def close(self) -> None:
        self._cv2.destroyWindow(self.WINDOW)
