"""The TFLite graph lint fails on what phone accelerators refuse, and passes a rank-4 graph."""

import pytest
import torch
from torch import nn

from vmf.model import VmfError

pytest.importorskip("litert_torch", reason="the TFLite extra is not installed")

from vmf.export.lint import check_tflite, lint_tflite  # noqa: E402
from vmf.export.tflite import torch2tflite  # noqa: E402

pytestmark = pytest.mark.slow  # two litert-torch conversions


class Rank5Conv3d(nn.Module):
    """What a naive video export gives: a 5-D clip and a CONV_3D."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3, 4))


class Rank4Frames(nn.Module):
    """Frames folded into the batch axis, THWC in: what the deployable form gives."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)

    def forward(self, x):
        y = self.dw(torch.relu(self.conv(x.permute(0, 3, 1, 2))))
        return y.mean(dim=(0, 2, 3))[None]


@pytest.fixture(scope="module")
def tflite_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lint")
    torch.manual_seed(0)
    bad = torch2tflite(Rank5Conv3d().eval(), torch.randn(1, 3, 4, 8, 8), folder / "bad.tflite")
    good = torch2tflite(Rank4Frames().eval(), torch.randn(4, 8, 8, 3), folder / "good.tflite")
    return bad, good


def test_lint_fails_on_conv3d_and_rank5(tflite_files):
    bad, _ = tflite_files
    report = lint_tflite(bad, gpu_check=False)
    assert report.op_counts.get("CONV_3D") == 1
    assert report.max_rank == 5
    assert not report.passed
    assert any("CONV_3D" in p for p in report.problems)
    assert any("rank > 4" in p for p in report.problems)
    with pytest.raises(VmfError, match="graph lint failed for bad.tflite: .*CONV_3D"):
        check_tflite(bad, gpu_check=False)


def test_lint_passes_a_rank4_graph_and_counts_its_ops(tflite_files):
    _, good = tflite_files
    report = check_tflite(good)  # with TensorFlow's GPU check where TensorFlow is installed
    assert report.passed and report.max_rank == 4
    assert report.op_counts["CONV_2D"] == 1 and report.op_counts["DEPTHWISE_CONV_2D"] == 1
    assert report.gpu_compatible in (True, None)
    d = report.to_dict()
    assert d["ops"] == sum(report.op_counts.values()) and d["passed"] is True


def test_lint_refuses_a_file_that_is_not_tflite(tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00not a flatbuffer" * 3)
    with pytest.raises(VmfError, match="not a readable TFLite flatbuffer"):
        lint_tflite(junk, gpu_check=False)


def test_lint_fails_on_flex_ops(tflite_files, tmp_path):
    """A SELECT_TF (Flex) op, as onnx2tf makes of an opset-17 Erf: the stock runtime lacks it."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    _, good = tflite_files
    model = schema.ModelT.InitFromPackedBuf(good.read_bytes(), 0)
    code = model.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "FlexErf"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    flex = tmp_path / "flex.tflite"
    flex.write_bytes(builder.Output())
    report = lint_tflite(flex, gpu_check=False)
    assert report.op_counts.get("FlexErf") == 1 and report.max_rank == 4
    assert not report.passed and "FlexErf" in report.problems[0]
