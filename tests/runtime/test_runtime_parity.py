"""ONNX Runtime, LiteRT and PyTorch backends agree on the same clip (real exports of one tiny config).

The ONNX and TFLite files are made by ``vmf.export.export`` from the tiny
checkpoint that the PyTorch backend loads, so all three hold the same weights;
the TFLite export takes THWC clips and the others TCHW, so the same frames go
through each backend's own layout. The tolerance is the one each export gated
on (its sidecar's parity threshold, relative to the largest logit).
"""

import numpy as np
import pytest

from vmf.contract.card import read_sidecar
from vmf.model import VmfError
from vmf.runtime import Classifier
from vmf.runtime.backends import load_backend

from runtime_fixtures import TINY_FRAMES, TINY_RES

_NO_TFLITE = "(pip install 'vmf[tflite]'): the three-backend comparison needs a TFLite export"
pytest.importorskip("ai_edge_litert", reason=f"ai-edge-litert is not installed {_NO_TFLITE}")
pytest.importorskip("litert_torch", reason=f"litert-torch is not installed {_NO_TFLITE}")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
]  # a real litert-torch conversion (about 47 s on two cores)


@pytest.fixture(scope="module")
def exports(tiny_models, tmp_path_factory):
    from vmf.export import export

    quiet = lambda *_: None  # noqa: E731
    # litert-torch: here it converts this tiny model in about half the time onnx2tf takes
    # (47 s vs 125 s on the shared 2-core machine), and the exporter gates both alike.
    report = export(
        "560M",
        targets=("onnx", "tflite"),
        precisions=("fp32",),
        converter="litert-torch",
        out_dir=tmp_path_factory.mktemp("exports"),
        weights=tiny_models["checkpoint"],
        frames=TINY_FRAMES,
        resolution=TINY_RES,
        log=quiet,
        warn=quiet,
        # at this toy size (T' = 1, 4 x 4 positions) XNNPACK declines litert-torch's
        # dynamic FULLY_CONNECTEDs: 4 partitions (docs/mobile-accelerators.md)
        allow_partitions=True,
    )
    out = {artifact.target: artifact.path for artifact in report.artifacts}
    assert set(out) == {"onnx", "tflite"}
    return out


def test_onnxruntime_litert_and_torch_agree(exports, tiny_models):
    backends = {
        "onnxruntime": load_backend(exports["onnx"], threads=1),
        "tflite": load_backend(exports["tflite"], threads=1),
        "torch": load_backend(tiny_models["checkpoint"], threads=1),
    }
    assert backends["tflite"].device == "LiteRT XNNPACK, 1 threads"
    assert backends["tflite"].meta["input_layout"] == "THWC"
    assert backends["onnxruntime"].meta["input_layout"] == "TCHW"
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (36, 48, 3), dtype=np.uint8) for _ in range(TINY_FRAMES)]
    logits = {}
    for name, backend in backends.items():
        clf = Classifier(backend, hop=1)
        for frame in frames:
            prediction = clf.push(frame)
        logits[name] = backend.run(clf.assembler.clip())  # the clip the stream built, in its layout
        assert prediction is not None and prediction.frame_index == TINY_FRAMES - 1
    reference = logits["torch"]
    scale = np.abs(reference).max()
    for name, target in (("onnxruntime", "onnx"), ("tflite", "tflite")):
        threshold = read_sidecar(exports[target])["parity"]["threshold"]
        rel = np.abs(logits[name] - reference).max() / scale
        assert rel <= threshold, f"{name}: max rel err {rel:.2e} > {threshold:.0e}"
    assert len({int(np.argmax(v)) for v in logits.values()}) == 1


def test_tflite_split_halves_compose_to_the_full_model(exports, tiny_models, tmp_path):
    """The TFLite split (THWC stem window, NCHW stem frames) is gated and used like the ONNX one."""
    import shutil

    from vmf.export.split import add_split
    from vmf.runtime.stem_reuse import open_stem_reuse

    target = tmp_path / exports["tflite"].name
    shutil.copy(exports["tflite"], target)
    shutil.copy(exports["tflite"].with_suffix(".json"), target.with_suffix(".json"))
    split = add_split(target, tiny_models["model"], log=lambda *_: None)
    assert split["layout"] == "THWC" and split["parity"]["passed"]
    assert split["stem"]["input_shape"] == [8, TINY_RES, TINY_RES, 3]
    backend = load_backend(target, threads=1)
    with_split, without = (
        Classifier(backend, hop=1),
        Classifier(load_backend(target, threads=1), hop=1, stem_reuse=False),
    )
    assert with_split.stem_reuse is not None
    rng = np.random.default_rng(8)
    for _ in range(TINY_FRAMES + 2):
        frame = rng.integers(0, 256, (36, 48, 3), dtype=np.uint8)
        p, q = with_split.push(frame), without.push(frame)
        if p is not None:
            np.testing.assert_allclose(p.probabilities, q.probabilities, atol=1e-5)
    (target.parent / split["body"]["file"]).write_bytes(b"not the body")
    with pytest.raises(VmfError, match="different exports"):
        open_stem_reuse(load_backend(target, threads=1))
