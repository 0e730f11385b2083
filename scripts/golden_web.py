"""The web core's golden cases (web_demo/test): RGBA frames through the preprocessing, the
sampler's decisions, the model card's error messages, Python's rounding and percentiles.

Written by ``scripts/make_android_golden.py`` into the ``web`` section of the same
manifest the Android core reads, so both cores are checked against one Python run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vmf.contract.card import json_schema, validate_sidecar
from vmf.contract.preprocess import FramePreprocessor
from vmf.contract.sampling import TemporalSampler, kept_indices
from vmf.model import MEAN, STD, VmfError

from golden_common import IMAGENET_MEAN, IMAGENET_STD, Writer, structured_frame

WEB_RESOLUTION = 56  # the browser frames are wider than the Android ones: a camera-like aspect
WEB_FRAMES = {  # name: (height, width, seed, layout, normalisation)
    "g": (121, 160, 7, "TCHW", "imagenet"),  # 4:3 with an odd height
    "h": (180, 320, 8, "THWC", "kinetics"),  # 16:9, scale 56/180
}
# (source fps, sample_fps or None, sample_every or None, frames): what a stream keeps
SAMPLER_CASES = [
    (30.0, 12.0, None, 90),
    (30.0, 15.0, None, 90),
    (25.0, 10.0, None, 75),
    (29.97, 8.0, None, 120),
    (24.0, 30.0, None, 48),  # the model's rate above the camera's: every frame
    (60.0, 7.5, None, 120),
    (30.0, None, 3, 30),
]


def rgba_cases(w: Writer) -> list[dict]:
    """Frames as the browser reads them (RGBA, alpha arbitrary) and their tensors from the BGR
    frame: the web core reads R, G, B out of RGBA where the Python contract reads OpenCV BGR."""
    norms = {"kinetics": (MEAN, STD), "imagenet": (IMAGENET_MEAN, IMAGENET_STD)}
    cases = []
    for name, (height, width, seed, layout, norm) in WEB_FRAMES.items():
        bgr = structured_frame(height, width, seed)
        alpha = np.random.default_rng(seed + 100).integers(0, 256, (height, width, 1), dtype=np.uint8)
        rgba = np.concatenate([bgr[..., ::-1], alpha], axis=-1)
        mean, std = norms[norm]
        tensor = FramePreprocessor(WEB_RESOLUTION, mean, std, layout)(bgr)
        cases.append(
            {
                "name": name,
                "file": w.blob(f"web_rgba_{name}.u8", rgba),
                "height": height,
                "width": width,
                "layout": layout,
                "resolution": WEB_RESOLUTION,
                "mean": list(mean),
                "std": list(std),
                "expected": w.blob(f"web_pre_{name}_{layout}_{norm}.f32", tensor.astype(np.float32)),
            }
        )
    return cases


def sampler_cases() -> list[dict]:
    """Indices ``kept_indices`` keeps (file timestamps i / fps), and the decisions of a
    ``TemporalSampler`` fed jittered camera timestamps with a stall in the middle."""
    cases = [
        {
            "fps": fps,
            "sample_fps": sample_fps,
            "sample_every": every,
            "frames": n,
            "kept": [int(i) for i in kept_indices(n, fps, sample_fps=sample_fps, sample_every=every)],
        }
        for fps, sample_fps, every, n in SAMPLER_CASES
    ]
    rng = np.random.default_rng(11)
    times = np.arange(60) / 30.0 + rng.uniform(-0.004, 0.004, 60)
    times[40:] += 0.5  # a stall: the due time restarts from the frame after it
    times = [round(float(t), 6) for t in np.maximum.accumulate(times)]
    sampler = TemporalSampler(target_fps=12.0)
    cases.append({"timestamps": times, "sample_fps": 12.0, "keep": [sampler.keep(t) for t in times]})
    return cases


# Broken model cards: each a change to the fixture sidecar and the message validate_sidecar gives.
CARD_MUTATIONS = [
    ("valid", {}),
    ("valid with sampling", {"set": {"sample_fps": 12.5, "clip_sampling": "stream"}}),
    ("not an object", {"replace": [1, 2]}),
    ("missing keys", {"delete": ["labels", "frames"]}),
    ("newer version", {"set": {"sidecar_version": 2}}),
    ("layout", {"set": {"input_layout": "NCHW"}}),
    ("layout with another shape", {"set": {"input_layout": "TCHW"}}),
    ("colour", {"set": {"color": "BGR"}}),
    ("no labels", {"set": {"labels": []}}),
    ("a label not a string", {"set": {"labels": ["a", 3]}}),
    ("two means", {"set": {"mean": [0.45, 0.45]}}),
    ("zero std", {"set": {"std": [0.225, 0, 0.225]}}),
    ("a mean not a number", {"set": {"mean": [0.45, "x", 0.45]}}),
    ("zero frames", {"set": {"frames": 0}}),
    ("frames a string", {"set": {"frames": "8"}}),
    ("resolution not an integer", {"set": {"resolution": 1.5}}),
    ("baseline a string", {"set": {"baseline": "no"}}),
    ("short input_shape", {"set": {"input_shape": [8, 172, 172]}}),
    ("input_shape of the other layout", {"set": {"input_shape": [8, 3, 172, 172]}}),
    ("stride", {"set": {"temporal_stride": 3}}),
    ("num_classes", {"set": {"num_classes": 10}}),
    ("negative sample_fps", {"set": {"sample_fps": -1}}),
    ("zero sample_fps", {"set": {"sample_fps": 0}}),
    ("clip_sampling", {"set": {"clip_sampling": "random"}}),
    ("precision", {"set": {"precision": "fp64"}}),
    ("a version not a string", {"set": {"versions": {"onnxruntime-web": 3}}}),
    ("parity a string", {"set": {"parity": "ok"}}),
    ("negative macs", {"set": {"macs": -5}}),
    ("output", {"set": {"output": "probabilities"}}),
]
CARD_SOURCE = "model/card.json"  # how the web page names its card in messages


def card_error_cases(sidecar: Path) -> list[dict]:
    base = json.loads(sidecar.read_text())
    cases = []
    for name, mutation in CARD_MUTATIONS:
        if "replace" in mutation:
            card = mutation["replace"]
        else:
            card = json.loads(json.dumps(base))
            for key in mutation.get("delete", ()):
                del card[key]
            card.update(mutation.get("set", {}))
        try:
            validate_sidecar(card, CARD_SOURCE)
            error = None
        except VmfError as exc:
            error = str(exc)
        cases.append({"name": name, "mutation": mutation, "error": error})
    return cases


ROUNDING_VALUES = [
    0.0078125,  # 1/128: an exact tie at 6 decimals, half-to-even rounds down
    0.0234375,  # 3/128: a tie that rounds up to even
    -0.0078125,
    2.5e-7,
    5e-7,
    1.5e-6,
    0.1234565,
    0.99999951,
    3.0000005,
    1234.5675,
    2.675,
    1.0005,
    0.0005,
    0.0015,
    1e-9,
    123.456789123,
    0.0,
]


def rounding_cases() -> dict:
    """Python's round() (correctly rounded, ties to even) for the JSON lines' 6 and 3 decimals."""
    rng = np.random.default_rng(13)
    values = (
        ROUNDING_VALUES
        + [float(v) for v in rng.uniform(0, 1, 20)]
        + [float(v) for v in rng.uniform(0, 500, 20)]
    )
    return {
        "values": values,
        "round6": [round(v, 6) for v in values],
        "round3": [round(v, 3) for v in values],
    }


def percentile_case() -> dict:
    """numpy's default percentiles (linear between ranks) over the newest ``window`` values."""
    rng = np.random.default_rng(17)
    values = [round(float(v), 3) for v in rng.gamma(4.0, 30.0, 37)]
    window = 16
    recent = np.asarray(values[-window:], dtype=np.float64)
    return {
        "values": values,
        "window": window,
        "p50": float(np.percentile(recent, 50)),
        "p90": float(np.percentile(recent, 90)),
        "p50_all_of_first_5": float(np.percentile(values[:5], 50)),
        "p90_all_of_first_5": float(np.percentile(values[:5], 90)),
    }


def card_schema() -> dict:
    """The card's schema (contract/card.py CARD_KEYS) without descriptions: the web core carries
    a copy to check cards with, and its test compares the two."""
    schema = json_schema()
    properties = {
        name: {k: v for k, v in prop.items() if k != "description"}
        for name, prop in schema["properties"].items()
    }
    return {"required": schema["required"], "properties": properties}


def web_cases(w: Writer, sidecar: Path) -> dict:
    return {
        "card_schema": card_schema(),
        "rgba": rgba_cases(w),
        "sampler": sampler_cases(),
        "card_errors": card_error_cases(sidecar),
        "card_source": CARD_SOURCE,
        "rounding": rounding_cases(),
        "percentiles": percentile_case(),
    }
