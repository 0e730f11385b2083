import builtins
import json
import shutil

import numpy as np
import pytest

from vmf.model import MissingDependencyError, VmfError
from vmf.runtime.backends import BACKENDS, backend_for, load_backend, suffixes

from runtime_fixtures import TINY_CLASSES, TINY_FRAMES, TINY_RES


def _clip(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((TINY_FRAMES, 3, TINY_RES, TINY_RES)).astype(np.float32)


def test_each_export_target_has_a_backend_that_loads_its_suffix():
    from vmf.contract.targets import REGISTRY

    # every file vmf-export writes (and a checkpoint) finds a backend from its suffix alone
    for target in REGISTRY.values():
        for suffix in target.suffixes:
            name = backend_for(f"m{suffix}")
            assert name == target.backend and name in BACKENDS and suffix in suffixes(name), target.name
        for name in target.other_backends:  # run by name only
            assert name in BACKENDS and target.suffix not in suffixes(name)
    assert backend_for("m.onnx") == "onnxruntime"  # openvino reads .onnx too, but only when named
    assert backend_for("M.PT") == "torch"  # suffixes are matched case-insensitively
    assert backend_for("m.pte") == "executorch"


def test_onnxruntime_backend_runs_and_says_what_ran(tiny_models):
    backend = load_backend(tiny_models["onnx"], threads=1)
    assert backend.name == "onnxruntime"
    assert backend.device == "onnxruntime CPUExecutionProvider, 1 threads"
    assert backend._session.get_session_options().intra_op_num_threads == 1  # really applied
    assert backend.input_shape == (TINY_FRAMES, 3, TINY_RES, TINY_RES)
    assert len(backend.labels) == TINY_CLASSES
    assert backend.meta["input_layout"] == "TCHW"
    logits = backend.run(_clip())
    assert logits.shape == (TINY_CLASSES,) and np.isfinite(logits).all()


def test_torch_backend_derives_the_model_card_from_the_checkpoint(tiny_models):
    import torch

    backend = load_backend(tiny_models["checkpoint"], threads=1)
    assert backend.device == "torch cpu, 1 threads"
    assert torch.get_num_threads() == 1
    assert backend.input_shape == (TINY_FRAMES, 3, TINY_RES, TINY_RES)
    assert backend.meta["frames"] == TINY_FRAMES and backend.meta["resolution"] == TINY_RES
    assert backend.labels == [f"class_{i}" for i in range(TINY_CLASSES)]
    assert backend.form == "reference"  # the runtime never imports the exporter's deployable form
    assert backend.meta["clip_sampling"] is None  # a checkpoint that does not record it


def test_torch_backend_card_carries_what_the_checkpoint_was_trained_on(tiny_models, tmp_path):
    from vmf.model import save_checkpoint

    model = tiny_models["model"]
    model.clip_sampling, model.sample_fps = "stream", 15.0
    try:
        path = save_checkpoint(model, tmp_path / "stream.pt")
    finally:
        model.clip_sampling = model.sample_fps = None
    meta = load_backend(path, threads=1).meta
    assert meta["clip_sampling"] == "stream" and meta["sample_fps"] == 15.0


@pytest.mark.parametrize("artifact, backend", [("onnx", None), ("checkpoint", None), ("onnx", "openvino")])
def test_backends_agree_with_the_reference(tiny_models, artifact, backend):
    """Each backend gives the reference model's logits (the exporter's fp32 parity tolerance)."""
    import torch

    if backend == "openvino":
        pytest.importorskip("openvino")
    clip = _clip(1)
    logits = load_backend(tiny_models[artifact], backend=backend, threads=1).run(clip)
    with torch.no_grad():
        reference = tiny_models["model"](torch.from_numpy(clip).permute(1, 0, 2, 3)[None]).numpy()[0]
    np.testing.assert_allclose(logits, reference, atol=1e-4, rtol=0)


def test_wrong_clip_shape_is_refused(tiny_models):
    backend = load_backend(tiny_models["onnx"], threads=1)
    with pytest.raises(VmfError, match="clip of shape"):
        backend.run(np.zeros((TINY_FRAMES, 3, TINY_RES + 1, TINY_RES), np.float32))


# -- errors: each is one VmfError line --------------------------------------


def _copy_model(tiny_models, tmp_path):
    onnx_path = tmp_path / "m.onnx"
    shutil.copy(tiny_models["onnx"], onnx_path)
    shutil.copy(tiny_models["onnx"].with_suffix(".json"), tmp_path / "m.json")
    return onnx_path


def _edit_sidecar(path, **changes):
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta.update(changes)
    sidecar.write_text(json.dumps(meta))


def test_missing_model_file(tmp_path):
    with pytest.raises(VmfError, match="model file not found"):
        load_backend(tmp_path / "none.onnx")


def test_model_without_sidecar(tiny_models, tmp_path):
    path = tmp_path / "alone.onnx"
    shutil.copy(tiny_models["onnx"], path)
    with pytest.raises(VmfError, match="no sidecar alone.json"):
        load_backend(path)


def test_corrupt_model(tiny_models, tmp_path):
    path = _copy_model(tiny_models, tmp_path)
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(VmfError, match="not a loadable ONNX model"):
        load_backend(path)


def test_sidecar_with_another_input_shape(tiny_models, tmp_path):
    path = _copy_model(tiny_models, tmp_path)
    _edit_sidecar(path, resolution=TINY_RES * 2, input_shape=[TINY_FRAMES, 3, TINY_RES * 2, TINY_RES * 2])
    with pytest.raises(VmfError, match="does not belong to this model"):
        load_backend(path)


def test_sidecar_with_another_label_count(tiny_models, tmp_path):
    path = _copy_model(tiny_models, tmp_path)
    _edit_sidecar(path, labels=["a", "b", "c"], num_classes=3)
    with pytest.raises(VmfError, match="has 10 outputs but its sidecar lists 3 labels"):
        load_backend(path)


def test_sidecar_whose_labels_disagree_with_its_class_count(tiny_models, tmp_path):
    path = _copy_model(tiny_models, tmp_path)
    _edit_sidecar(path, labels=["a", "b", "c"])  # num_classes stays 10
    with pytest.raises(VmfError, match="3 labels for num_classes=10"):
        load_backend(path)


def test_sidecar_of_a_newer_major_version_is_refused(tiny_models, tmp_path):
    path = _copy_model(tiny_models, tmp_path)
    _edit_sidecar(path, sidecar_version=2)
    with pytest.raises(VmfError, match=r"model card version 2, newer than this vmf reads \(1\)"):
        load_backend(path)


def test_unknown_suffix(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    with pytest.raises(VmfError, match="pass --backend") as info:
        load_backend(path)
    assert str(info.value).count(".onnx") == 1  # two backends read .onnx; listed once


def test_cuda_without_gpu(tiny_models):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(VmfError, match="--device cuda"):
        load_backend(tiny_models["onnx"], device="cuda")
    with pytest.raises(VmfError, match="--device cuda"):
        load_backend(tiny_models["checkpoint"], device="cuda")


def test_missing_litert_package_names_the_extra(tiny_models, tmp_path, monkeypatch):
    path = tmp_path / "m.tflite"
    path.write_bytes(b"TFL3")
    shutil.copy(tiny_models["onnx"].with_suffix(".json"), tmp_path / "m.json")
    real_import = builtins.__import__

    def no_litert(name, *args, **kwargs):
        if name.startswith(("ai_edge_litert", "tflite_runtime")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_litert)
    with pytest.raises(MissingDependencyError, match=r"pip install 'vmf\[tflite\]'"):
        load_backend(path)


def test_corrupt_tflite(tiny_models, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(b"not a flatbuffer" * 10)
    shutil.copy(tiny_models["onnx"].with_suffix(".json"), tmp_path / "m.json")
    with pytest.raises(VmfError, match="not a loadable TFLite model"):
        load_backend(path)


def test_coreml_off_macos(tiny_models, tmp_path):
    import platform

    if platform.system() == "Darwin":
        pytest.skip("Core ML runs here")
    path = tmp_path / "m.mlpackage"
    path.mkdir()
    shutil.copy(tiny_models["onnx"].with_suffix(".json"), tmp_path / "m.json")
    with pytest.raises(VmfError, match="only on macOS"):
        load_backend(path)


def test_bad_threads(tiny_models):
    with pytest.raises(VmfError, match="--threads"):
        load_backend(tiny_models["onnx"], threads=0)


# -- OpenVINO: the exporter's .onnx, named explicitly ---------------------------


def test_openvino_backend_runs_and_says_what_ran(tiny_models):
    ov = pytest.importorskip("openvino")
    backend = load_backend(tiny_models["onnx"], backend="openvino", threads=1)
    assert backend.name == "openvino"
    assert backend.device.startswith("openvino CPU (") and backend.device.endswith(", 1 threads")
    assert backend._compiled.get_property("INFERENCE_NUM_THREADS") == 1  # really applied
    # f32 held even where OpenVINO's CPU default would be bf16 (AVX512_BF16/AMX)
    assert backend._compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
    assert backend.input_shape == (TINY_FRAMES, 3, TINY_RES, TINY_RES)
    assert len(backend.labels) == TINY_CLASSES
    logits = backend.run(_clip())
    assert logits.shape == (TINY_CLASSES,) and np.isfinite(logits).all()
    again = backend.run(_clip(2))  # the request's output buffer is reused: results are copies
    assert not np.shares_memory(logits, again) and not np.array_equal(logits, again)
    np.testing.assert_array_equal(backend.run(_clip()), logits)


def test_openvino_refuses_cuda(tiny_models):
    with pytest.raises(VmfError, match="OpenVINO runs on the CPU here") as info:
        load_backend(tiny_models["onnx"], backend="openvino", device="cuda")
    assert "\n" not in str(info.value)


def test_missing_openvino_package_names_the_extra(tiny_models, monkeypatch):
    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name == "openvino" or name.startswith("openvino."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    with pytest.raises(MissingDependencyError, match=r"pip install 'vmf\[openvino\]'"):
        load_backend(tiny_models["onnx"], backend="openvino", threads=1)


def test_corrupt_model_for_openvino(tiny_models, tmp_path, capfd):
    pytest.importorskip("openvino")
    path = _copy_model(tiny_models, tmp_path)
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(VmfError, match="not a loadable ONNX model for OpenVINO") as info:
        load_backend(path, backend="openvino")
    message = str(info.value)
    assert "\n" not in message and "Exception from" not in message, message
    assert capfd.readouterr().err == ""  # no other frontend's parse errors on stderr


def test_running_an_onnx_model_does_not_import_torch(tiny_models):
    """vmf.model loads its PyTorch half on first use: an ORT/OpenVINO app never pays for it."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from vmf.runtime import Classifier\n"
        "from vmf.runtime.backends import load_backend\n"
        f"b = load_backend({str(tiny_models['onnx'])!r}, threads=1)\n"
        "b.run(np.zeros(b.input_shape, np.float32))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_model_package_still_offers_its_torch_names():
    import vmf.model as model

    assert callable(model.build_model) and callable(model.load_checkpoint)
    assert "build_model" in dir(model)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        model.nope  # noqa: B018
