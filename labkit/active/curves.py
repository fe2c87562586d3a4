"""Reading learning curves: the area under each curve, labels needed for a target accuracy, and
how redundant a batch of queries is."""
from __future__ import annotations

import numpy as np
import torch

from ..validation import as_tensor


def area_under_curve(labels, accuracy) -> np.ndarray:
    """Normalised area under accuracy-vs-labels curves: the trapezoid area divided by the range of
    ``labels``, i.e. the mean accuracy over the budget. ``accuracy`` [..., R] -> [...]."""
    x = np.asarray(labels, dtype=float)
    a = np.asarray(accuracy, dtype=float)
    if x.ndim != 1 or len(x) < 2 or a.shape[-1] != len(x):
        raise ValueError(f"need labels [R] (R >= 2) and accuracy [..., R], got {x.shape} and {a.shape}")
    if np.any(np.diff(x) <= 0):
        raise ValueError("labels must increase from round to round")
    return ((a[..., 1:] + a[..., :-1]) / 2 * np.diff(x)).sum(-1) / (x[-1] - x[0])


def labels_to_reach(labels, accuracy, target: float) -> float:
    """The first number of labels at which the curve ``accuracy`` [R] reaches ``target``, linearly
    interpolated between rounds; ``nan`` if it never does."""
    x = np.asarray(labels, dtype=float)
    a = np.asarray(accuracy, dtype=float)
    if a.shape != x.shape:
        raise ValueError(f"labels {x.shape} and accuracy {a.shape} must have the same shape")
    hit = np.flatnonzero(a >= target)
    if len(hit) == 0:
        return float("nan")
    i = hit[0]
    if i == 0:
        return float(x[0])
    return float(x[i - 1] + (target - a[i - 1]) / (a[i] - a[i - 1]) * (x[i] - x[i - 1]))


def batch_spread(X, batch) -> float:
    """Mean pairwise Euclidean distance between the examples of one query batch (inputs
    flattened): small when a strategy queries near-duplicates."""
    X = as_tensor(X, "X").float().flatten(1)
    idx = np.asarray(batch).reshape(-1)
    if len(idx) < 2:
        raise ValueError("a batch needs at least two examples to measure its spread")
    d = torch.cdist(X[idx], X[idx])
    return float(d.sum() / (len(idx) * (len(idx) - 1)))


def batch_classes(y, batch) -> int:
    """How many distinct true classes one query batch covers."""
    return int(len(np.unique(np.asarray(y)[np.asarray(batch).reshape(-1)])))


__all__ = ["area_under_curve", "labels_to_reach", "batch_spread", "batch_classes"]
