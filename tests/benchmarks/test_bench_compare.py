"""The ratio lines under the table pair rows that differ in one thing only."""

from vmf.benchmarks.compare import comparisons
from vmf.benchmarks.rows import Row


def row(
    model,
    backend="onnxruntime",
    form="deployable",
    precision="fp32",
    p50=10.0,
    threads=2,
    status="ok",
    parity=None,
):
    variant = model.split("-", 1)[1]
    return Row(
        variant=variant,
        baseline=model.startswith("Mobile3D"),
        backend=backend,
        precision=precision,
        converter=None,
        threads=threads,
        device="cpu",
        frames=64,
        resolution=172,
        p50_ms=p50 if status == "ok" else None,
        status=status,
        model=model,
        form=form,
        parity=parity,
    )


def test_each_pairing():
    rows = [
        row("VMF-560M", p50=8.0),
        row("VMF-560M", form="naive", p50=20.0),
        row("VMF-560M", backend="tflite", p50=6.0),
        row("VMF-560M", backend="tflite", precision="int8", p50=3.0, parity="cosine 0.9990 ok"),
        row("Mobile3D-560M", p50=6.4),
        row("VMF-560M", backend="openvino", p50=7.0),
        row("X3D-S", form="naive", p50=300.0),
        row("X3D-S", backend="openvino", form="naive", p50=200.0),  # the fastest X3D-S row
        row("X3D-S", form="naive", p50=900.0, threads=1),  # no VMF row at 1 thread: no line
        row("VMF-1G", backend="torch", form="reference", p50=50.0, status="failed"),
    ]
    assert comparisons(rows) == [
        "VMF-560M onnxruntime fp32 2t: deployable 8.0 ms vs naive export 20.0 ms: 2.5x faster",
        "VMF-560M deployable fp32 2t: LiteRT 6.0 ms vs ONNX Runtime 8.0 ms: LiteRT 1.3x faster",
        "VMF-560M deployable fp32 2t: OpenVINO 7.0 ms vs ONNX Runtime 8.0 ms: OpenVINO 1.1x faster",
        "X3D-S naive fp32 2t: OpenVINO 200.0 ms vs ONNX Runtime 300.0 ms: OpenVINO 1.5x faster",
        "VMF-560M deployable tflite 2t: int8 3.0 ms vs fp32 6.0 ms: int8 2.0x faster "
        "(int8 parity: cosine 0.9990 ok)",
        "VMF-560M vs Mobile3D-560M deployable onnxruntime fp32 2t: 8.0 vs 6.4 ms: the Former "
        "and bridges add +25%",
        "VMF-560M fastest (tflite deployable int8, 3.0 ms, 64x172) vs X3D-S fastest (openvino "
        "naive, 200.0 ms, 64x172), 2t: 66.7x faster",
    ]


def test_slower_is_said_as_slower():
    rows = [row("VMF-560M", p50=8.0), row("VMF-560M", backend="tflite", p50=12.0)]
    assert comparisons(rows) == [
        "VMF-560M deployable fp32 2t: LiteRT 12.0 ms vs ONNX Runtime 8.0 ms: LiteRT 1.5x slower"
    ]
