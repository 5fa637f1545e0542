#!/usr/bin/python3
"""PyTorch oracle for the bilinear resampling of activation maximization (Transform.Resample).

Run: /usr/bin/python3 oracle_resample.py OUT_DIR   (the Java tests run it through dev.convlens.tensor.testing.Oracle)

Resample's sampling is PyTorch's grid_sample(mode='bilinear', padding_mode='zeros',
align_corners=False) on the grid of its affine map: output pixel (i, j) reads the input at
u = m00 (j + 1/2) + m10 (i + 1/2) + m20 - 1/2, v = m01 (j + 1/2) + m11 (i + 1/2) + m21 - 1/2,
neighbours outside counted as 0; normalized, gx = 2 (u + 1/2) / W - 1, which grid_sample maps back
to u. The maps are those of Resample.scale(s, H, W) (diag(1/s), output round(s H) x round(s W)) and
Resample.rotate(deg, H, W) (about (W/2, H/2), counter-clockwise on screen), computed here in float64.
Into OUT_DIR:
  x.npy           the input (2, 3, 24, 30), uniform in [0, 1)
  CASE.y.npy      the resampled image
  CASE.dy.npy     an output gradient, uniform in [-1, 1)
  CASE.dx.npy     grid_sample's input gradient for it (autograd: the adjoint)
CASE: scale0.9, scale1.1, rot10, rot-7.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(2)
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
N, C, H, W = 2, 3, 24, 30
g = torch.Generator().manual_seed(5)
x = torch.rand(N, C, H, W, generator=g, dtype=torch.float64)


def save(name, t):
    np.save(os.path.join(OUT, name + '.npy'), np.ascontiguousarray(t.detach().numpy().astype('<f4')))


def resample(m, oh, ow):
    m00, m01, m10, m11, m20, m21 = m
    px, py = np.meshgrid(np.arange(ow) + 0.5, np.arange(oh) + 0.5)
    u = m00 * px + m10 * py + m20 - 0.5
    v = m01 * px + m11 * py + m21 - 0.5
    grid = np.stack([2 * (u + 0.5) / W - 1, 2 * (v + 0.5) / H - 1], -1)[None].repeat(N, 0)
    xi = x.clone().requires_grad_(True)
    y = F.grid_sample(xi, torch.tensor(grid), mode='bilinear', padding_mode='zeros', align_corners=False)
    dy = torch.rand(y.shape, generator=g, dtype=torch.float64) * 2 - 1
    y.backward(dy)
    return y, dy, xi.grad


save('x', x)
cases = {}
for s in (0.9, 1.1):
    cases['scale%s' % s] = ((1 / s, 0, 0, 1 / s, 0, 0), round(s * H), round(s * W))
for deg in (10, -7):
    a = math.radians(deg)
    c, sn, cx, cy = math.cos(a), math.sin(a), W / 2, H / 2
    # translate(cx, cy) . rotate(a) . translate(-cx, -cy), column-major as JOML's Matrix3x2f
    cases['rot%d' % deg] = ((c, sn, -sn, c, cx - c * cx + sn * cy, cy - sn * cx - c * cy), H, W)
for name, (m, oh, ow) in cases.items():
    y, dy, dx = resample(m, oh, ow)
    save(name + '.y', y)
    save(name + '.dy', dy)
    save(name + '.dx', dx)
