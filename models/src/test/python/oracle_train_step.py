#!/usr/bin/python3
"""PyTorch oracle for training steps on whole torchvision networks.

Run: /usr/bin/python3 oracle_train_step.py OUT_DIR   (the Java tests run it through dev.convlens.tensor.testing.Oracle,
after oracle_models.py, whose BN-preserving exports OUT_DIR/../oracle_models/<net>/model_bn.onnx give the weights).

For resnet18 and alexnet, OUT_DIR/<net>/ gets:
  x.npy, labels.npy   a batch of two: the photo of oracle_models.py and its mirror image, labels (3, 7)
  loss.npy            the mean cross-entropy at the initial weights
  grad.<param>.npy    its gradient for every parameter (state_dict names)
  stat.<buffer>.npy   resnet18: every BN running mean and var after that training-mode forward
                      (momentum 0.1, unbiased batch variance, as PyTorch)
  sgd1.<param>.npy    every parameter after the first of those two steps
  loss2.npy, grad2.<param>.npy   the loss and the gradients at those parameters (what the second step used)
  sgd.<param>.npy     every parameter after two SGD steps (lr 0.01, momentum 0.9, weight decay 1e-4)
                      on the same batch (the second at the weights and statistics the first left)
  adam.<param>.npy    every parameter after one Adam step (lr 1e-3) with the gradients above
resnet18 runs in training mode (batch statistics). alexnet runs with its dropout off (eval mode:
dropout masks cannot agree across frameworks; alexnet has no BN, so that is the only difference).
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
import torchvision
from onnx import numpy_helper

torch.set_num_threads(2)
OUT = sys.argv[1]
MODELS = os.path.join(OUT, '..', 'oracle_models')


def save(d, name, t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t
    np.save(os.path.join(d, name + '.npy'), np.ascontiguousarray(a))


def load(name, ctor):
    net = ctor(weights=None)
    for m in net.modules():
        if isinstance(m, torch.nn.ReLU):
            m.inplace = False
    path = os.path.join(MODELS, name, 'model_bn.onnx')
    if not os.path.exists(path):
        sys.exit('missing ' + path + ': run oracle_models.py first')
    inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(path).graph.initializer}
    sd = net.state_dict()
    for k in sd:
        if k.endswith('num_batches_tracked'):
            continue
        if k not in inits:
            sys.exit(path + ': no initializer ' + k)
        sd[k] = inits[k]
    net.load_state_dict(sd)
    return net


def grads_at(net, x, labels):
    net.zero_grad()
    loss = F.cross_entropy(net(x), labels)
    loss.backward()
    return loss


def run(name, ctor, train):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    x1 = torch.from_numpy(np.load(os.path.join(MODELS, name, 'x.npy')))
    x = torch.cat([x1, torch.flip(x1, dims=[3])], 0).contiguous()
    labels = torch.tensor([3, 7])
    save(d, 'x', x)
    save(d, 'labels', labels.numpy().astype('<i8'))

    net = load(name, ctor)
    net.train(train)
    sgd = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loss = grads_at(net, x, labels)
    save(d, 'loss', loss.reshape(1))
    grads = {}
    for p, t in net.named_parameters():
        grads[p] = t.grad.detach().clone()
        save(d, 'grad.' + p, t.grad)
    for b, t in net.named_buffers():
        if 'running' in b:
            save(d, 'stat.' + b, t)
    sgd.step()
    for p, t in net.named_parameters():
        save(d, 'sgd1.' + p, t)
    loss2 = grads_at(net, x, labels)
    save(d, 'loss2', loss2.reshape(1))
    for p, t in net.named_parameters():
        save(d, 'grad2.' + p, t.grad)
    sgd.step()
    for p, t in net.named_parameters():
        save(d, 'sgd.' + p, t)

    net = load(name, ctor)
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    for p, t in net.named_parameters():
        t.grad = grads[p].clone()
    adam.step()
    for p, t in net.named_parameters():
        save(d, 'adam.' + p, t)
    print(name, 'loss', float(loss))


run('resnet18', torchvision.models.resnet18, True)
run('alexnet', torchvision.models.alexnet, False)
