"""Real exports, checked independently of the exporter's own figures.

The main test exports one real variant end to end, as CI must:
VMF-560M at its real 172 x 172 input with frames=16 (the smallest clip its
temporal stride of 8 leaves more than one frame after the stem; 64 frames
would add minutes, not coverage) to ONNX, Core ML and TFLite fp32/fp16/int8
through litert-torch, the default converter, then re-runs each artifact on a
clip the exporter never saw against the reference PyTorch model and reads the
sidecars and the embedded metadata back. onnx2tf (minutes at 172 x 172 on two
cores), int8 from --calibration videos, the Mobile3D baseline and the naive
form run at small sizes to keep CI fast.

A missing optional extra skips only what needs it: without coremltools the
Core ML artifact and its checks are skipped, the ONNX and TFLite ones still run.
"""

import importlib.util
import json
import sys

import numpy as np
import pytest
import torch

from vmf.contract.card import REQUIRED_KEYS, read_sidecar
from vmf.contract.labels import kinetics400
from vmf.contract.targets import get as get_target
from vmf.export import api, export
from vmf.export.metadata import read_embedded
from vmf.export.parity import compare, structured_clips, to_layout
from vmf.model import count_params, state_dict_sha256

from vmf.export.coreml import spec_summary
from vmf.export.lint import lint_tflite
from vmf.export.onnx import onnx_predictor
from vmf.export.tflite import CPU_ONLY_INT8_OPS, FLOAT_OPS, load_interpreter, tflite_predictor

HAS_COREML = importlib.util.find_spec("coremltools") is not None
HAS_TFLITE = importlib.util.find_spec("litert_torch") is not None
needs_coreml = pytest.mark.skipif(
    not HAS_COREML,
    reason="coremltools is not installed (pip install 'vmf[coreml]'): the Core ML export is skipped",
)
needs_tflite = pytest.mark.skipif(
    not HAS_TFLITE,
    reason="litert-torch is not installed (pip install 'vmf[tflite]'): the TFLite export is skipped",
)

pytestmark = pytest.mark.slow
FRAMES = 16
REAL_CONVERTER = "litert-torch"
TFLITE = get_target("tflite")
TFLITE_NAME = "vmf-560m_t16_fp32" + (
    "" if REAL_CONVERTER == TFLITE.default_converter else f"_{REAL_CONVERTER}"
)


def reference(variant="560M", baseline=False):
    model, untrained = api.load_model(variant, None, baseline, None, warn=lambda m: None)
    assert untrained
    return model


def reference_logits(model, clips):
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(c).permute(1, 0, 2, 3)[None]).numpy() for c in clips])


@pytest.fixture(scope="module")
def real_export(tmp_path_factory):
    """ONNX fp32, Core ML fp16 (the defaults) and TFLite fp32/fp16/int8 into one folder.

    Core ML and TFLite only where their extras are installed."""
    out = tmp_path_factory.mktemp("exports")
    lines = []
    first = export(
        "560M",
        targets=("onnx", "coreml") if HAS_COREML else ("onnx",),
        precisions=None,
        frames=FRAMES,
        out_dir=out,
        log=lines.append,
        warn=lines.append,
    )
    if not HAS_TFLITE:
        return first, out, lines, ()
    second = export(
        "560M",
        targets=("tflite",),
        precisions=("fp32", "fp16", "int8"),
        frames=FRAMES,
        out_dir=out,
        converter=REAL_CONVERTER,
        log=lines.append,
        warn=lines.append,
    )
    first.artifacts.insert(1, second.artifacts[0])
    return first, out, lines, second.artifacts[1:]


