"""vmf-export's user errors: one line on stderr, a non-zero exit, nothing half-written."""

import dataclasses

import pytest
import torch

from vmf.contract import targets as registry
from vmf.export.cli import main
from vmf.model import VmfError, build_model, save_checkpoint


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines and lines[-1].startswith("error: "), err
    return lines[-1]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--variant", "560m "], "unknown variant"),
        (["--variant", "56M"], "did you mean '560M'"),
        (["--variant", "560M", "--target", "tflit"], "did you mean 'tflite'"),
        (["--variant", "560M", "--precision", "fp61"], "did you mean 'fp16'"),
        (["--variant", "560M", "--converter", "litert"], "did you mean 'litert-torch'"),
        (["--variant", "560M", "--converter", "onnx2tflite"], "did you mean 'onnx2tf'"),
    ],
)
def test_unknown_names_exit_2_with_a_suggestion(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in one_error_line(err) and len(err.strip().splitlines()) == 1
    assert err.rstrip().endswith("(see vmf-export --help)")


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--target", "onnx", "--precision", "fp16"], "--target onnx does not support --precision fp16"),
        (["--target", "coreml", "--precision", "int8"], "does not support --precision int8"),
        (["--target", "onnx", "--converter", "onnx2tf"], "--converter applies to --target tflite only"),
        (["--target", "tflite", "--calibration", "."], "--calibration is used for int8 only"),
        (["--target", "tflite", "--naive", "--converter", "litert-torch"], "through onnx2tf only"),
        (["--target", "onnx", "--frames", "12"], "not a multiple of variant 560M's temporal stride 8"),
        (["--target", "onnx", "--frames", "0"], "--frames must be a positive integer"),
        (["--target", "onnx", "--weights", "no/such/file.pt"], "no such file"),
        (
            ["--target", "tflite", "--precision", "int8", "--calibration", "no/such/dir"],
            "not a directory of videos",
        ),
    ],
)
def test_option_errors_exit_1_before_any_work(capsys, tmp_path, argv, expected):
    code, out, err = run(capsys, "--variant", "560M", "--out", str(tmp_path / "out"), *argv)
    assert code == 1
    assert expected in one_error_line(err)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_unwritable_out_is_one_clear_line(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "--variant", "560M", "--target", "onnx", "--out", str(blocker / "sub"))
    assert code == 1 and "cannot write to --out" in one_error_line(err)


def test_corrupt_weights(capsys, tmp_path):
    bad = tmp_path / "weights.pt"
    bad.write_bytes(b"definitely not a zip or a pickle")
    code, _, err = run(
        capsys, "--variant", "560M", "--target", "onnx", "--weights", str(bad), "--out", str(tmp_path / "out")
    )
    assert code == 1 and "not a readable PyTorch checkpoint" in one_error_line(err)


