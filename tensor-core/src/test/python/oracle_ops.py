#!/usr/bin/python3
"""PyTorch oracle for every convlens op, one small case per folder.

Run: /usr/bin/python3 oracle_ops.py OUT_DIR   (the Java tests do this through dev.convlens.tensor.testing.Oracle)

Each case folder OUT_DIR/<op>__<label>/ holds float32 .npy files:
  inputs (x, w, b, ...), outputs (y, ...), the upstream gradient dy (non-uniform: uniform(-1, 1),
  never all ones, which hides transposition bugs) and the gradients PyTorch computes for it
  (dx, dw, db, ...), plus cfg.npy (int64 hyperparameters) and hp.npy (float32 hyperparameters)
  whose order is given beside each op below and read by OracleOpsTest.
Inputs of ReLU and max pooling are kept away from kinks and ties.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)
np.random.seed(0)
torch.use_deterministic_algorithms(True)

OUT = sys.argv[1]


def save(case, **arrays):
    d = os.path.join(OUT, case)
    os.makedirs(d, exist_ok=True)
    for name, a in arrays.items():
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        a = np.ascontiguousarray(a)
        if a.dtype == np.float64 or a.dtype == np.float32:
            a = a.astype('<f4')
        elif a.dtype.kind == 'i':
            a = a.astype('<i8')
        np.save(os.path.join(d, name + '.npy'), a)


def uni(*shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape, dtype=torch.float32) * (hi - lo) + lo


def away_from_zero(*shape, gap=0.05):
    """uniform values with |v| >= gap: no ReLU kinks within float error."""
    v = uni(*shape)
    return torch.where(v >= 0, v + gap, v - gap)


def leaf(t):
    return t.clone().requires_grad_(True)


# ------------------------------------------------------------------ Conv2d
# cfg = [strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups, hasBias]
def conv2d(label, xs, ws, stride=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), groups=1, bias=True):
    pt, pl, pb, pr = pads
    x, w = leaf(uni(*xs)), leaf(uni(*ws) / (ws[1] * ws[2] * ws[3]) ** 0.5)
    b = leaf(uni(ws[0])) if bias else None
    y = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=stride, dilation=dil, groups=groups)
    dy = uni(*y.shape)
    y.backward(dy)
    arrays = dict(x=x, w=w, y=y, dy=dy, dx=x.grad, dw=w.grad,
                  cfg=np.array([stride[0], stride[1], pt, pl, pb, pr, dil[0], dil[1], groups, int(bias)]))
    if bias:
        arrays.update(b=b, db=b.grad)
    save('conv2d__' + label, **arrays)


conv2d('3x3_pad1', (2, 3, 9, 8), (5, 3, 3, 3), pads=(1, 1, 1, 1))
conv2d('3x3_stride2', (1, 4, 11, 10), (6, 4, 3, 3), stride=(2, 2), pads=(1, 1, 1, 1))
conv2d('asym_pads', (1, 3, 7, 9), (4, 3, 3, 2), stride=(2, 1), pads=(1, 0, 2, 1))
conv2d('dilation2', (1, 3, 10, 10), (4, 3, 3, 3), pads=(2, 2, 2, 2), dil=(2, 2))
conv2d('dilation_2x1_stride2', (2, 2, 12, 9), (3, 2, 3, 3), stride=(2, 2), pads=(1, 0, 1, 2), dil=(2, 1))
conv2d('groups3', (2, 6, 7, 7), (9, 2, 3, 3), stride=(1, 2), pads=(1, 1, 1, 1), groups=3)
conv2d('depthwise', (1, 8, 9, 9), (8, 1, 3, 3), pads=(1, 1, 1, 1), groups=8)
conv2d('depthwise_x2_stride2', (1, 5, 10, 11), (10, 1, 3, 3), stride=(2, 2), pads=(1, 1, 1, 1), groups=5)
conv2d('1x1_nobias', (2, 16, 5, 5), (8, 16, 1, 1), bias=False)
conv2d('1x1_stride2', (1, 13, 9, 9), (7, 13, 1, 1), stride=(2, 2))
conv2d('7x7_stride2', (1, 3, 32, 30), (8, 3, 7, 7), stride=(2, 2), pads=(3, 3, 3, 3), bias=False)
conv2d('11x11_stride4', (1, 3, 39, 39), (4, 3, 11, 11), stride=(4, 4), pads=(2, 2, 2, 2))

# ------------------------------------------------------------------ Linear
# y = x w^T + b; cfg = [hasBias]
for label, (n, fin, fout, bias) in {'4x7_to_5': (4, 7, 5, True), '3x33_to_10_nobias': (3, 33, 10, False),
                                    '1x97_to_13': (1, 97, 13, True)}.items():
    x, w = leaf(uni(n, fin)), leaf(uni(fout, fin))
    b = leaf(uni(fout)) if bias else None
    y = F.linear(x, w, b)
    dy = uni(*y.shape)
    y.backward(dy)
    arrays = dict(x=x, w=w, y=y, dy=dy, dx=x.grad, dw=w.grad, cfg=np.array([int(bias)]))
    if bias:
        arrays.update(b=b, db=b.grad)
    save('linear__' + label, **arrays)

# ------------------------------------------------------------------ ReLU
for label, shape in {'nchw': (2, 3, 4, 5), 'flat': (37,)}.items():
    x = leaf(away_from_zero(*shape))
    y = F.relu(x)
    dy = uni(*shape)
    y.backward(dy)
    save('relu__' + label, x=x, y=y, dy=dy, dx=x.grad)

# ------------------------------------------------------------------ Add
a, b = leaf(uni(2, 3, 4, 5)), leaf(uni(2, 3, 4, 5))
y = a + b
dy = uni(*y.shape)
y.backward(dy)
save('add__nchw', a=a, b=b, y=y, dy=dy, da=a.grad, db=b.grad)

# ------------------------------------------------------------------ Reshape
# flatten: cfg = [axis] (dims before axis kept, the rest multiplied: (N,C,H,W), axis 1 -> (N, C*H*W))
x = leaf(uni(2, 3, 4, 5))
y = torch.flatten(x, 1)
dy = uni(*y.shape)
y.backward(dy)
save('flatten__axis1', x=x, y=y, dy=dy, dx=x.grad, cfg=np.array([1]))
# reshape: cfg = target shape
x = leaf(uni(2, 3, 4, 5))
y = x.reshape(6, 4, 5)
dy = uni(*y.shape)
y.backward(dy)
save('reshape__to_6x4x5', x=x, y=y, dy=dy, dx=x.grad, cfg=np.array([6, 4, 5]))

# ------------------------------------------------------------------ Concat
# inputs x0, x1, ...; cfg = [axis, number of inputs]
for label, (axis, shapes) in {'channels': (1, [(2, 3, 4, 4), (2, 5, 4, 4), (2, 1, 4, 4)]),
                              'width': (3, [(1, 2, 3, 2), (1, 2, 3, 5)]),
                              'batch': (0, [(1, 3, 2, 2), (2, 3, 2, 2)])}.items():
    xs = [leaf(uni(*s)) for s in shapes]
    y = torch.cat(xs, axis)
    dy = uni(*y.shape)
    y.backward(dy)
    arrays = dict(y=y, dy=dy, cfg=np.array([axis, len(xs)]))
    for i, x in enumerate(xs):
        arrays['x%d' % i] = x
        arrays['dx%d' % i] = x.grad
    save('concat__' + label, **arrays)

# ------------------------------------------------------------------ Softmax, LogSoftmax
# cfg = [axis]; the backward takes the saved output y
for fn, name in ((F.softmax, 'softmax'), (F.log_softmax, 'logsoftmax')):
    for label, (shape, axis) in {'rows': ((4, 10), 1), 'channels': ((2, 5, 3, 3), 1), 'last': ((2, 3, 7), 2),
                                 'batch_axis': ((6, 4), 0)}.items():
        x = leaf(uni(*shape) * 4)
        y = fn(x, dim=axis)
        dy = uni(*shape)
        y.backward(dy)
        save(name + '__' + label, x=x, y=y, dy=dy, dx=x.grad, cfg=np.array([axis]))

# ------------------------------------------------------------------ CrossEntropy
# loss = mean_n(-log softmax(logits)[n, label_n]); probs = softmax(logits); hp = [loss, dLoss]
for label, (n, c) in {'6x10': (6, 10), '1x1000': (1, 1000)}.items():
    logits = leaf(uni(n, c) * 3)
    labels = torch.randint(0, c, (n,))
    loss = F.cross_entropy(logits, labels)
    dloss = 0.7
    loss.backward(torch.tensor(dloss))
    save('crossentropy__' + label, logits=logits, labels=labels.numpy().astype(np.int64),
         probs=F.softmax(logits, dim=1), dlogits=logits.grad,
         hp=np.array([loss.item(), dloss], dtype=np.float32))

# ------------------------------------------------------------------ MaxPool2d
# cfg = [kH, kW, sH, sW, padTop, padLeft, padBottom, padRight, dilH, dilW, ceilMode]; idx = torch's per-plane indices
def distinct(*shape):
    """a random permutation of evenly spaced values: no two equal, so no pooling ties."""
    n = int(np.prod(shape))
    return (torch.randperm(n).float() / n * 2 - 1).reshape(shape) + uni(*shape) * (0.25 / n)


def maxpool(label, xs, k, s, p=(0, 0), dil=(1, 1), ceil=False):
    x = leaf(distinct(*xs))
    y, idx = F.max_pool2d(x, k, s, p, dil, ceil_mode=ceil, return_indices=True)
    dy = uni(*y.shape)
    y.backward(dy)
    save('maxpool2d__' + label, x=x, y=y, dy=dy, dx=x.grad, idx=idx.numpy().astype(np.int64),
         cfg=np.array([k[0], k[1], s[0], s[1], p[0], p[1], p[0], p[1], dil[0], dil[1], int(ceil)]))


maxpool('3x3_s2_p1', (2, 3, 11, 11), (3, 3), (2, 2), (1, 1))
maxpool('2x2_s2', (1, 4, 8, 6), (2, 2), (2, 2))
maxpool('3x3_s2_ceil', (1, 2, 10, 10), (3, 3), (2, 2), ceil=True)
maxpool('3x2_s2x1_p1x0_dil2x1', (1, 3, 11, 7), (3, 2), (2, 1), (1, 0), dil=(2, 1))
maxpool('3x3_s1_overlap', (1, 2, 6, 7), (3, 3), (1, 1), (1, 1))

# ------------------------------------------------------------------ AvgPool2d
# cfg = [kH, kW, sH, sW, padTop, padLeft, padBottom, padRight, ceilMode, countIncludePad]
def avgpool(label, xs, k, s, p=(0, 0), ceil=False, include=True):
    x = leaf(uni(*xs))
    y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=include)
    dy = uni(*y.shape)
    y.backward(dy)
    save('avgpool2d__' + label, x=x, y=y, dy=dy, dx=x.grad,
         cfg=np.array([k[0], k[1], s[0], s[1], p[0], p[1], p[0], p[1], int(ceil), int(include)]))


avgpool('2x2_s2', (2, 3, 8, 6), (2, 2), (2, 2))
avgpool('3x3_s2_p1_include', (1, 3, 9, 9), (3, 3), (2, 2), (1, 1), include=True)
avgpool('3x3_s2_p1_exclude', (1, 3, 9, 9), (3, 3), (2, 2), (1, 1), include=False)
avgpool('3x3_s2_p1_ceil_include', (1, 2, 10, 10), (3, 3), (2, 2), (1, 1), ceil=True, include=True)
avgpool('3x3_s2_ceil_exclude', (1, 2, 10, 10), (3, 3), (2, 2), ceil=True, include=False)
avgpool('3x2_s1x2_p1x0_exclude', (1, 2, 7, 8), (3, 2), (1, 2), (1, 0), include=False)

# ------------------------------------------------------------------ GlobalAvgPool
x = leaf(uni(2, 5, 7, 6))
y = F.adaptive_avg_pool2d(x, 1)
dy = uni(*y.shape)
y.backward(dy)
save('globalavgpool__2x5x7x6', x=x, y=y, dy=dy, dx=x.grad)

# ------------------------------------------------------------------ BatchNorm2d
# hp = [eps, momentum]; train mode: batch statistics (biased variance), running stats updated with the
# unbiased variance: running = (1 - momentum) * running + momentum * batch. mean, invstd = saved statistics.
for label, (shape, eps, mom) in {'train_4x3x5x5': ((4, 3, 5, 5), 1e-5, 0.1),
                                 'train_1x6x7x3_eps1e-3': ((1, 6, 7, 3), 1e-3, 0.3)}.items():
    x = leaf(uni(*shape) * 2 + 0.5)
    c = shape[1]
    gamma, beta = leaf(uni(c, lo=0.5, hi=1.5)), leaf(uni(c, lo=-0.5, hi=0.5))
    rm0, rv0 = uni(c, lo=-0.2, hi=0.2), uni(c, lo=0.5, hi=1.5)
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=mom, eps=eps)
    dy = uni(*shape)
    y.backward(dy)
    xd = x.detach().double()
    mean = xd.mean(dim=(0, 2, 3))
    invstd = 1.0 / torch.sqrt(xd.var(dim=(0, 2, 3), unbiased=False) + eps)
    save('batchnorm2d__' + label, x=x, gamma=gamma, beta=beta, running_mean=rm0, running_var=rv0,
         y=y, mean=mean, invstd=invstd, running_mean_after=rm, running_var_after=rv,
         dy=dy, dx=x.grad, dgamma=gamma.grad, dbeta=beta.grad, hp=np.array([eps, mom], dtype=np.float32))

# inference: y = gamma * (x - mean) / sqrt(var + eps) + beta with given mean, var
x = leaf(uni(2, 4, 5, 3) * 2)
gamma, beta = leaf(uni(4, lo=0.5, hi=1.5)), leaf(uni(4, lo=-0.5, hi=0.5))
mean, var = uni(4, lo=-0.3, hi=0.3), uni(4, lo=0.5, hi=2.0)
y = F.batch_norm(x, mean, var, gamma, beta, training=False, eps=1e-5)
dy = uni(*y.shape)
y.backward(dy)
save('batchnorm2d__inference_2x4x5x3', x=x, gamma=gamma, beta=beta, mean=mean, var=var, y=y, dy=dy,
     dx=x.grad, dgamma=gamma.grad, dbeta=beta.grad, hp=np.array([1e-5, 0.1], dtype=np.float32))

# ------------------------------------------------------------------ LRN
# y = x / (bias + alpha/size * sum_{c' in window(c)} x[c']^2)^beta, window = size channels centred on c
# (odd sizes only: for even sizes PyTorch and ONNX centre the window differently); hp = [size, alpha, beta, bias]
for label, (shape, size, alpha, beta, bias, scale) in {
        'alexnet_5_1e-4_0.75_2': ((2, 7, 4, 5), 5, 1e-4, 0.75, 2.0, 1.0),
        'strong_3_0.5_0.75_1': ((1, 6, 3, 4), 3, 0.5, 0.75, 1.0, 2.0),
        'strong_5_1.0_0.6_1.5_big': ((1, 8, 5, 5), 5, 1.0, 0.6, 1.5, 10.0)}.items():
    x = leaf(uni(*shape) * scale)
    y = F.local_response_norm(x, size, alpha, beta, bias)
    dy = uni(*shape)
    y.backward(dy)
    save('lrn__' + label, x=x, y=y, dy=dy, dx=x.grad, hp=np.array([size, alpha, beta, bias], dtype=np.float32))

print('oracle_ops: wrote', len(os.listdir(OUT)), 'cases to', OUT)