def test_all_targets_are_written_with_their_names_and_nothing_else(real_export):
    report, out, lines, _ = real_export
    names = sorted(str(p.relative_to(out)) for p in out.glob("*/*"))
    tfl = [TFLITE_NAME.replace("fp32", p) for p in ("fp16", "fp32", "int8")] if HAS_TFLITE else []
    coreml = ["coreml/vmf-560m_t16_fp16.json", "coreml/vmf-560m_t16_fp16.mlpackage"] if HAS_COREML else []
    assert names == sorted(
        [  # one folder per target; a non-default converter is a suffix
            *coreml,
            "onnx/vmf-560m_t16_fp32.json",
            "onnx/vmf-560m_t16_fp32.onnx",
            *[f"tflite/{n}.json" for n in tfl],
            *[f"tflite/{n}.tflite" for n in tfl],
        ]
    )
    folders = ["onnx"] + ["coreml"] * HAS_COREML + ["tflite"] * HAS_TFLITE
    assert sorted(p.name for p in out.iterdir()) == sorted(folders)  # no scratch, no log
    assert [(a.target, a.precision) for a in report.artifacts] == [
        ("onnx", "fp32"),
        *[("tflite", "fp32")] * HAS_TFLITE,
        *[("coreml", "fp16")] * HAS_COREML,
    ]
    assert any("seeded random weights" in line for line in lines)
    assert sum("max rel err" in line for line in lines) == 1 + 2 * HAS_TFLITE  # onnx, tflite fp32, fp16
    assert sum("top-1 agreement" in line for line in lines) == 1 * HAS_TFLITE  # int8
    assert any("synthetic moving-pattern clips" in line for line in lines)  # no --calibration


def test_onnx_matches_pytorch_on_an_unseen_clip(real_export):
    report, _, _, _ = real_export
    art = next(a for a in report.artifacts if a.target == "onnx")
    clips = structured_clips(1, FRAMES, 172, seed=77)
    fig = compare(
        np.concatenate([onnx_predictor(art.path)(c) for c in clips]), reference_logits(reference(), clips)
    )
    assert fig["max_rel_err"] <= 1e-4
    assert art.parity["passed"] and art.parity["max_rel_err"] <= 1e-4


@needs_tflite
def test_tflite_takes_thwc_is_rank4_and_matches_pytorch(real_export):
    report, _, _, _ = real_export
    art = next(a for a in report.artifacts if a.target == "tflite")
    interpreter = load_interpreter(art.path)
    detail = interpreter.get_input_details()[0]
    assert list(detail["shape"]) == [FRAMES, 172, 172, 3] and detail["dtype"] == np.float32
    assert list(interpreter.get_output_details()[0]["shape"]) == [1, 400]
    lint = lint_tflite(art.path, gpu_check=False)
    assert lint.passed and lint.max_rank <= 4 and "CONV_3D" not in lint.op_counts
    clips = structured_clips(1, FRAMES, 172, seed=78)
    fig = compare(
        np.concatenate([tflite_predictor(art.path, "THWC")(c) for c in clips]),
        reference_logits(reference(), clips),
    )
    assert fig["max_rel_err"] <= 1e-3
    # Fed TCHW data reinterpreted as THWC, it must disagree: the layout is real.
    wrong = to_layout(clips[0], "THWC").reshape(clips[0].shape)
    assert (
        compare(tflite_predictor(art.path, "THWC")(wrong)[None][0], reference_logits(reference(), clips))[
            "max_rel_err"
        ]
        > 1e-2
    )


@needs_coreml
def test_coreml_spec_has_the_contract_and_no_rank5(real_export):
    report, _, _, _ = real_export
    art = next(a for a in report.artifacts if a.target == "coreml")
    spec = spec_summary(art.path)
    assert spec["inputs"] == {"clip": [FRAMES, 3, 172, 172]}
    assert spec["outputs"] == {"logits": [1, 400]}
    assert spec["max_rank"] <= 4 and spec["op_counts"]["conv"] > 0
    assert spec["metadata"]["labels"].splitlines() == kinetics400()


@needs_coreml
@pytest.mark.skipif(sys.platform != "darwin", reason="Core ML predicts on macOS only")
def test_coreml_matches_pytorch_on_macos(real_export):
    from vmf.export.coreml import coreml_predictor

    report, _, _, _ = real_export
    art = next(a for a in report.artifacts if a.target == "coreml")
    clips = structured_clips(1, FRAMES, 172, seed=79)
    fig = compare(
        np.concatenate([coreml_predictor(art.path)(c) for c in clips]), reference_logits(reference(), clips)
    )
    assert fig["max_rel_err"] <= 1e-2


