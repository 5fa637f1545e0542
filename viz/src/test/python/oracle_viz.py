#!/usr/bin/python3
"""PyTorch oracle for the saliency family and deconvnet projections (dev.convlens.viz).

Run: /usr/bin/python3 oracle_viz.py OUT_DIR   (the Java tests run it through dev.convlens.tensor.testing.Oracle)

The networks are torchvision 0.14 resnet18 and alexnet with seeded random weights and randomized
batch-norm statistics, built exactly as models/src/test/python/oracle_models.py builds them; this
script exports its own copies, so the ONNX files the Java tests load and the torch modules used
here hold the same weights. Into OUT_DIR/<net>/ it writes:
  model.onnx, model_bn.onnx   the folded and the BN-preserving exports
  x.npy                       the photo chelsea.png (CC0) preprocessed as torchvision does (1,3,224,224)
  target.npy                  the top-1 class (int)
  saliency.npy                d logit[target] / dx                                   (1,3,224,224)
  guided.npy                  guided backpropagation of logit[target] to x         (1,3,224,224)
  gradcam.<layer>.npy         Grad-CAM at <layer>, bilinearly upsampled (align_corners=False) (224,224)
  gradcam_low.<layer>.npy     the same before upsampling                             (h,w)
  guided_gradcam.<layer>.npy  guided * Grad-CAM (broadcast over colour channels)     (1,3,224,224)
  ig.npy                      integrated gradients, zero baseline, 2 midpoint steps  (1,3,224,224)
  sel.<layer>.<pick>.npy      the unit projected: [channel, y, x] (int); pick = "strongest" (the
                              largest activation of the layer) or "channel" (strongest unit of the
                              channel whose largest activation ranks third)
  proj.<layer>.<pick>.<rule>.npy  the projection to pixel space of that one unit, seeded with its own
                              activation, all other units of the layer 0; rule deconvnet or guided
The ReLU rules are implemented with a custom autograd Function in every ReLU module
(torchvision's in-place ReLUs replaced; BasicBlock's one relu module called twice is fine):
  gradient:  dx = dy * (x > 0)
  deconvnet: dx = clamp(dy, min=0)
  guided:    dx = clamp(dy, min=0) * (x > 0)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

torch.set_num_threads(2)
OUT = sys.argv[1]
PHOTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'models', 'src', 'test',
                     'resources', 'photos', 'chelsea.png')
RULE = ['gradient']  # the rule every RuleReLU applies on its way down


def save(d, name, t):
    np.save(os.path.join(d, name + '.npy'), np.ascontiguousarray(t.detach().cpu().numpy().astype('<f4')))


def save_ints(d, name, values):
    np.save(os.path.join(d, name + '.npy'), np.asarray(values, dtype='<i4'))


class RuleReluFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, dy):
        x, = ctx.saved_tensors
        if RULE[0] == 'gradient':
            return dy * (x > 0)
        if RULE[0] == 'deconvnet':
            return dy.clamp(min=0)
        return dy.clamp(min=0) * (x > 0)


class RuleReLU(torch.nn.Module):
    def forward(self, x):
        return RuleReluFn.apply(x)


def prepare(net):
    """As oracle_models.prepare: out-of-place ReLUs, randomized BN statistics and affine parameters."""
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.ReLU):
            m.inplace = False
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
    return net.eval()


def replace_relus(module):
    for name, child in module.named_children():
        if isinstance(child, torch.nn.ReLU):
            setattr(module, name, RuleReLU())
        else:
            replace_relus(child)


def photo():
    from PIL import Image
    import torchvision.transforms as T
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    return tf(Image.open(PHOTO).convert('RGB')).unsqueeze(0)


def forward_with(net, x, layer):
    """logits and the output of module `layer` (kept in the autograd graph)."""
    acts = {}
    h = dict(net.named_modules())[layer].register_forward_hook(lambda m, i, o: acts.__setitem__('a', o))
    logits = net(x)
    h.remove()
    return logits, acts['a']


def input_grad(net, x, rule, target):
    RULE[0] = rule
    xg = x.clone().requires_grad_(True)
    logits = net(xg)
    g, = torch.autograd.grad(logits[0, target], xg)
    return g


def run(name, ctor, mid, late):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    net = prepare(ctor(weights=None))
    x = photo()
    with torch.no_grad():
        torch.onnx.export(net, x, os.path.join(d, 'model.onnx'), opset_version=14,
                          input_names=['input'], output_names=['logits'])
        torch.onnx.export(net, x, os.path.join(d, 'model_bn.onnx'), opset_version=14,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                          input_names=['input'], output_names=['logits'])
    replace_relus(net)
    with torch.no_grad():
        target = int(net(x).argmax())
    save(d, 'x', x)
    save_ints(d, 'target', [target])

    # Saliency (Simonyan et al.) and guided backpropagation of the class score.
    saliency = input_grad(net, x, 'gradient', target)
    guided = input_grad(net, x, 'guided', target)
    save(d, 'saliency', saliency)
    save(d, 'guided', guided)

    # Grad-CAM (Selvaraju et al.) at the late layer, and guided Grad-CAM.
    RULE[0] = 'gradient'
    logits, a = forward_with(net, x, late)
    da, = torch.autograd.grad(logits[0, target], a)
    w = da.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((w * a).sum(dim=1, keepdim=True))
    up = F.interpolate(cam, size=x.shape[2:], mode='bilinear', align_corners=False)
    save(d, 'gradcam_low.' + late, cam[0, 0])
    save(d, 'gradcam.' + late, up[0, 0])
    save(d, 'guided_gradcam.' + late, guided * up)

    # Integrated gradients (Sundararajan et al.): zero baseline, midpoint Riemann sum.
    steps = 2  # alpha = 1/4, 3/4: checks the formula; completeness is tested on a small net in Java
    total = torch.zeros_like(x)
    for k in range(steps):
        total += input_grad(net, (k + 0.5) / steps * x, 'gradient', target)
    save(d, 'ig', x * total / steps)

    # Deconvnet / guided projections of one unit (Zeiler & Fergus; Springenberg et al.).
    for layer in (mid, late):
        with torch.no_grad():
            _, a = forward_with(net, x, layer)
        a = a[0]
        flat = int(a.reshape(-1).argmax())
        hw = a.shape[1] * a.shape[2]
        c0 = flat // hw
        third = int(a.reshape(a.shape[0], -1).max(dim=1).values.argsort(descending=True)[2])
        c1_flat = int(a[third].reshape(-1).argmax())
        picks = {'strongest': (c0, (flat % hw) // a.shape[2], flat % a.shape[2]),
                 'channel': (third, c1_flat // a.shape[2], c1_flat % a.shape[2])}
        for pick, (c, yy, xx) in picks.items():
            save_ints(d, 'sel.%s.%s' % (layer, pick), [c, yy, xx])
            for rule in ('deconvnet', 'guided'):
                RULE[0] = rule
                xg = x.clone().requires_grad_(True)
                _, act = forward_with(net, xg, layer)
                seed = torch.zeros_like(act)
                seed[0, c, yy, xx] = act[0, c, yy, xx].detach()
                g, = torch.autograd.grad(act, xg, grad_outputs=seed)
                save(d, 'proj.%s.%s.%s' % (layer, pick, rule), g)
    print(name, 'target', target, 'mid', mid, 'late', late)


run('resnet18', torchvision.models.resnet18, 'layer2', 'layer4')
run('alexnet', torchvision.models.alexnet, 'features.9', 'features.11')
