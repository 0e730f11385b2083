#!/usr/bin/env bash
# Type-check the app's ONNX Runtime runner (OrtClipRunner) with javac against the core and the
# stand-ins for ONNX Runtime's Java API in this folder: no Android SDK or Maven needed. It
# proves the runner compiles against the API as documented, not that the real library agrees.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/typecheck
rm -rf "$OUT"
mkdir -p "$OUT"
javac --release 17 -Xlint:all -Werror -d "$OUT" \
    $(find core/src/main/java typecheck/ai -name '*.java') \
    app/src/main/java/dev/vmf/demo/ModelRunner.java \
    app/src/main/java/dev/vmf/demo/OrtClipRunner.java
echo "typecheck: OrtClipRunner compiles against the ONNX Runtime stand-ins"
