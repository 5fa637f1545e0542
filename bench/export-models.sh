#!/bin/sh
# Writes bench/target/models/{resnet18,resnet18_bn,alexnet}.onnx (torchvision exports, seeded random
# weights; about 340 MB) with the PyTorch of /usr/bin/python3. Nothing is downloaded.
# Usage: bench/export-models.sh [OUT_DIR]      (default: bench/target/models next to this script)
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/target/models}
exec /usr/bin/python3 "$here/export_models.py" "$out"
