#!/usr/bin/python3
"""PyTorch oracle for VGG-16 (Vgg16AgreementTest).

Run: /usr/bin/python3 oracle_vgg16.py OUT_DIR

torchvision 0.14 vgg16 (seeded random weights, torchvision's init) through oracle_models.run, into
OUT_DIR/vgg16/: the files listed in oracle_models.py, except that
  - only model.onnx is written (the default eval export; vgg16 has no BatchNorm, so it keeps the
    state_dict names, but equal initializers, the zero biases, are merged and the other names kept
    as Identity nodes), 553 MB;
  - no grad.<param> files (another 553 MB);
  - dx64.npy is added: d(top logit)/dx computed in float64 with the same weights and photo. On this
    photo PyTorch's float32 pass takes the other side of one near-tie in max pool features.9
    (channel 30, output (42,41): two candidates 2.8e-8 apart at 0.148), which moves its dx by
    1.6e-3 relative L2 from the float64 one.
A separate script, so that the other oracle tests do not wait for VGG-16 (about a minute and 580 MB).
Note: the oracle's cache hashes this file only; after changing oracle_models.run, delete
target/oracle/oracle_vgg16.
"""
import sys

import torchvision

import oracle_models

oracle_models.OUT = sys.argv[1]
oracle_models.run('vgg16', torchvision.models.vgg16, bn_export=False, param_grads=False, float64_dx=True)
