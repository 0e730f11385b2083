"""A fake camera for the browser target: a vmf video as a Y4M file Chromium plays as its webcam.

Chromium's ``--use-file-for-fake-video-capture=FILE.y4m`` delivers the file's frames as
the camera, paced at the file's frame rate, looping at its end. Each frame carries its
number modulo 256 stamped in the top-left corner (``stamp_frame_code``), which the page
reads under ``?debug=framecode`` as the prediction's ``frame_index`` (docs/web.md); so a
prediction in the browser names the exact source frame its window ends on, and a gap in
the codes is a frame the page never saw. A video of 256 frames loops without a jump in
the code (255 is followed by 0), so the file frame of any frame_index is
``frame_index % 256``, whether the page unwraps the code or not; the left-right video
(shorter: its object must stay in the frame) plays on in a loop to fill the 256.

The same 4:2:0 planes are also written losslessly (FFV1 in .mkv) for ``vmf-stream``, so
the browser and the native runtime classify identical pixels: only the YUV to RGB step
differs (both BT.601, video range).

Used by tests/web/ and scripts/web_latency.py, scripts/web_live_run.py.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

CODE_BITS = 8  # frame number modulo 256, most significant bit first
CODE_BLOCK_W, CODE_BLOCK_H = 4, 16  # bit i is the block x = 4i..4i+3, y = 0..15
CODE_PERIOD = 1 << CODE_BITS
CAMERA_FRAMES = CODE_PERIOD  # one loop of the camera = one period of the code
CAMERA_SIZE = (480, 360)
CAMERA_FPS = 25
BIN = Path(sys.executable).parent  # the venv's console scripts (vmf-data, vmf-stream)


def stamp_frame_code(image_bgr: np.ndarray, number: int) -> np.ndarray:
    """Write ``number % 256`` into the top-left corner, in place: white blocks for 1, black for 0."""
    code = int(number) % CODE_PERIOD
    for i in range(CODE_BITS):
        bit = (code >> (CODE_BITS - 1 - i)) & 1
        image_bgr[:CODE_BLOCK_H, CODE_BLOCK_W * i : CODE_BLOCK_W * (i + 1)] = 255 if bit else 0
    return image_bgr


def read_frame_code(image: np.ndarray) -> int:
    """The stamped number back, from each block's inner pixels (safe from chroma bleeding at its edges)."""
    gray = image if image.ndim == 2 else image.mean(axis=2)
    code = 0
    for i in range(CODE_BITS):
        x = CODE_BLOCK_W * i
        inner = gray[4 : CODE_BLOCK_H - 4, x + 1 : x + CODE_BLOCK_W - 1]
        code = (code << 1) | int(inner.mean() >= 128)
    return code


def bgr_to_i420(image_bgr: np.ndarray) -> np.ndarray:
    """One frame as planar 4:2:0 (Y, then U, then V), BT.601 video range, as OpenCV codes I420."""
    h, w = image_bgr.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"4:2:0 needs an even frame size, got {w}x{h}")
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2YUV_I420)  # (h * 3 / 2, w) uint8


def y4m_header(width: int, height: int, fps: float) -> bytes:
    """YUV4MPEG2 stream header: progressive, square pixels, 4:2:0 with JPEG (centred) chroma siting."""
    rate = Fraction(fps).limit_denominator(1001)
    return f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg\n".encode()


