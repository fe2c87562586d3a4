"""The classifier on top of the random features: standardise, then a ridge classifier with its
regularisation chosen by leave-one-out cross-validation (RidgeClassifierCV), as in ROCKET."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.core import Data
from ..results import Rows
from .features import RandomConvFeatures

__all__ = ["KernelSweep", "PoolingAblation", "rocket_pipeline", "as_arrays", "accuracy_by_kernels", "pooling_ablation"]


@dataclass
class KernelSweep(Rows):
    """Test accuracy against the number of random kernels, returned by :func:`accuracy_by_kernels`.

    ``rows`` (and ``table()``) has one row per kernel count, with columns ``kernels``,
    ``accuracy`` (test accuracy), ``transform s`` (seconds to fit the features and transform the
    training and test sets) and ``examples`` (training plus test examples transformed).
    """


@dataclass
class PoolingAblation(Rows):
    """Test accuracy by pooling, returned by :func:`pooling_ablation`.

    ``rows`` (and ``table()``) has one row per seed and pooling, with columns ``seed``,
    ``pooling`` (``"ppv"``, ``"max"`` or ``"ppv + max"``) and ``accuracy`` (test accuracy).
    """


def rocket_pipeline(n_kernels: int = 2000, random_state=0, **features) -> Pipeline:
    """``RandomConvFeatures → StandardScaler → RidgeClassifierCV(alphas=10^-3 … 10^3)``, not fitted.

    Returns
    -------
    Pipeline
        The three steps; ``features`` go to :class:`RandomConvFeatures`.
    """
    return make_pipeline(RandomConvFeatures(n_kernels=n_kernels, random_state=random_state, **features),
                         StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))


def as_arrays(data: Data) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a labkit Data as NumPy arrays, X keeping its shape ([N, C, L] or [N, C, H, W])."""
    if not isinstance(data, Data):
        raise TypeError(f"expected a labkit Data, got {type(data).__name__}")
    return data.X.cpu().numpy(), data.y.cpu().numpy()


def accuracy_by_kernels(train: Data, test: Data, counts, random_state=0, **features) -> KernelSweep:
    """Test accuracy and transform time of :func:`rocket_pipeline` for each kernel count.

    Returns
    -------
    KernelSweep
        One row per count: ``kernels``, ``accuracy``, ``transform s``, ``examples``.
    """
    Xtr, ytr = as_arrays(train)
    Xte, yte = as_arrays(test)
    rows = []
    for n in counts:
        pipe = rocket_pipeline(int(n), random_state, **features)
        t = time.perf_counter()
        feats = pipe[0].fit(Xtr).transform(Xtr)
        test_feats = pipe[0].transform(Xte)
        seconds = time.perf_counter() - t
        pipe[1:].fit(feats, ytr)
        rows.append({"kernels": int(n), "accuracy": float(pipe[1:].score(test_feats, yte)),
                     "transform s": seconds, "examples": len(Xtr) + len(Xte)})
    return KernelSweep(rows)


def pooling_ablation(train: Data, test: Data, n_kernels: int = 2000, seeds=(0, 1, 2), **features) -> PoolingAblation:
    """Which pooling does the work (L7 §6): for each seed, one set of ``n_kernels`` random kernels
    pooled by PPV and max, and the classifier fitted on the PPV features alone, the max features
    alone and both.

    Returns
    -------
    PoolingAblation
        One row per seed and pooling: ``seed``, ``pooling`` ("ppv", "max" or "ppv + max"),
        ``accuracy``.
    """
    from sklearn.base import clone

    Xtr, ytr = as_arrays(train)
    Xte, yte = as_arrays(test)
    rows = []
    for seed in seeds:
        pipe = rocket_pipeline(int(n_kernels), int(seed), pooling=("ppv", "max"), **features)
        feats, test_feats = pipe[0].fit(Xtr).transform(Xtr), pipe[0].transform(Xte)
        k = feats.shape[1] // 2  # grouped by pooling: PPV columns first, then max
        for name, cols in (("ppv", slice(0, k)), ("max", slice(k, 2 * k)), ("ppv + max", slice(0, 2 * k))):
            head = clone(pipe[1:]).fit(feats[:, cols], ytr)
            rows.append({"seed": int(seed), "pooling": name, "accuracy": float(head.score(test_feats[:, cols], yte))})
    return PoolingAblation(rows)
