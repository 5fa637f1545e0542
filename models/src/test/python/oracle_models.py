#!/usr/bin/python3
"""PyTorch oracle for whole torchvision networks imported from ONNX.

Run: /usr/bin/python3 oracle_models.py OUT_DIR   (the Java tests run it through dev.convlens.tensor.testing.Oracle)

For each network (torchvision 0.14 resnet18 and alexnet, seeded random weights: no pretrained
weights can be downloaded here) it writes into OUT_DIR/<net>/:
  model.onnx      the default eval export (BatchNorm folded into Conv, anonymous initializers,
                  Identity nodes for merged initializers)
  model_bn.onnx   the BN-preserving export (TrainingMode.PRESERVE, do_constant_folding=False:
                  BatchNormalization kept, state_dict names)
  x.npy           the input: a real photo (chelsea.png, CC0) preprocessed as torchvision does, (1,3,224,224)
  logits.npy      the eval-mode output (1,1000)
  act.<module>.npy  the output of every Conv2d, BatchNorm2d and Linear module (golden per layer)
  act.block.<name>.npy  the output of every top-level block (conv1 ... layer1 ... layer4, avgpool, fc;
                  features, avgpool, classifier)
  u.npy           the upstream gradient on the logits: one-hot at the top class (a class score)
  dx.npy          d(top logit)/dx
  grad.<param>.npy  d(top logit)/d<param> for every parameter (state_dict names)
oracle_vgg16.py runs vgg16 through the same run() (see there).
BatchNorm statistics and affine parameters are randomized, so folding is really exercised and
no two initializers coincide.
"""
import os
import sys

import numpy as np
import torch
import torchvision

torch.set_num_threads(2)
OUT = None  # the output folder, set by main (or by oracle_vgg16.py)


def save(d, name, t):
    np.save(os.path.join(d, name + '.npy'), np.ascontiguousarray(t.detach().cpu().numpy().astype('<f4')))


def prepare(net):
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.ReLU):
            m.inplace = False  # torchvision's ReLUs are in-place; hooks must see clean outputs
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
    return net.eval()


PHOTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources', 'photos', 'chelsea.png')


def photo():
    """chelsea.png (CC0) through torchvision's ImageNet preprocessing: resize 256, center crop 224, normalize."""
    from PIL import Image
    import torchvision.transforms as T
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    return tf(Image.open(PHOTO).convert('RGB')).unsqueeze(0)


def run(name, ctor, bn_export=True, param_grads=True, float64_dx=False):
    """Writes OUT/<name>/. bn_export: also model_bn.onnx; param_grads: grad.<param>.npy; float64_dx:
    dx64.npy, the input gradient computed again in float64."""
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    net = prepare(ctor(weights=None))
    x = photo()
    with torch.no_grad():
        torch.onnx.export(net, x, os.path.join(d, 'model.onnx'), opset_version=14,
                          input_names=['input'], output_names=['logits'])
        if bn_export:
            torch.onnx.export(net, x, os.path.join(d, 'model_bn.onnx'), opset_version=14,
                              training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                              input_names=['input'], output_names=['logits'])
    acts = {}
    for mname, m in net.named_modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear)):
            m.register_forward_hook(lambda mod, inp, out, mname=mname: acts.__setitem__(mname, out.detach().clone()))
    for bname, m in net.named_children():  # the activation after each top-level block
        m.register_forward_hook(lambda mod, inp, out, bname=bname: acts.__setitem__('block.' + bname, out.detach().clone()))
    xg = x.clone().requires_grad_(True)
    logits = net(xg)
    top = int(logits.argmax())
    u = torch.zeros_like(logits)
    u[0, top] = 1  # the gradient of one class score (the top one), as saliency maps use
    (logits * u).sum().backward()
    save(d, 'x', x)
    save(d, 'logits', logits)
    save(d, 'u', u)
    save(d, 'dx', xg.grad)
    if param_grads:
        for pname, p in net.named_parameters():
            save(d, 'grad.' + pname, p.grad)
    for mname, a in acts.items():
        save(d, 'act.' + mname, a)
    if float64_dx:
        for m in net.modules():
            m._forward_hooks.clear()
        net64 = net.double()
        x64 = x.double().requires_grad_(True)
        (net64(x64) * u.double()).sum().backward()
        save(d, 'dx64', x64.grad)
        print(name, 'dx float32 vs float64 relative L2',
              float((xg.grad.double() - x64.grad).norm() / x64.grad.norm()))
    print(name, 'logits', tuple(logits.shape), 'max', float(logits.abs().max()), 'top class', top)



if __name__ == '__main__':
    OUT = sys.argv[1]
    run('resnet18', torchvision.models.resnet18)
    run('alexnet', torchvision.models.alexnet)
