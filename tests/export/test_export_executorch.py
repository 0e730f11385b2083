"""ExecuTorch target: a tiny VMF exported through the real API, checked independently.

One export (module fixture) of a tiny VMF checkpoint (4 blocks, 8 frames,
32^2: ExecuTorch's lowering costs per op, not per MAC) to ExecuTorch and ONNX;
the .pte is re-run through the runtime backend on a clip the exporter never
saw, against the reference model and against ONNX Runtime on the same weights.
The lint, int8 and Core ML checks use small stand-alone modules.
"""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip(
    "executorch", reason="the executorch extra is not installed (pip install 'vmf[executorch]')"
)

from vmf.export import export  # noqa: E402
from vmf.export.executorch import (
    check_coreml_program,
    delegation_report,
    lower,  # noqa: E402
    pte_predictor,
)
from vmf.contract.card import read_sidecar, sidecar_path  # noqa: E402
from vmf.export.metadata import read_embedded  # noqa: E402
from vmf.export.parity import compare, gate, structured_clips  # noqa: E402
from vmf.model import VARIANTS, VmfError, build_model, save_checkpoint  # noqa: E402
from vmf.runtime.backends import load_backend  # noqa: E402

FRAMES, RES, CLASSES = 8, 32, 10
pytestmark = pytest.mark.integration  # ExecuTorch lowering of real models


TINY = dataclasses.replace(
    VARIANTS["560M"],
    blocks_per_stage=(1, 1, 1, 1),
    base_channels=8,
    head_hidden=64,
    frames=FRAMES,
    resolution=RES,
)


def _non_trivial(model: nn.Module) -> nn.Module:
    """BN statistics and LayerNorm affines away from the identity, so a wrong fold shows."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)
            elif isinstance(m, (nn.Linear, nn.LayerNorm)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    model = _non_trivial(build_model(TINY, num_classes=CLASSES))
    root = tmp_path_factory.mktemp("executorch")
    ckpt = save_checkpoint(model, root / "tiny.pt", classes=[f"class{i}" for i in range(CLASSES)])
    lines = []
    report = export(
        None,
        targets=("executorch", "onnx"),
        weights=ckpt,
        out_dir=root / "out",
        log=lines.append,
        warn=lines.append,
    )
    arts = {a.target: a for a in report.artifacts}
    return model, arts, lines


def test_fp32_pte_is_gated_linted_and_carries_its_card(tiny_export):
    _, arts, lines = tiny_export
    pte = arts["executorch"].path
    assert pte.name == f"vmf-560m_t{FRAMES}_r{RES}_fp32.pte"
    meta = read_sidecar(pte)
    assert read_embedded(pte) == meta  # the card inside the .pte is the sidecar
    assert meta["target"] == "executorch" and meta["converter"] == "executorch+xnnpack"
    assert meta["parity"]["checked"] and meta["parity"]["passed"]
    assert meta["parity"]["max_rel_err"] <= 1e-4
    lint = meta["lint"]
    # The xnnpack spelling: every compute op in one XNNPACK partition.
    assert lint["passed"] and lint["partitions"] == 1 and lint["portable_ops"] == 0
    assert lint["delegated_ops"] == lint["ops"] > 100 and lint["max_rank"] <= 4
    assert any("1 xnnpack partition(s), 0 portable compute ops" in line for line in lines)


def test_backend_runs_the_pte_and_agrees_with_onnxruntime(tiny_export):
    model, arts, _ = tiny_export
    pte = load_backend(arts["executorch"].path, threads=2)
    ort = load_backend(arts["onnx"].path, threads=2)
    assert pte.device == "ExecuTorch XNNPACK, 2 threads"
    clip = structured_clips(1, FRAMES, RES, seed=99)[0]  # not one the exporter checked
    with torch.no_grad():
        ref = model(torch.from_numpy(clip).permute(1, 0, 2, 3)[None]).numpy()[0]
    a, b = pte.run(clip), ort.run(clip)
    scale = np.abs(ref).max()
    assert np.abs(a - ref).max() <= 1e-4 * scale
    assert np.abs(a - b).max() <= 1e-4 * scale


def test_pte_without_model_card_is_refused(tiny_export, tmp_path):
    _, arts, _ = tiny_export
    lone = tmp_path / "lone.pte"
    lone.write_bytes(arts["executorch"].path.read_bytes())
    with pytest.raises(VmfError, match="no sidecar"):
        load_backend(lone)


class _LeavesLayerNorm(nn.Module):
    """A 3-D LayerNorm: XNNPACK has no kernel for it, so it stays portable."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.norm = nn.LayerNorm(16)

    def forward(self, x):
        return self.norm(self.fc(x))


