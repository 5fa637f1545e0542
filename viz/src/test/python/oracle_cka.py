#!/usr/bin/python3
"""numpy oracle for linear CKA (Kornblith et al. 2019, "Similarity of Neural Network Representations Revisited").

Run: /usr/bin/python3 oracle_cka.py OUT_DIR   (the Java tests run it through dev.convlens.tensor.testing.Oracle)

For each case, writes into OUT_DIR/<case>/:
  x.npy    float32 (n, p) activations of a first "layer"
  y.npy    float32 (n, q) a second one: a ReLU of a random linear map of x, plus noise (related, not equal)
  cka.npy  float64 (1,)  linear CKA computed in the feature space, as the paper's eq.:
           ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F) on column-centred X and Y (float64 from the float32 files)
Cases: more examples than features, and fewer (the Java side goes through the n x n Gram matrices).
"""
import os
import sys

import numpy as np

OUT = sys.argv[1]


def linear_cka(x, y):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    y = y - y.mean(axis=0, keepdims=True)
    num = np.linalg.norm(y.T @ x, 'fro') ** 2
    return num / (np.linalg.norm(x.T @ x, 'fro') * np.linalg.norm(y.T @ y, 'fro'))


def case(name, n, p, q, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, p)) * rng.uniform(0.2, 3.0, size=p) + rng.uniform(-1, 1, size=p)).astype(np.float32)
    w = rng.standard_normal((p, q)) / np.sqrt(p)
    y = (np.maximum(x.astype(np.float64) @ w, 0) + 0.5 * rng.standard_normal((n, q)) + 2.0).astype(np.float32)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, 'x.npy'), x)
    np.save(os.path.join(d, 'y.npy'), y)
    np.save(os.path.join(d, 'cka.npy'), np.array([linear_cka(x, y)], dtype=np.float64))
    print(name, n, p, q, linear_cka(x, y))


case('tall', 60, 12, 7, 1)
case('wide', 24, 150, 90, 2)
case('square', 40, 40, 40, 3)
