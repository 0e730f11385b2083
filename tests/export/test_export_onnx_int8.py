"""ONNX int8: a static QDQ copy of the fp32 graph, the dense spatial convolutions only, float I/O.

Checked independently of the exporter's own figures: the graph is read back
(which ops are quantized, in what types), the file is re-run on clips the
exporter never saw against the reference PyTorch model, and the sidecar says
what was made.
"""

import collections

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from vmf.contract.card import read_sidecar
from vmf.export import api, export
from vmf.export.onnx import QUANTIZED_OPS, activation_bound_convs, onnx_predictor
from vmf.export.parity import compare, structured_clips
from vmf.model import VmfError

FRAMES, RES = 8, 64


@pytest.fixture(scope="module")
def int8_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx_int8")
    lines = []
    report = export(
        "560M",
        targets=("onnx",),
        precisions=("fp32", "int8"),
        frames=FRAMES,
        resolution=RES,
        out_dir=out,
        log=lines.append,
        warn=lines.append,
    )
    return report, lines


def _producers(graph):
    return {o: n for n in graph.node for o in n.output}


def _is_dense_spatial(conv) -> bool:
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in conv.attribute}
    return attrs.get("group", 1) == 1 and any(k > 1 for k in attrs["kernel_shape"])


def test_the_stem_and_nothing_else_reads_int8_weights(int8_export):
    report, _ = int8_export
    fp32, int8 = report.artifacts
    assert [a.path.name for a in report.artifacts] == [
        f"vmf-560m_t{FRAMES}_r{RES}_{p}.onnx" for p in ("fp32", "int8")
    ]
    graph = onnx.load(str(int8.path)).graph
    made_by, inits = _producers(graph), {t.name: t for t in graph.initializer}
    counts = collections.Counter(n.op_type for n in graph.node)
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert (
        convs
        and counts["Conv"]
        == collections.Counter(n.op_type for n in onnx.load(str(fp32.path)).graph.node)["Conv"]
    )
    dense = [c for c in convs if _is_dense_spatial(c)]
    assert dense and len(dense) < len(convs)  # the stem; the depthwise and 1x1 ones are the rest
    for conv in convs:
        quantized = (
            made_by.get(conv.input[1]) is not None and made_by[conv.input[1]].op_type == "DequantizeLinear"
        )
        assert quantized == _is_dense_spatial(conv), conv.name
        if not quantized:
            assert conv.input[1] in inits and inits[conv.input[1]].data_type == TensorProto.FLOAT
            continue
        assert made_by[conv.input[0]].op_type == "DequantizeLinear", conv.name  # the activation too
        weight = inits[made_by[conv.input[1]].input[0]]
        assert weight.data_type == TensorProto.INT8
        scales = numpy_helper.to_array(inits[made_by[conv.input[1]].input[1]])
        assert scales.size == weight.dims[0]  # per output channel
    int8_weights = {
        n.op_type
        for n in graph.node
        for i in n.input
        if i in made_by and made_by[i].op_type == "DequantizeLinear" and made_by[i].input[0] in inits
    }
    assert int8_weights == set(QUANTIZED_OPS)  # the bridges, the Former and the head stay float
    assert not {"QLinearMatMul", "MatMulInteger", "QLinearMul"} & set(counts)
    assert graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT


def test_activation_bound_convs_names_depthwise_and_1x1_and_unnamed_nodes():
    from onnx import helper

    w = lambda name, shape: numpy_helper.from_array(np.zeros(shape, np.float32), name)  # noqa: E731
    nodes = [
        helper.make_node("Conv", ["x", "w_stem"], ["a"], name="stem", kernel_shape=[3, 3]),
        helper.make_node("Conv", ["a", "w_dw"], ["b"], group=8, kernel_shape=[3, 3]),  # unnamed
        helper.make_node("Conv", ["b", "w_pw"], ["c"], name="pw"),  # kernel from the weight: 1x1
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w("w_stem", (8, 8, 3, 3)), w("w_dw", (8, 1, 3, 3)), w("w_pw", (8, 8, 1, 1))],
    )
    model = helper.make_model(graph)
    excluded = activation_bound_convs(model)
    assert excluded == [model.graph.node[1].name, "pw"] and model.graph.node[1].name == "Conv_1"


def test_int8_agrees_with_the_reference_on_unseen_clips(int8_export):
    import torch

    report, lines = int8_export
    int8 = report.artifacts[1]
    meta = read_sidecar(int8.path)
    assert meta["precision"] == "int8" and meta["converter"] == "torch.onnx+onnxruntime.quantization"
    assert meta["parity"]["metric"] == "cosine_median" and meta["parity"]["passed"]
    assert meta["parity"]["heldout"] == "synthetic moving patterns"
    assert any("top-1 agreement" in line for line in lines)
    model, _ = api.load_model("560M", None, False, None, warn=lambda m: None)
    clips = structured_clips(3, FRAMES, RES, seed=91)
    with torch.no_grad():
        refs = np.concatenate([model(torch.from_numpy(c).permute(1, 0, 2, 3)[None]).numpy() for c in clips])
    predict = onnx_predictor(int8.path)
    figures = compare(np.concatenate([predict(c) for c in clips]), refs)
    assert figures["cosine_min"] >= 0.95
    # Quantized, not a copy of the fp32 file: the logits move, by a little.
    fp32 = onnx_predictor(report.artifacts[0].path)
    assert not np.array_equal(predict(clips[0]), fp32(clips[0]))


def test_quantize_onnx_needs_clips(tmp_path, int8_export):
    from vmf.export.onnx import quantize_onnx

    report, _ = int8_export
    with pytest.raises(VmfError, match="calibration clips"):
        quantize_onnx(report.artifacts[0].path, tmp_path / "x.onnx", np.zeros((0, FRAMES, 3, RES, RES)))
    assert not (tmp_path / "x.onnx").exists()