def test_lint_fails_an_op_left_on_portable_kernels(tmp_path):
    path = tmp_path / "portable.pte"
    with pytest.raises(VmfError, match=r"native_layer_norm x1.*--allow-portable"):
        lower(_LeavesLayerNorm(), torch.randn(1, 4, 16), path)
    assert not path.exists()  # nothing half-written
    report = lower(_LeavesLayerNorm(), torch.randn(1, 4, 16), path, allow_portable=True)
    assert path.exists() and report.passed
    assert report.portable_compute == {"native_layer_norm": 1} and report.partitions == 1
    assert report.to_dict()["portable_ops"] == 1


class _SmallConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()
        )
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.body(x).mean(dim=(2, 3), keepdim=True).reshape(x.shape[0], 16))


def test_int8_is_delegated_and_judged_by_the_int8_gate(tmp_path):
    model = _SmallConvNet().eval()
    clips = structured_clips(6, 4, 16, seed=5)  # (count, T, 3, R, R): T plays the batch here
    path = tmp_path / "int8.pte"
    report = lower(model, torch.from_numpy(clips[0]), path, precision="int8", calibration=clips[:4])
    assert report.partitions >= 1 and not report.portable_compute
    ops = report.delegated
    assert ops.get("quantize_per_tensor") and ops.get("dequantize_per_channel"), (
        ops
    )  # int8 really inside the delegate
    predict = pte_predictor(path)
    with torch.no_grad():
        refs = np.stack([model(torch.from_numpy(c)).numpy() for c in clips[4:]])
    outs = np.stack([predict(c).reshape(refs.shape[1:]) for c in clips[4:]])
    figures = gate(compare(outs.reshape(-1, 10), refs.reshape(-1, 10)), "executorch", "int8")
    assert figures["metric"] == "cosine_median" and figures["passed"]
    assert figures["cosine_median"] < 1.0  # quantised, not a float copy
    broken = gate(compare(-outs.reshape(-1, 10), refs.reshape(-1, 10)), "executorch", "int8")
    assert not broken["passed"]


def test_coreml_delegate_lowers_whole_and_is_refused_here(tiny_export, tmp_path):
    pytest.importorskip(
        "coremltools", reason="the Core ML delegate needs coremltools (pip install 'vmf[coreml]')"
    )
    model = _SmallConvNet().eval()
    path = tmp_path / "small_fp16_coreml.pte"
    example = torch.randn(1, 3, 16, 16)  # one clip in, [1, classes] out, as a vmf model
    report = lower(model, example, path, delegate="coreml", precision="fp16")
    assert report.partitions == 1 and not report.portable_compute
    spec = check_coreml_program(path, [1, 3, 16, 16], 10)
    assert spec["backends"] == ["CoreMLBackend"]
    with pytest.raises(VmfError, match="the Core ML .pte does not match"):
        check_coreml_program(path, [1, 3, 16, 16], 400)
    if sys.platform != "darwin":
        with pytest.raises(VmfError, match="needs the CoreMLBackend backend"):
            pte_predictor(path)
        # The runtime backend refuses it in one line, before any shape check.
        _, arts, _ = tiny_export
        sidecar_path(path).write_text(sidecar_path(arts["executorch"].path).read_text())
        with pytest.raises(VmfError, match="Core ML runs on Apple platforms only"):
            load_backend(path)


def test_delegation_report_counts_partitions(tmp_path):
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    program = torch.export.export(_LeavesLayerNorm().eval(), (torch.randn(1, 4, 16),))
    edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    report = delegation_report(edge, "xnnpack")
    assert report.delegated.get("linear", 0) + report.delegated.get("addmm", 0) >= 1
    assert not report.passed


@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "executorch", "--delegate", "xnnpak"], "did you mean 'xnnpack'"),
        (["--target", "onnx", "--delegate", "coreml"], "--delegate applies to --target executorch"),
        (
            ["--target", "executorch", "--precision", "fp16"],
            "--delegate xnnpack does not support --precision fp16",
        ),
    ],
)
def test_cli_option_errors_are_one_line(args, message, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "vmf.export.cli", "--variant", "560M", "--out", str(tmp_path), *args],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not list(tmp_path.iterdir())