def write_y4m(path: Path, frames_i420, width: int, height: int, fps: float) -> Path:
    """Write I420 frames (each ``(h * 3 / 2, w)`` uint8) as a Y4M file Chromium's fake camera plays."""
    path = Path(path)
    expected = (height * 3 // 2, width)
    with open(path, "wb") as out:
        out.write(y4m_header(width, height, fps))
        for i, frame in enumerate(frames_i420):
            if frame.shape != expected or frame.dtype != np.uint8:
                raise ValueError(f"frame {i} is {frame.dtype} {frame.shape}, not uint8 {expected}")
            out.write(b"FRAME\n")
            out.write(np.ascontiguousarray(frame).tobytes())
    return path


def read_y4m(path: Path) -> tuple[dict, list[np.ndarray]]:
    """A Y4M file's header fields and its I420 frames (for checking what ``write_y4m`` wrote)."""
    data = Path(path).read_bytes()
    end = data.index(b"\n")
    fields = data[:end].decode().split()
    if fields[0] != "YUV4MPEG2":
        raise ValueError(f"{path}: not a YUV4MPEG2 file")
    header = {f[0]: f[1:] for f in fields[1:]}
    width, height = int(header["W"]), int(header["H"])
    size = width * height * 3 // 2
    frames, pos = [], end + 1
    while pos < len(data):
        marker = data.index(b"\n", pos)
        if not data[pos:marker].startswith(b"FRAME"):
            raise ValueError(f"{path}: frame marker expected at byte {pos}")
        pos = marker + 1
        frames.append(np.frombuffer(data[pos : pos + size], np.uint8).reshape(height * 3 // 2, width))
        pos += size
    return header, frames


def write_lossless(path: Path, frames_i420, width: int, height: int, fps: float) -> Path:
    """The same I420 planes as FFV1 in Matroska: a video file vmf-stream decodes to these pixels."""
    import av

    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for frame in frames_i420:
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="yuv420p")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


@dataclass(frozen=True)
class Segment:
    start: int  # first frame
    end: int  # one past the last frame
    label: str


@dataclass(frozen=True)
class CameraVideo:
    """The fake camera's file, the same frames for vmf-stream, and the labelled segments."""

    y4m: Path
    reference: Path  # lossless .mkv of the Y4M's planes
    segments: tuple[Segment, ...]
    frames: int
    fps: float
    size: tuple[int, int]

    def span_label(self, first: int, last: int) -> str | None:
        """The label of frames ``first..last`` (counted on across loops), None unless all in one segment.

        A span across the camera's loop point is in no segment.
        """
        if last < first or last - first >= self.frames:
            return None
        lo = first % self.frames
        hi = lo + (last - first)
        for seg in self.segments:
            if seg.start <= lo and hi < seg.end:
                return seg.label
        return None

    def window_label(self, frame_index: int, window: int) -> str | None:
        """The label of the ``window`` frames ending at ``frame_index``, None unless in one segment.

        The window ending at frame f holds frames f - window + 1 .. f: vmf-stream's
        ``frame_index`` is the newest frame of the clip (runtime/scoring.py).
        """
        return self.span_label(int(frame_index) - window + 1, int(frame_index))


def read_segments(path: Path) -> tuple[Segment, ...]:
    """``vmf-data``'s ``.segments.csv``: start_frame (first), end_frame (one past the last), label."""
    with open(path, newline="") as f:
        return tuple(
            Segment(int(r["start_frame"]), int(r["end_frame"]), r["label"]) for r in csv.DictReader(f)
        )


def tile_segments(segments: tuple[Segment, ...], period: int, frames: int) -> tuple[Segment, ...]:
    """Segments of a ``period``-frame video played in a loop for ``frames`` frames."""
    tiled = []
    for start in range(0, frames, period):
        for seg in segments:
            if start + seg.start < frames:
                tiled.append(Segment(start + seg.start, min(start + seg.end, frames), seg.label))
    return tuple(tiled)


def make_camera_video(
    folder: Path,
    frames: int = CAMERA_FRAMES,
    size: tuple[int, int] = CAMERA_SIZE,
    fps: float = CAMERA_FPS,
    source_frames: int = 200,
) -> CameraVideo:
    """``vmf-data left-right`` at ``size``/``fps``, looped to ``frames`` frames, frame-coded.

    ``vmf-data left-right`` keeps its object at the training speed, so it fits at most
    about 228 frames; its object ends where it started, so the ``source_frames`` video
    plays on in a loop up to 256 frames, and camera frame k shows video frame
    k % source_frames stamped with code k. Returns the Y4M camera and its lossless twin.
    """
    from vmf.contract.video import read_video

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    mp4 = folder / "left-right.mp4"
    command = [
        str(BIN / "vmf-data"),
        "left-right",
        "--out",
        str(mp4),
        "--frames",
        str(source_frames),
        "--size",
        f"{size[0]}x{size[1]}",
        "--fps",
        f"{fps:g}",
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    video, _ = read_video(mp4)
    if len(video) != source_frames:
        raise RuntimeError(f"{mp4}: decoded {len(video)} frames, vmf-data wrote {source_frames}")
    segments = tile_segments(read_segments(Path(summary["segments"])), source_frames, frames)
    planes = [bgr_to_i420(stamp_frame_code(np.array(video[k % source_frames]), k)) for k in range(frames)]
    width, height = size
    y4m = write_y4m(folder / "left-right.y4m", planes, width, height, fps)
    reference = write_lossless(folder / "left-right.mkv", planes, width, height, fps)
    return CameraVideo(y4m, reference, segments, frames, float(fps), (width, height))


def unwrap_codes(codes) -> list[int]:
    """Frame codes (each modulo 256, or already counting up) as one increasing count.

    Between two codes fewer than 256 frames are assumed to pass, true of any two
    consecutive predictions at a hop of 8.
    """
    out: list[int] = []
    for code in codes:
        code = int(code)
        if not out:
            out.append(code)
        else:
            out.append(out[-1] + (code - out[-1]) % CODE_PERIOD)
    return out


def window_firsts(frame_indices, window: int, hop: int) -> list[int | None]:
    """The first source frame of each prediction's window, from the predictions' frame_index.

    With no skipped hop, consecutive predictions are ``hop`` kept frames apart, so when
    ``window`` is a multiple of ``hop`` the window of prediction k is exactly the kept
    frames after the newest frame of prediction k - window / hop: it starts one past that
    frame, earlier than f - window + 1 when the page missed frames in it. The first
    window / hop predictions have no such predecessor (None).
    """
    back = window // hop if window % hop == 0 else None
    out: list[int | None] = []
    for k in range(len(frame_indices)):
        out.append(frame_indices[k - back] + 1 if back is not None and k >= back else None)
    return out


def missing_frames(frame_indices, hop: int) -> tuple[int, int, int]:
    """(frames missed, frames repeated, frames spanned) from the first prediction's frame to the last.

    Consecutive predictions of a stream with no skipped hop are ``hop`` kept frames apart:
    a larger step of frame_index is frames the page never saw, a smaller one a frame it
    was given twice (Chromium's fake camera repeats one as its file loops). A miss and a
    repeat between the same two predictions cancel, so the counts are lower bounds.
    """
    f = list(frame_indices)
    steps = [b - a for a, b in zip(f, f[1:])]
    missed = sum(max(0, step - hop) for step in steps)
    repeated = sum(max(0, hop - step) for step in steps)
    return missed, repeated, (f[-1] - f[0]) if f else 0
