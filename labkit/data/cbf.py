"""Cylinder–Bell–Funnel (Saito 1994): a classic synthetic time-series set, generated from its formula.

For t = 1 .. length, with a ~ U[16, 32], b - a ~ U[32, 96], η ~ N(0, 1) per series and ε(t) ~ N(0, 1)::

    cylinder  c(t) = (6 + η) · 1[a ≤ t ≤ b]                     + ε(t)
    bell      b(t) = (6 + η) · 1[a ≤ t ≤ b] · (t - a) / (b - a)   + ε(t)
    funnel    f(t) = (6 + η) · 1[a ≤ t ≤ b] · (b - t) / (b - a)   + ε(t)

(the UCR archive's version has length 128, 30 training and 900 test series).
"""
from __future__ import annotations

import numpy as np
import torch

from ..validation import check_positive_int
from .core import Data, Splits

__all__ = ["CBF_CLASSES", "make_cbf"]

CBF_CLASSES = ["cylinder", "bell", "funnel"]


def _series(n: int, length: int, rng: np.random.Generator) -> tuple:
    y = np.arange(n) % 3
    rng.shuffle(y)
    t = np.arange(1, length + 1)[None, :]
    a = rng.uniform(16, 32, size=(n, 1))
    b = a + rng.uniform(32, 96, size=(n, 1))
    amp = 6 + rng.standard_normal((n, 1))
    inside = (t >= a) & (t <= b)
    shape = np.select([y[:, None] == 0, y[:, None] == 1], [np.ones_like(t * a), (t - a) / (b - a)], (b - t) / (b - a))
    x = amp * inside * shape + rng.standard_normal((n, length))
    return x.astype(np.float32), y.astype(np.int64)


def make_cbf(n_train: int = 30, n_test: int = 900, length: int = 128, seed: int = 0) -> Splits:
    """Cylinder–Bell–Funnel as ``Splits(train, None, test)``: X float [N, 1, length], y in 0..2
    (``CBF_CLASSES``), classes balanced up to one series."""
    n_train, n_test = check_positive_int(n_train, "n_train", 3), check_positive_int(n_test, "n_test", 1)
    length = check_positive_int(length, "length", 64)  # a + (b - a) reaches 128 at most; shorter clips
    rng = np.random.default_rng(seed)
    parts = []
    for n, name in ((n_train, "train"), (n_test, "test")):
        x, y = _series(n, length, rng)
        parts.append(Data(torch.from_numpy(x)[:, None, :], torch.from_numpy(y), classes=list(CBF_CLASSES),
                          name=f"Cylinder-Bell-Funnel ({name})"))
    return Splits(parts[0], None, parts[1])