def test_sidecars_and_embedded_metadata_agree_and_describe_the_input(real_export):
    report, _, _, _ = real_export
    model = reference()
    layouts = {
        "onnx": ("TCHW", [FRAMES, 3, 172, 172]),
        "tflite": ("THWC", [FRAMES, 172, 172, 3]),
        "coreml": ("TCHW", [FRAMES, 3, 172, 172]),
    }
    for art in report.artifacts:
        meta = read_sidecar(art.path)
        assert set(REQUIRED_KEYS) <= set(meta)
        assert (meta["input_layout"], meta["input_shape"]) == layouts[art.target]
        assert meta["variant"] == "560M" and meta["baseline"] is False
        assert meta["frames"] == FRAMES and meta["resolution"] == 172 and meta["temporal_stride"] == 8
        assert meta["labels"] == kinetics400() and meta["output"] == "logits"
        assert meta["precision"] == art.precision and meta["untrained"] is True
        assert meta["weights_sha256"] == state_dict_sha256(model.state_dict())
        assert meta["params"] == count_params(model) and meta["macs"] > 1e8
        assert meta["versions"]["torch"] and meta["color"] == "RGB"
        assert meta["parity"] == art.parity
        embedded = read_embedded(art.path)
        assert embedded == meta
    onnx_meta = read_sidecar(report.artifacts[0].path)
    assert onnx_meta["input_name"] == "clip"
    for tfl in (a for a in report.artifacts if a.target == "tflite"):
        assert (
            read_sidecar(tfl.path)["input_name"] == load_interpreter(tfl.path).get_input_details()[0]["name"]
        )
    assert json.loads(json.dumps(report.to_dict()))["artifacts"][0]["target"] == "onnx"


