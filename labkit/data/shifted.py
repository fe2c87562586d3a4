"""Images at random places of a larger canvas (L3's class-scale data: a pixel-based classical model
has no notion of "the same stroke, moved")."""
from __future__ import annotations

import numpy as np
import torch

from ..validation import check_positive_int
from .core import Data, Splits, train_val_test_split
from .embedded import load_digits


def shift_digits(data: Data, canvas: int = 16, copies: int = 1, seed: int = 0) -> Data:
    """Paste every image of ``data`` (e.g. 8x8 digits) at ``copies`` random positions of a blank
    ``canvas`` x ``canvas`` image. Returns Data with X [N * copies, C, canvas, canvas] and meta
    ``source`` (the index of the original image) and ``offset`` ([.., 2], row and column)."""
    if not isinstance(data, Data) or not data.is_image:
        raise TypeError("shift_digits needs a labkit Data of images [N, C, H, W], e.g. lk.data.load_digits()")
    copies = check_positive_int(copies, "copies")
    n, c, h, w = data.X.shape
    canvas = check_positive_int(canvas, "canvas", max(h, w))
    rng = np.random.default_rng(seed)
    X = torch.zeros(n * copies, c, canvas, canvas)
    offsets = torch.from_numpy(rng.integers(0, canvas - max(h, w) + 1, size=(n * copies, 2)))
    source = torch.arange(n).repeat(copies)
    images = data.X.cpu()
    for i in range(n * copies):
        r, q = int(offsets[i, 0]), int(offsets[i, 1])
        X[i, :, r:r + h, q:q + w] = images[int(source[i])]
    return Data(X, data.y.cpu().repeat(copies), classes=list(data.classes),
                name=f"{data.name}, shifted in {canvas}x{canvas}", meta={"source": source, "offset": offsets})


def shifted_digits(canvas: int = 16, train_copies: int = 3, test: float = 0.4, val: float = 0.1,
                   seed: int = 0) -> Splits:
    """The lecture's embedded data: scikit-learn's 8x8 digits at random positions of a larger canvas.

    The 1,797 digits are split first (stratified, by ``seed``), so no digit appears in two splits;
    each training digit is then pasted at ``train_copies`` random positions, each validation and test
    digit at one. A pixel-based classical model has no notion of "the same stroke, moved", so it
    makes hundreds of test errors here (as on CIFAR-10), while a convolutional net does not have to.
    """
    check_positive_int(train_copies, "train_copies")
    tr, va, te = train_val_test_split(load_digits(), val=val, test=test, seed=seed)
    return Splits(shift_digits(tr, canvas, train_copies, seed + 1),
                  shift_digits(va, canvas, 1, seed + 2) if va is not None else None,
                  shift_digits(te, canvas, 1, seed + 3))
