#!/usr/bin/env bash
# Copy an exported model and its sidecar into the app as assets/model.<tflite|ort|pte> + assets/model.json.
# usage: android_demo/copy-model.sh [path/to/model.tflite|.ort|.pte]   (default: exports/tflite/vmf-560m_r112_fp32.tflite)
# The suffix picks the app's runner: .tflite runs on LiteRT, .ort on ONNX Runtime Mobile, .pte on ExecuTorch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
model="${1:-$root/exports/tflite/vmf-560m_r112_fp32.tflite}"
sidecar="${model%.*}.json"

[[ -f "$model" ]] || { echo "error: no model at $model (export one: make export)" >&2; exit 1; }
case "$model" in
    *.tflite) ext=tflite ;;
    *.ort) ext=ort ;;
    *.pte) ext=pte ;;
    *) echo "error: $model is not a .tflite, .ort or .pte file; the app runs LiteRT, ONNX Runtime Mobile and ExecuTorch models" >&2; exit 1 ;;
esac
[[ -f "$sidecar" ]] || { echo "error: no sidecar $(basename "$sidecar") next to the model (vmf-export writes it)" >&2; exit 1; }

# Validate the card with the Python reader when the project's venv is there (the app checks it
# again at load, against the model's real tensor shapes).
python="$root/.venv/bin/python"
if [[ -x "$python" ]]; then
    "$python" - "$sidecar" <<'PY' || exit 1
import sys
from vmf.contract.card import read_sidecar
from vmf.model import VmfError
try:
    read_sidecar(sys.argv[1])
except VmfError as exc:
    sys.exit(f"error: {exc}")
PY
fi

assets="$here/app/src/main/assets"
mkdir -p "$assets"
# temporary names, then rename: a failed copy never leaves half a model behind
cp "$model" "$assets/.model.$ext.tmp"
cp "$sidecar" "$assets/.model.json.tmp"
rm -f "$assets/model.tflite" "$assets/model.ort" "$assets/model.pte"  # one model in the app: the suffix picks the runner
mv "$assets/.model.$ext.tmp" "$assets/model.$ext"
mv "$assets/.model.json.tmp" "$assets/model.json"
echo "copied $(basename "$model") ($(du -h "$assets/model.$ext" | cut -f1)) and its sidecar to $assets"
