#!/usr/bin/env bash
# Type-check the app's ONNX Runtime and ExecuTorch runners (OrtClipRunner, ExecuTorchClipRunner)
# with javac against the core and the stand-ins for ONNX Runtime's and ExecuTorch's Java APIs in
# this folder (ai/onnxruntime, org/pytorch/executorch): no Android SDK or Maven needed. It proves
# the runners compile against the APIs as documented, not that the real libraries agree.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/typecheck
rm -rf "$OUT"
mkdir -p "$OUT"
javac --release 17 -Xlint:all -Werror -d "$OUT" \
    $(find core/src/main/java typecheck/ai typecheck/org -name '*.java') \
    app/src/main/java/dev/vmf/demo/ModelRunner.java \
    app/src/main/java/dev/vmf/demo/OrtClipRunner.java \
    app/src/main/java/dev/vmf/demo/ExecuTorchClipRunner.java
echo "typecheck: OrtClipRunner and ExecuTorchClipRunner compile against the ONNX Runtime and" \
    "ExecuTorch stand-ins"
