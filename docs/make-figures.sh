#!/usr/bin/env bash
# Renders the README's example figures into docs/images/ with the convlens command.
#   docs/make-figures.sh
# The network is torchvision's resnet18() with seeded random weights (no pretrained weights can be
# downloaded here), exported to ONNX by Debian's PyTorch; the photo is scikit-image's "chelsea"
# (CC0, models/src/test/resources/photos/chelsea.png). With random weights the pictures show what
# each method computes, not what a trained network has learned.
set -euo pipefail
cd "$(dirname "$0")/.."
W=target/figures
OUT=docs/images
PHOTO=models/src/test/resources/photos/chelsea.png
mkdir -p "$W/photos" "$OUT"

/usr/bin/python3 - "$W" "$PHOTO" <<'PY'
import sys, torch, torchvision
from PIL import Image, ImageOps
w, photo = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
net = torchvision.models.resnet18().eval()
torch.onnx.export(net, torch.randn(1, 3, 224, 224), w + '/resnet18.onnx', opset_version=14,
                  input_names=['input'], output_names=['logits'])
im = Image.open(photo).convert('RGB')
variants = [im, ImageOps.mirror(im), ImageOps.flip(im), im.rotate(90, expand=True), im.rotate(270, expand=True)]
for i, (l, t) in enumerate([(0, 0), (150, 0), (0, 80), (200, 60)]):
    variants.append(im.crop((l, t, l + 250, t + 220)))
for i, v in enumerate(variants):
    v.save('%s/photos/%02d.png' % (w, i))
PY

M="$W/resnet18.onnx"
./convlens saliency  --model "$M" --image "$PHOTO" --out "$W/saliency"
./convlens saliency  --model "$M" --image "$PHOTO" --method gradcam --layer layer4 --out "$W/gradcam"
./convlens deconv    --model "$M" --image "$PHOTO" --layer layer3 --out "$W/deconv"
./convlens deconv    --model "$M" --image "$PHOTO" --layer layer3 --rule guided --out "$W/guided"
./convlens occlusion --model "$M" --image "$PHOTO" --layer layer4 --size 56 --stride 28 --out "$W/occlusion"
./convlens filters   --model "$M" --out "$W/filters"
./convlens top9      --model "$M" --images "$W/photos" --layer layer2 --first 2 --out "$W/top9"
./convlens visualize --model "$M" --objective class --target 281 --size 128 --steps 64 --out "$W/visualize"

# Keep the README's figures small: copy the ones it shows.
cp "$W/saliency/overlay.png"    "$OUT/saliency-overlay.png"
cp "$W/gradcam/overlay.png"     "$OUT/gradcam-overlay.png"
cp "$W/deconv/projection.png"   "$OUT/deconv-layer3.png"
cp "$W/guided/projection.png"   "$OUT/guided-layer3.png"
cp "$W/filters/filters.png"     "$OUT/filters-conv1.png"
cp "$W/occlusion/occlusion_prob_overlay.png" "$OUT/occlusion-prob-overlay.png"
cp "$W/occlusion/occlusion_activation.png"   "$OUT/occlusion-activation.png"
cp "$W/occlusion/occlusion_label.png"        "$OUT/occlusion-label.png"
cp "$W/top9/top_0000.png"                    "$OUT/top9-layer2-channel0.png"
cp "$W/visualize/class-281.png"              "$OUT/visualize-class-281.png"
./convlens report --in "$W" --out "$W/report.html" --title "convlens figures (resnet18, random weights)"
ls -la "$OUT"
