#!/usr/bin/python3
"""Writes the ONNX files NetworkBench reads: torchvision 0.14 resnet18 and alexnet with seeded random
weights (nothing is downloaded: no pretrained weights exist on this machine).

Run: /usr/bin/python3 bench/export_models.py OUT_DIR      (bench/export-models.sh does it)

OUT_DIR/resnet18.onnx     eval export, opset 14: BatchNorm folded into Conv (what inference runs;
                          forward, saliency and visualize read it, and so does ONNX Runtime)
OUT_DIR/resnet18_bn.onnx  BN-preserving export (TrainingMode.PRESERVE, no constant folding):
                          the training step reads it, so it trains with batch statistics as PyTorch does
OUT_DIR/alexnet.onnx      eval export (no BatchNorm; Dropout is dropped by the eval export)
The batch dimension is dynamic ('N'). torch_bench.py builds the same networks with build().
"""
import os
import sys

import torch
import torchvision

MODELS = ('resnet18', 'alexnet')


def build(name):
    """The network `name` with the weights every file and torch_bench.py share: torch.manual_seed(0)
    at construction, then BatchNorm statistics and affine parameters drawn from a generator seeded 1
    (so folding BN into the convolutions is not the identity)."""
    torch.manual_seed(0)
    net = getattr(torchvision.models, name)(weights=None)
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
    return net.eval()


def export(net, path, **kw):
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        torch.onnx.export(net, x, path, opset_version=14, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, **kw)


def main(out):
    os.makedirs(out, exist_ok=True)
    for name in MODELS:
        net = build(name)
        path = os.path.join(out, name + '.onnx')
        export(net, path)
        print('wrote', path, flush=True)
        if any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()):
            path = os.path.join(out, name + '_bn.onnx')
            export(net, path, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
            print('wrote', path, flush=True)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: /usr/bin/python3 export_models.py OUT_DIR')
    main(sys.argv[1])