def test_weights_of_another_variant_are_refused(capsys, tmp_path):
    ckpt = save_checkpoint(build_model("1G"), tmp_path / "vmf-1g.pt")
    code, _, err = run(
        capsys,
        "--variant",
        "560M",
        "--target",
        "onnx",
        "--weights",
        str(ckpt),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 1 and "holds VMF-1G weights, not VMF-560M" in one_error_line(err)
    state = tmp_path / "state.pt"
    torch.save(build_model("2G").state_dict(), state)  # a plain state dict of other widths
    code, _, err = run(
        capsys,
        "--variant",
        "560M",
        "--target",
        "onnx",
        "--weights",
        str(state),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 1 and "does not fit VMF-560M" in one_error_line(err)


def test_a_failed_check_leaves_nothing_in_out(capsys, tmp_path, monkeypatch):
    # No real export misses 1e-4, so demand the impossible: an exact match.
    onnx = registry.get("onnx")
    monkeypatch.setitem(registry.REGISTRY, "onnx", dataclasses.replace(onnx, tolerances={"fp32": -1.0}))
    out = tmp_path / "out"
    code, _, err = run(
        capsys,
        "--variant",
        "560M",
        "--target",
        "onnx",
        "--frames",
        "8",
        "--resolution",
        "32",
        "--out",
        str(out),
    )
    assert code == 1 and "parity check failed" in one_error_line(err)
    assert "--no-verify" in err
    assert out.is_dir() and list(out.iterdir()) == []  # no artifact, no partial, no scratch


def test_plan_per_target_defaults_and_all():
    jobs = registry.plan(("all",), None, None, "deployable", None)
    assert [(j.target, j.precisions) for j in jobs] == [
        ("onnx", ("fp32",)),
        ("tflite", ("fp32",)),
        ("coreml", ("fp16",)),
        ("executorch", ("fp32",)),
        ("torch", ("fp32",)),
    ]
    jobs = registry.plan(("all",), ("fp16", "int8"), "onnx2tf", "deployable", "videos")
    assert [(j.target, j.precisions, j.converter) for j in jobs] == [
        ("onnx", ("int8",), None),
        ("tflite", ("fp16", "int8"), "onnx2tf"),
        ("coreml", ("fp16",), None),
        ("executorch", ("int8",), "xnnpack"),
    ]
    jobs = registry.plan(("executorch",), None, None, "deployable", None, "coreml")
    assert [(j.target, j.precisions, j.converter) for j in jobs] == [("executorch", ("fp16",), "coreml")]
    with pytest.raises(VmfError, match="did you mean 'coreml'"):
        registry.plan(("cormel",), None, None, "deployable", None)


def test_artifact_names_say_what_differs_from_the_defaults():
    tflite = registry.get("tflite")

    def name(**kw):
        return registry.artifact_name(
            "560M",
            **{
                **dict(
                    baseline=False,
                    frames=64,
                    resolution=172,
                    default_clip=(64, 172),
                    target="tflite",
                    precision="fp32",
                    converter=tflite.default_converter,
                    form="deployable",
                ),
                **kw,
            },
        )

    assert name() == "vmf-560m_fp32.tflite"
    assert name(target="onnx", converter=None) == "vmf-560m_fp32.onnx"
    assert name(target="coreml", precision="fp16", converter=None) == "vmf-560m_fp16.mlpackage"
    assert name(baseline=True, frames=16) == "mobile3d-560m_t16_fp32.tflite"
    other = next(c for c in tflite.converters if c != tflite.default_converter)
    assert name(converter=other, resolution=112) == f"vmf-560m_r112_fp32_{other}.tflite"
    assert name(target="onnx", converter=None, form="naive") == "vmf-560m_fp32_naive.onnx"


def test_json_summary_labels_and_num_classes(capsys, tmp_path):
    import json

    import onnxruntime as ort

    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"action {i}" for i in range(5)) + "\n")
    code, out, err = run(
        capsys,
        "--variant",
        "560m",
        "--target",
        "onnx",
        "--frames",
        "8",
        "--resolution",
        "32",
        "--num-classes",
        "5",
        "--labels",
        str(labels),
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)  # stdout holds the JSON only; progress went to stderr
    assert "onnx fp32: exporting vmf-560m_t8_r32_fp32.onnx" in err and "seeded random" in err
    (art,) = summary["artifacts"]
    assert art["target"] == "onnx" and art["size_mb"] > 0 and art["parity"]["passed"]
    meta = json.loads(open(art["sidecar"]).read())
    assert meta["labels"] == [f"action {i}" for i in range(5)] and meta["num_classes"] == 5
    assert meta["clip_sampling"] is None  # seeded random weights: trained on nothing
    session = ort.InferenceSession(art["path"], providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].shape == [1, 5]
    assert session.get_inputs()[0].shape == [8, 3, 32, 32] and session.get_inputs()[0].name == "clip"


def test_weights_are_exported_and_hashed(capsys, tmp_path):
    import json

    from vmf.model import state_dict_sha256

    torch.manual_seed(3)
    model = build_model("560M", baseline=True, num_classes=7)
    model.clip_sampling, model.sample_fps = "stream", 12.5  # what vmf-train records
    ckpt = save_checkpoint(model, tmp_path / "mobile3d.pt")
    code, out, err = run(
        capsys,
        "--variant",
        "560M",
        "--target",
        "onnx",
        "--weights",
        str(ckpt),
        "--frames",
        "8",
        "--resolution",
        "32",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 0, err
    assert "random weights" not in err  # real weights: no warning
    meta = json.loads((tmp_path / "out" / "onnx" / "mobile3d-560m_t8_r32_fp32.json").read_text())
    assert meta["untrained"] is False and meta["baseline"] is True and meta["num_classes"] == 7
    assert meta["weights_sha256"] == state_dict_sha256(model.state_dict())
    assert meta["labels"] == [f"class_{i}" for i in range(7)]
    assert meta["clip_sampling"] == "stream" and meta["sample_fps"] == 12.5  # carried into the card
