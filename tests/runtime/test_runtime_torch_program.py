"""The torch backend running a ``.pt2`` (``vmf-export --target torch``): the deployable form.

One export (module fixture) of a tiny VMF (4 blocks, 8 frames, 32^2) to the
torch and ONNX targets through the exporter's own API, with the motion
generator's class names as labels and the classifier scaled up so logits are
far apart (two runtimes computing the same model agree on every argmax; a
disagreement is a real bug, not a near tie). The runtime loads the ``.pt2``
by its suffix, reads the card from inside it, and must give what ONNX Runtime
gives on the same frames, through ``Classifier``, ``vmf-stream`` and ``vmf-eval``.
"""

import dataclasses
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from vmf.contract.card import CARD_FILE, read_sidecar
from vmf.export import export
from vmf.model import VARIANTS, VmfError, build_model, save_checkpoint
from vmf.runtime import Classifier
from vmf.runtime.backends import backend_for, load_backend
from vmf.train import synth

# torch.export captures, like ExecuTorch lowering: the full suite, not the fast loop
pytestmark = pytest.mark.integration

FRAMES, RES = 8, 32
CLASSES = list(synth.CLASSES)

TINY = dataclasses.replace(
    VARIANTS["560M"],
    blocks_per_stage=(1, 1, 1, 1),
    base_channels=8,
    head_hidden=64,
    frames=FRAMES,
    resolution=RES,
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{"pt2": the .pt2, "onnx": the .onnx of the same weights, "model": the reference network}."""
    torch.manual_seed(0)
    model = build_model(TINY, num_classes=len(CLASSES)).eval()
    with torch.no_grad():
        model.head.classifier.weight.mul_(100.0)  # logits far apart: no near ties
    root = tmp_path_factory.mktemp("pt2_runtime")
    ckpt = save_checkpoint(model, root / "tiny.pt", classes=CLASSES)
    report = export(
        None,
        targets=("torch", "onnx"),
        weights=ckpt,
        out_dir=root / "out",
        log=lambda line: None,
        warn=lambda line: None,
    )
    paths = {a.target: a.path for a in report.artifacts}
    return {"pt2": paths["torch"], "onnx": paths["onnx"], "model": model}


def _frames(count: int, seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (36, 48, 3), dtype=np.uint8) for _ in range(count)]


def test_a_pt2_runs_the_deployable_form_with_the_card_from_inside_it(exported, tmp_path):
    alone = tmp_path / "m.pt2"  # no sidecar beside it: the card is read from the file
    shutil.copy(exported["pt2"], alone)
    assert backend_for(alone) == "torch"
    backend = load_backend(alone, threads=2)
    assert backend.name == "torch" and backend.form == "deployable"
    assert backend.device == "torch.export cpu, 2 threads"
    assert torch.get_num_threads() == 2
    assert backend.meta == read_sidecar(exported["pt2"])  # the exporter's card, from inside
    assert backend.input_shape == (FRAMES, 3, RES, RES) and backend.labels == CLASSES


def test_classifier_on_the_pt2_agrees_with_onnxruntime(exported):
    frames = _frames(FRAMES + 2)
    results = {}
    for kind in ("pt2", "onnx"):
        clf = Classifier(load_backend(exported[kind], threads=1), hop=2)
        predictions = [p for p in map(clf.push, frames) if p is not None]
        results[kind] = (predictions, clf.backend.run(clf.assembler.clip()))
    (pt2, pt2_logits), (onnx, onnx_logits) = results["pt2"], results["onnx"]
    assert [p.frame_index for p in pt2] == [p.frame_index for p in onnx] == [7, 9]
    assert [p.label for p in pt2] == [p.label for p in onnx]
    for a, b in zip(pt2, onnx):
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-4, rtol=0)
    scale = np.abs(onnx_logits).max()
    assert np.abs(pt2_logits - onnx_logits).max() <= 1e-4 * scale


def test_a_corrupt_or_foreign_pt2_is_one_error_line(exported, tmp_path, capfd):
    junk = tmp_path / "junk.pt2"
    junk.write_bytes(b"not a zip archive" * 20)
    saved = tmp_path / "saved.pt2"  # a zip archive, but torch.save's, not torch.export's
    torch.save({"weights": torch.zeros(3)}, saved)
    for path in (junk, saved):
        with pytest.raises(
            VmfError, match=rf"^{path.name} is not a loadable torch\.export program \("
        ) as info:
            load_backend(path)
        assert "\n" not in str(info.value)
    assert "Traceback" not in capfd.readouterr().err  # torch.export's logged traceback is silenced

    class Sum(torch.nn.Module):
        def forward(self, clip):
            return clip.mean(dim=(1, 2, 3))[None, :2]

    program = torch.export.export(Sum(), (torch.zeros(4, 3, 8, 8),))
    foreign = tmp_path / "foreign.pt2"
    torch.export.save(program, foreign)
    with pytest.raises(VmfError, match=r"^foreign\.pt2 carries no vmf model card .*--target torch$"):
        load_backend(foreign)
    card = read_sidecar(exported["pt2"])  # a vmf card in a program it does not describe
    torch.export.save(program, foreign, extra_files={CARD_FILE: json.dumps(card)})
    with pytest.raises(VmfError, match=r"takes input shape \[4, 3, 8, 8\].*does not belong"):
        load_backend(foreign)


def test_cuda_without_a_gpu_is_refused_for_a_pt2(exported):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(VmfError, match="--device cuda: this torch sees no CUDA GPU"):
        load_backend(exported["pt2"], device="cuda")


def test_running_a_pt2_imports_nothing_of_the_exporter(exported):
    code = (
        "import sys, numpy as np\n"
        "from vmf.runtime.backends import load_backend\n"
        f"b = load_backend({str(exported['pt2'])!r}, threads=1)\n"
        "b.run(np.zeros(b.input_shape, np.float32))\n"
        "print(b.form, sorted(m for m in sys.modules if m.startswith(('vmf.export', 'vmf.train'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "deployable []"


def test_vmf_stream_and_vmf_eval_pick_the_torch_backend_by_the_suffix(exported, make_video, tmp_path, capsys):
    from vmf.runtime.cli import main as stream_main
    from vmf.train import data_cli, eval_cli

    video = make_video(12, size=(40, 52))
    summaries = {}
    for kind in ("pt2", "onnx"):
        args = ["--model", exported[kind], "--source", video, "--hop", "2", "--threads", "1", "--json"]
        code = stream_main([str(a) for a in args])
        out, err = capsys.readouterr()
        assert code == 0, err
        summaries[kind] = json.loads(out.strip().splitlines()[-1])
    assert summaries["pt2"]["backend"] == "torch"
    assert summaries["pt2"]["device"] == "torch.export cpu, 1 threads"
    ours, theirs = summaries["pt2"]["predictions"], summaries["onnx"]["predictions"]
    assert len(ours) == len(theirs) == 1 + (12 - FRAMES) // 2
    assert [p["top5"][0]["label"] for p in ours] == [p["top5"][0]["label"] for p in theirs]

    data = tmp_path / "synth"
    args = ["synth", "--out", data, "--per-class", "1", "--frames", "12", "--size", "48x32", "--fps", "12"]
    assert data_cli.main([str(a) for a in args]) == 0
    capsys.readouterr()
    results = {}
    for kind in ("pt2", "onnx"):
        code = eval_cli.main(
            ["--model", str(exported[kind]), "--data", str(data), "--threads", "1", "--json"]
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        results[kind] = json.loads(out.strip().splitlines()[-1])
    assert (results["pt2"]["backend"], results["onnx"]["backend"]) == ("torch", "onnxruntime")
    assert results["pt2"]["n"] == len(CLASSES)
    assert results["pt2"]["predictions"] == results["onnx"]["predictions"]
