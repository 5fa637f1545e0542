#!/usr/bin/python3
"""PyTorch oracle for convlens's optimizers and learning-rate schedules.

Run: /usr/bin/python3 oracle_optim.py OUT_DIR   (the Java tests do this through dev.convlens.tensor.testing.Oracle)

One folder per optimizer case, OUT_DIR/<case>/, holding float32 .npy files:
  a0, b0          two parameters before the first step ((4,40) and (64,): sizes a multiple of
                  32, so every value goes through ATen's vectorized kernels)
  ga_t, gb_t      the gradients given at step t = 1..STEPS (non-uniform random values)
  a_t, b_t        the parameters after step t
  lr.npy          the learning rate of each step (changes between steps, as a scheduler would)
Schedules: OUT_DIR/schedules/{step,cosine}.npy, the learning rate of epochs 0..11 from StepLR(step_size=3,
gamma=0.1) and CosineAnnealingLR(T_max=10, eta_min=0.001) with base lr 0.1 (float64).
"""
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)
torch.manual_seed(0)
OUT = sys.argv[1]
STEPS = 4


def save(case, **arrays):
    d = os.path.join(OUT, case)
    os.makedirs(d, exist_ok=True)
    for name, a in arrays.items():
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        np.save(os.path.join(d, name + '.npy'), np.ascontiguousarray(a))


def case(name, make):
    a = torch.nn.Parameter(torch.rand(4, 40) * 2 - 1)
    b = torch.nn.Parameter(torch.rand(64) * 2 - 1)
    opt = make([a, b])
    arrays = {'a0': a.detach().clone(), 'b0': b.detach().clone()}
    lrs = []
    for t in range(1, STEPS + 1):
        lr = 0.05 / t
        for group in opt.param_groups:
            group['lr'] = lr
        lrs.append(lr)
        ga = torch.rand(4, 40) * 2 - 1
        gb = (torch.rand(64) * 2 - 1) * 3
        a.grad = ga.clone()
        b.grad = gb.clone()
        opt.step()
        arrays['ga_%d' % t] = ga
        arrays['gb_%d' % t] = gb
        arrays['a_%d' % t] = a.detach().clone()
        arrays['b_%d' % t] = b.detach().clone()
    arrays['lr'] = np.array(lrs, dtype=np.float64)
    save(name, **arrays)


case('sgd', lambda p: torch.optim.SGD(p, lr=0.1))
case('sgd_momentum_wd', lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3))
case('sgd_dampening', lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.3))
case('sgd_nesterov_wd', lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
case('adam', lambda p: torch.optim.Adam(p, lr=0.1))
case('adam_wd', lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01))
case('adamw', lambda p: torch.optim.AdamW(p, lr=0.1))
case('adamw_wd', lambda p: torch.optim.AdamW(p, lr=0.1, betas=(0.85, 0.995), eps=1e-7, weight_decay=0.1))

d = os.path.join(OUT, 'schedules')
os.makedirs(d, exist_ok=True)
for name, make in [('step', lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.1)),
                   ('cosine', lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001))]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = make(opt)
    lrs = []
    for epoch in range(12):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    np.save(os.path.join(d, name + '.npy'), np.array(lrs, dtype=np.float64))
