#!/usr/bin/python3
"""Times PyTorch (eager, CPU) on the work NetworkBench times in convlens, for the comparison table.

Run: /usr/bin/python3 bench/torch_bench.py --threads 2 [--models resnet18,alexnet]
         [--what forward,saliency,train,visualize] [--seconds 6] [--out torch.jsonl]

One JSON object per line on stdout (and appended to --out):
  {"impl":"pytorch","model":"resnet18","what":"forward","batch":1,"threads":2,
   "median_ms":..,"min_ms":..,"max_ms":..,"mean_ms":..,"n":..,"torch":"1.13.0a0"}

The work, as in dev.convlens.viz.Workload (same networks and weights as export_models.build):
  forward    model.eval(), torch.inference_mode(), batch 1 at 224x224
  saliency   batch 1: forward, then d(top logit)/d(input); parameters do not require grad, so no
             weight gradients are computed (as convlens computes only what is asked)
  train      batch 16: model.train(), cross-entropy against fixed random labels, backward,
             torch.optim.SGD(lr=0.01, momentum=0.9) step; gradients set to None before each step
  visualize  10 steps of class visualization at 224 (class 0's logit): Lucid's Fourier image
             (1/f-scaled half spectrum, irfft2 ortho / 4, colour decorrelation, sigmoid), per step
             pad 12 (0.5), jitter 8, scale 0.9-1.1, rotate +-10 degrees, jitter 4, ImageNet
             normalization, forward, backward to the spectrum, Adam(lr=0.05); a fresh image each run;
             AlexNet without the rescaling (236x236 each step), as NetworkBench does
The input is N(0,1) noise, seed 0. Each measurement: 3 warm-up runs (at least 1 s), then runs until
--seconds have passed and at least 5 runs were made. torch.set_num_threads(--threads) and one
inter-op thread, as NetworkBench gives ONNX Runtime.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_models import build  # noqa: E402  the same weights as the ONNX files

SIZE = 224
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
# Lucid's colour_correlation_svd_sqrt, divided by its largest column norm (to_valid_rgb, decorrelate=True).
COLOR = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR = COLOR / COLOR.norm(dim=0).max()
VIS_STEPS = 10


def batch_of(what):
    return 16 if what == 'train' else 1


def noise(*shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))


def forward_work(net):
    net.eval()
    x = noise(1, 3, SIZE, SIZE)

    def run():
        with torch.inference_mode():
            return net(x)
    return run


def saliency_work(net):
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x0 = noise(1, 3, SIZE, SIZE)

    def run():
        x = x0.clone().requires_grad_(True)
        z = net(x)
        top = z.argmax(dim=1, keepdim=True)
        z.gather(1, top).sum().backward()
        return x.grad
    return run


def train_work(net):
    net.train()
    n = batch_of('train')
    x = noise(n, 3, SIZE, SIZE)
    y = torch.randint(0, 1000, (n,), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def run():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss
    return run


def fourier_image(spec, h, w):
    """Lucid's fft_image + to_valid_rgb: spec (1,3,2,h,w//2+1) -> image (1,3,h,w) in (0,1)."""
    fy = torch.fft.fftfreq(h).view(h, 1)
    fx = torch.fft.rfftfreq(w).view(1, w // 2 + 1)
    scale = 1.0 / torch.sqrt(fx * fx + fy * fy).clamp(min=1.0 / max(h, w))
    t = torch.fft.irfft2(torch.complex(spec[:, :, 0], spec[:, :, 1]) * scale, s=(h, w), norm='ortho') / 4
    t = torch.einsum('ij,bjhw->bihw', COLOR, t)
    return torch.sigmoid(t)


def transform(img, rnd, rescale):
    """Lucid's standard transforms, as dev.convlens.viz.am.Robustness.LUCID (rescale=False: Workload.FIXED_SCALE)."""
    img = F.pad(img, (12, 12, 12, 12), value=0.5)
    h = img.shape[2] - 8
    oy, ox = rnd.randint(0, 8), rnd.randint(0, 8)
    img = img[:, :, oy:oy + h, ox:ox + h]
    s = rnd.choice([0.9, 0.95, 1.0, 1.05, 1.1]) if rescale else 1.0
    if s != 1.0:
        img = F.interpolate(img, size=(round(h * s), round(h * s)), mode='bilinear', align_corners=False)
    deg = rnd.randint(-10, 10)
    if deg != 0:
        a = math.radians(deg)
        theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]]).unsqueeze(0)
        grid = F.affine_grid(theta, list(img.shape), align_corners=False)
        img = F.grid_sample(img, grid, mode='bilinear', padding_mode='border', align_corners=False)
    h = img.shape[2] - 4
    oy, ox = rnd.randint(0, 4), rnd.randint(0, 4)
    return img[:, :, oy:oy + h, ox:ox + h]


def visualize_work(net, rescale=True):
    import random
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)

    def run():
        rnd = random.Random(0)
        spec = (noise(1, 3, 2, SIZE, SIZE // 2 + 1) * 0.01).requires_grad_(True)
        opt = torch.optim.Adam([spec], lr=0.05)
        for _ in range(VIS_STEPS):
            opt.zero_grad(set_to_none=True)
            x = (transform(fourier_image(spec, SIZE, SIZE), rnd, rescale) - MEAN) / STD
            objective = net(x)[0, 0]
            (-objective).backward()
            opt.step()
        return objective
    return run


WORK = {'forward': forward_work, 'saliency': saliency_work, 'train': train_work, 'visualize': visualize_work}


def measure(run, seconds):
    t_end = time.perf_counter() + 1.0
    for i in range(3):
        run()
    while time.perf_counter() < t_end:
        run()
    times = []
    t_end = time.perf_counter() + seconds
    while len(times) < 5 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, required=True)
    ap.add_argument('--models', default='resnet18,alexnet')
    ap.add_argument('--what', default='forward,saliency,train,visualize')
    ap.add_argument('--seconds', type=float, default=6.0, help='measured time per row (default 6)')
    ap.add_argument('--out', help='also append the JSON lines to this file')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    for model in a.models.split(','):
        for what in a.what.split(','):
            if what not in WORK:
                sys.exit('torch_bench.py: unknown --what %r; choose from %s' % (what, ', '.join(WORK)))
            net = build(model)
            # AlexNet: no rescaling in visualize, as NetworkBench (its ONNX export takes one input size only)
            work = visualize_work(net, rescale=False) if (what == 'visualize' and model == 'alexnet') else WORK[what](net)
            times = measure(work, a.seconds)
            row = {'impl': 'pytorch', 'model': model, 'what': what, 'batch': batch_of(what), 'threads': a.threads,
                   'median_ms': round(statistics.median(times), 3), 'min_ms': round(min(times), 3),
                   'max_ms': round(max(times), 3), 'mean_ms': round(statistics.fmean(times), 3), 'n': len(times),
                   'torch': torch.__version__}
            line = json.dumps(row)
            print(line, flush=True)
            if a.out:
                with open(a.out, 'a') as f:
                    f.write(line + '\n')


if __name__ == '__main__':
    main()
