#!/usr/bin/python3
"""PyTorch oracle for gradient-ascent activation maximization (dev.convlens.viz.am).

Run: /usr/bin/python3 oracle_am.py OUT_DIR   (the Java tests run it through dev.convlens.tensor.testing.Oracle)

Re-exports torchvision 0.14 resnet18 exactly as models/src/test/python/oracle_models.py does
(torch.manual_seed(0) weights, BN statistics and affine randomized with Generator seed 1), so the
ONNX and torch weights are the same, into OUT_DIR/resnet18/:
  model_bn.onnx   the BN-preserving export (state_dict names), input SIZE x SIZE
For each parameterization P in (pixel, fourier), maximizing the logit of class TARGET with Adam
(lr 0.05, torch defaults otherwise) under fixed transforms (pad 4 with 0.5, then the crop at
(3, 5) of size SIZE, i.e. a fixed jitter), STEPS steps:
  P.p0.npy      the initial parameter: N(0, SD^2), SD 1 for pixels and 0.5 for the spectrum (image
                std ~0.2). Not Lucid's 0.01: from a nearly flat grey image the first max pool's
                windows hold near-ties (gaps below 1e-6 were measured at 64x64), where two correct
                float32 implementations route the gradient differently.
  P.image0.npy  the image of p0, (1,3,SIZE,SIZE) in [0,1]
  P.imageK.npy  the image after step K (the test compares step 1 only; the others help diagnose drift)
  P.grad1.npy   d(-J)/dp at step 1 (what Adam is given)
  P.j.npy       the objective (the logit) at steps 1..STEPS, each before its update
Parameterizations, as Lucid/Lucent define them:
  pixel    image = sigmoid(p), p (1,3,H,W)
  fourier  p (1,3,2,H,W//2+1) = real and imaginary planes;
           t = irfftn(p * scale, s=(H,W), norm='ortho') / 4, scale = 1/max(|f|, 1/max(H,W));
           image = sigmoid(M t) with M = color_correlation_svd_sqrt / (max column norm)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

torch.set_num_threads(2)
OUT = sys.argv[1]
SIZE, TARGET, STEPS, LR = 64, 207, 5, 0.05
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
SVD_SQRT = np.asarray([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]]).astype('float32')
M = torch.tensor(SVD_SQRT / np.max(np.linalg.norm(SVD_SQRT, axis=0)))


def save(d, name, t):
    a = t.detach().cpu().numpy() if torch.is_tensor(t) else np.asarray(t)
    np.save(os.path.join(d, name + '.npy'), np.ascontiguousarray(a.astype('<f4')))


def prepare(net):  # as oracle_models.py
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


def rfft2d_freqs(h, w):
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[: w // 2 + 1]
    return np.sqrt(fx * fx + fy * fy)


def pixel_image(p):
    return torch.sigmoid(p)


SCALE = torch.tensor(1.0 / np.maximum(rfft2d_freqs(SIZE, SIZE), 1.0 / SIZE)).float()


def fourier_image(p):
    spec = torch.complex(p[:, :, 0] * SCALE, p[:, :, 1] * SCALE)
    t = torch.fft.irfftn(spec, s=(SIZE, SIZE), norm='ortho') / 4.0
    rgb = torch.einsum('ck,bkhw->bchw', M, t)
    return torch.sigmoid(rgb)


def transforms(img):
    z = F.pad(img, (4, 4, 4, 4), mode='constant', value=0.5)
    return z[:, :, 3:3 + SIZE, 5:5 + SIZE]


d = os.path.join(OUT, 'resnet18')
os.makedirs(d, exist_ok=True)
torch.manual_seed(0)
net = prepare(torchvision.models.resnet18(weights=None))
for q in net.parameters():
    q.requires_grad_(False)
with torch.no_grad():
    torch.onnx.export(net, torch.zeros(1, 3, SIZE, SIZE), os.path.join(d, 'model_bn.onnx'), opset_version=14,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                      input_names=['input'], output_names=['logits'])

for name, make, shape, sd in [('pixel', pixel_image, (1, 3, SIZE, SIZE), 1.0),
                              ('fourier', fourier_image, (1, 3, 2, SIZE, SIZE // 2 + 1), 0.5)]:
    torch.manual_seed(1)
    p = (torch.randn(*shape) * sd).requires_grad_(True)
    save(d, name + '.p0', p)
    save(d, name + '.image0', make(p))
    opt = torch.optim.Adam([p], lr=LR)
    js = []
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        logits = net((transforms(make(p)) - MEAN) / STD)
        j = logits[0, TARGET]
        (-j).backward()
        if step == 1:
            save(d, name + '.grad1', p.grad)
        opt.step()
        js.append(float(j))
        save(d, name + '.image%d' % step, make(p))
    np.save(os.path.join(d, name + '.j.npy'), np.asarray(js, dtype='<f8'))
    print(name, 'objective', js)