@pytest.fixture(scope="module")
def calibration_videos(tmp_path_factory):
    cv2 = pytest.importorskip("cv2")
    folder = tmp_path_factory.mktemp("videos")
    rng = np.random.default_rng(5)
    for v in range(2):
        writer = cv2.VideoWriter(str(folder / f"clip{v}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (96, 72))
        base = rng.integers(0, 255, size=(72, 96, 3), dtype=np.uint8)
        for f in range(24):
            frame = np.roll(base, shift=3 * f * (v + 1), axis=1)
            cv2.rectangle(frame, (5 + 2 * f, 10), (25 + 2 * f, 30), (0, 200, 255), -1)
            writer.write(frame)
        writer.release()
    return folder


@needs_tflite
def test_fp16_and_int8_at_the_real_size_through_the_real_export(real_export):
    _, _, _, (fp16, int8) = real_export
    assert fp16.parity["max_rel_err"] <= 1e-2 and fp16.lint["passed"]
    assert int8.parity["metric"] == "cosine_median" and int8.parity["cosine_min"] >= 0.95
    assert int8.parity["heldout"] == "synthetic moving patterns" and int8.parity["clips"] == 8
    assert int8.lint["op_counts"].get("QUANTIZE", 0) > 0 and int8.lint["passed"]
    # What computes in int8 and what stays float (export/tflite.py FLOAT_OPS), read back.
    interpreter = load_interpreter(int8.path)
    details = interpreter.get_tensor_details()
    dtypes = {t["index"]: t["dtype"] for t in details}
    names = {t["index"]: t["name"] for t in details}
    computes, float_muls = {}, []
    for op in interpreter._get_ops_details():
        if op["inputs"].size and op["op_name"] != "DELEGATE":
            computes.setdefault(op["op_name"], set()).add(dtypes[op["inputs"][0]])
            if op["op_name"] == "MUL" and dtypes[op["inputs"][0]] == np.float32:
                float_muls.append(names[op["outputs"][0]])
    assert {"BATCH_MATMUL", "SOFTMAX"} <= computes.keys()
    for name in FLOAT_OPS + CPU_ONLY_INT8_OPS:  # DIV exists in onnx2tf's graphs only
        assert computes.get(name, {np.float32}) == {np.float32}, name
    for name in ("CONV_2D", "DEPTHWISE_CONV_2D"):  # the backbone
        assert computes[name] == {np.int8}, name
    # DY-ReLU's MULs are int8; float ones are the LayerNorms' (FLOAT_SCOPES), on the tokens.
    assert np.int8 in computes["MUL"] and "MAXIMUM" not in computes
    assert float_muls and all("LayerNorm" in name for name in float_muls), float_muls
    for art in (fp16, int8):  # float I/O: one input contract for every artifact
        interpreter = load_interpreter(art.path)
        assert interpreter.get_input_details()[0]["dtype"] == np.float32
        assert interpreter.get_output_details()[0]["dtype"] == np.float32
    assert fp16.size_mb < 0.65 * read_sidecar(fp16.path)["params"] * 4 / 1e6  # fp16 weights
    # int8 weights, but for the constant operands of the float BATCH_MATMULs (42 % here)
    assert int8.size_mb < 0.45 * read_sidecar(int8.path)["params"] * 4 / 1e6


@needs_tflite
def test_other_converter_fp32_fp16_int8_from_calibration_videos(tmp_path, calibration_videos):
    other = next(c for c in TFLITE.converters if c != REAL_CONVERTER)
    report = export(
        "560M",
        targets=("tflite",),
        precisions=("fp32", "fp16", "int8"),
        converter=other,
        frames=8,
        resolution=64,
        out_dir=tmp_path,
        calibration=calibration_videos,
        log=lambda m: None,
        warn=lambda m: None,
    )
    fp32, fp16, int8 = report.artifacts
    suffix = "" if other == TFLITE.default_converter else f"_{other}"
    assert [a.path.name for a in report.artifacts] == [
        f"vmf-560m_t8_r64_{p}{suffix}.tflite" for p in ("fp32", "fp16", "int8")
    ]
    assert all(
        a.converter == other and a.lint["passed"] and a.lint["max_rank"] <= 4 for a in report.artifacts
    )
    assert fp32.parity["max_rel_err"] <= 1e-3 and fp16.parity["max_rel_err"] <= 1e-2
    clips = structured_clips(1, 8, 64, seed=80)
    fig = compare(tflite_predictor(fp32.path, "THWC")(clips[0]), reference_logits(reference(), clips))
    assert fig["max_rel_err"] <= 1e-3
    assert str(calibration_videos) in int8.parity["heldout"]  # held out from the videos
    assert int8.parity["cosine_min"] >= 0.95 and 0.0 <= int8.parity["top1_agreement"] <= 1.0
    assert load_interpreter(int8.path).get_input_details()[0]["dtype"] == np.float32


def test_baseline_and_naive_onnx(tmp_path):
    report = export(
        "560M",
        targets=("onnx",),
        baseline=True,
        frames=8,
        resolution=64,
        out_dir=tmp_path,
        log=lambda m: None,
        warn=lambda m: None,
    )
    assert report.artifacts[0].path.name == "mobile3d-560m_t8_r64_fp32.onnx"
    assert read_sidecar(report.artifacts[0].path)["baseline"] is True
    naive = export(
        "560M",
        targets=("onnx",),
        frames=8,
        resolution=64,
        out_dir=tmp_path,
        form="naive",
        log=lambda m: None,
        warn=lambda m: None,
    )
    art = naive.artifacts[0]
    assert art.path.name == "vmf-560m_t8_r64_fp32_naive.onnx" and art.form == "naive"
    assert art.parity["max_rel_err"] <= 1e-4
    import onnx

    ops = {n.op_type for n in onnx.load(str(art.path)).graph.node}
    assert "Conv" in ops and read_sidecar(art.path)["form"] == "naive"


def test_phone_artifacts_run_in_one_xnnpack_partition(real_export):
    """Read back from the LiteRT interpreter, not from the exporter's card alone."""
    from vmf.export.partitions import xnnpack_partitions

    report, _, _, quantized = real_export
    for art in [a for a in report.artifacts if a.target == "tflite"] + list(quantized):
        card = read_sidecar(art.path)["partitions"]
        assert card["xnnpack"]["partitions"] == 1 and card["within_budget"], art.path.name
        assert art.lint["partitions"]["xnnpack"] == 1
        count = xnnpack_partitions(art.path)
        assert count.partitions == 1 and count.unsupported_ops == [], (art.path.name, count)
    onnx = next(a for a in report.artifacts if a.target == "onnx")  # the server form: counted only
    assert read_sidecar(onnx.path)["partitions"]["budget"] == {}
