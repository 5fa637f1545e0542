#!/usr/bin/python3
"""PyTorch oracle for occlusion sensitivity (Zeiler & Fergus 2014, Sec. 4.2 and Fig. 7).

Run: /usr/bin/python3 oracle_occlusion.py OUT_DIR   (the Java tests run it through dev.convlens.tensor.testing.Oracle)

torchvision 0.14 resnet18 with the seeded random weights and randomized BatchNorm of
models/src/test/python/oracle_models.py (same seed, same procedure), exported the same way
(default eval export, BN folded), on the same photo (chelsea.png, CC0, ImageNet preprocessing but
resized to 128 and cropped to 112, so that the Java test's forward passes cost a quarter of 224's),
with a 56-pixel square moved by 28 (3x3 overlapping positions).
Writes into OUT_DIR/resnet18/:
  model.onnx            the export
  x.npy                 the input (1,3,112,112)
  geom.npy              int32 [size, stride, target, channel]: the square, the true class (the
                        top class of the unoccluded image) and the strongest channel of layer4
  prob.npy              (rows, cols) softmax probability of the target class with the square at each position
  activation.npy        (rows, cols) summed activation of that layer4 channel at each position
  label.npy             int32 (rows, cols) the most probable class at each position
The square at position (i, j) covers rows [i*stride, i*stride+size) and columns
[j*stride, j*stride+size) of every channel, set to 0 (the dataset mean after normalization);
positions run while the square stays inside the image.
"""
import os
import sys

import numpy as np
import torch
import torchvision

torch.set_num_threads(2)
OUT = sys.argv[1]
SIZE, STRIDE, FILL = 56, 28, 0.0
RESIZE, CROP = 128, 112  # half of torchvision's 256/224: a quarter of the compute, so the Java test stays quick
PHOTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'models', 'src', 'test',
                     'resources', 'photos', 'chelsea.png')


def prepare(net):
    """As oracle_models.py: non-inplace ReLUs, BatchNorm statistics and affine randomized from seed 1."""
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


def photo():
    from PIL import Image
    import torchvision.transforms as T
    tf = T.Compose([T.Resize(RESIZE), T.CenterCrop(CROP), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    return tf(Image.open(PHOTO).convert('RGB')).unsqueeze(0)


def save(d, name, a, dtype='<f4'):
    np.save(os.path.join(d, name + '.npy'), np.ascontiguousarray(np.asarray(a).astype(dtype)))


d = os.path.join(OUT, 'resnet18')
os.makedirs(d, exist_ok=True)
torch.manual_seed(0)
net = prepare(torchvision.models.resnet18(weights=None))
x = photo()
with torch.no_grad():
    torch.onnx.export(net, x, os.path.join(d, 'model.onnx'), opset_version=14,
                      input_names=['input'], output_names=['logits'])
    feat = {}
    net.layer4.register_forward_hook(lambda m, i, o: feat.__setitem__('a', o))
    logits = net(x)
    target = int(logits.argmax())
    channel = int(feat['a'][0].sum(dim=(1, 2)).argmax())
    H, W = x.shape[2], x.shape[3]
    rows, cols = (H - SIZE) // STRIDE + 1, (W - SIZE) // STRIDE + 1
    prob = np.zeros((rows, cols)); act = np.zeros((rows, cols)); label = np.zeros((rows, cols))
    batch = []
    for i in range(rows):
        for j in range(cols):
            xo = x.clone()
            xo[:, :, i * STRIDE:i * STRIDE + SIZE, j * STRIDE:j * STRIDE + SIZE] = FILL
            batch.append(xo)
    xb = torch.cat(batch)
    p = torch.softmax(net(xb), dim=1)
    a = feat['a'][:, channel].sum(dim=(1, 2))
    prob = p[:, target].reshape(rows, cols)
    act = a.reshape(rows, cols)
    label = p.argmax(dim=1).reshape(rows, cols)
save(d, 'x', x)
save(d, 'geom', [SIZE, STRIDE, target, channel], '<i4')
save(d, 'prob', prob)
save(d, 'activation', act)
save(d, 'label', label, '<i4')
print('target', target, 'channel', channel, 'prob', prob.numpy().round(4).tolist(), 'labels', label.numpy().tolist())
