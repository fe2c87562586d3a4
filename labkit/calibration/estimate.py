"""ECE is an estimate. For a model that is *perfectly* calibrated (labels drawn from its own
probabilities) the true calibration error is 0, yet the binned ECE of a finite test set is not:
every bin's accuracy is a sample mean. This module makes such models and measures the bias."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import Result
from ..validation import check_positive_int
from .metrics import ece


@dataclass
class CalibratedSample(Result):
    """A draw of :func:`calibrated_sample`: the predictions of a perfectly calibrated model.

    Attributes
    ----------
    probs : array [n, K], the model's probabilities
    y : int array [n], the labels, each drawn from its own row of ``probs``
    """

    probs: np.ndarray
    y: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per example: columns ``p0`` … ``p{K-1}`` (the probabilities) and ``y``."""
        out = pd.DataFrame(self.probs, columns=[f"p{k}" for k in range(self.probs.shape[1])])
        out["y"] = self.y
        return out


@dataclass
class CalibratedECE(Result):
    """The outcome of :func:`ece_of_calibrated`: the ECE of perfectly calibrated models.

    Attributes
    ----------
    sizes : list of int, the test-set sizes (rows of the arrays)
    n_bins : list of int, the bin counts (columns of the arrays)
    mean : array [len(sizes), len(n_bins)], the mean ECE over the repeats
    std : array [len(sizes), len(n_bins)], its standard deviation over the repeats
    repeats : int, the test sets drawn for each size
    """

    sizes: list[int]
    n_bins: list[int]
    mean: np.ndarray
    std: np.ndarray
    repeats: int

    def table(self) -> pd.DataFrame:
        """One row per test-set size and bin count: columns ``n`` (test examples), ``n_bins``,
        ``mean`` and ``std`` (of the ECE over the repeats)."""
        rows = [{"n": n, "n_bins": b, "mean": float(self.mean[i, j]), "std": float(self.std[i, j])}
                for i, n in enumerate(self.sizes) for j, b in enumerate(self.n_bins)]
        return pd.DataFrame(rows, columns=["n", "n_bins", "mean", "std"])


def calibrated_sample(n: int, n_classes: int = 10, concentration: float = 0.3, seed: int = 0) -> CalibratedSample:
    """The predictions of a perfectly calibrated model: probabilities from a symmetric
    Dirichlet(concentration), then every label drawn from its own row, y_i ~ Categorical(probs_i).

    Returns
    -------
    :class:`CalibratedSample`: ``probs`` [n, K] and ``y`` [n]
    """
    n = check_positive_int(n, "n")
    n_classes = check_positive_int(n_classes, "n_classes", 2)
    if not concentration > 0:
        raise ValueError(f"concentration must be > 0, got {concentration!r}")
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n_classes, float(concentration)), size=n)
    p = p / p.sum(1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, 1)).sum(1).clip(0, n_classes - 1)
    return CalibratedSample(p, y)


def ece_of_calibrated(sizes, n_bins=(15,), repeats: int = 20, n_classes: int = 10, concentration: float = 0.3,
                      strategy: str = "uniform", seed: int = 0) -> CalibratedECE:
    """Mean and standard deviation over ``repeats`` test sets of the ECE of a perfectly calibrated
    model, for every test-set size in ``sizes`` and bin count in ``n_bins``.

    Returns
    -------
    :class:`CalibratedECE`: ``mean`` and ``std``, each [len(sizes), len(n_bins)]; ``table()``
    has one row per size and bin count (columns n, n_bins, mean, std)
    """
    repeats = check_positive_int(repeats, "repeats")
    sizes = [check_positive_int(int(s), "size") for s in np.atleast_1d(sizes)]
    n_bins = [check_positive_int(int(b), "n_bins") for b in np.atleast_1d(n_bins)]
    mean, std = np.zeros((len(sizes), len(n_bins))), np.zeros((len(sizes), len(n_bins)))
    for i, n in enumerate(sizes):
        runs = [calibrated_sample(n, n_classes, concentration, seed=seed + 1000 * r + n) for r in range(repeats)]
        for j, b in enumerate(n_bins):
            vals = [ece(run.probs, run.y, b, strategy) for run in runs]
            mean[i, j], std[i, j] = float(np.mean(vals)), float(np.std(vals))
    return CalibratedECE(sizes, n_bins, mean, std, repeats)


def ece_floor(probs, n_bins: int = 15, repeats: int = 20, seed: int = 0) -> float:
    """The mean ECE of a model with exactly these probabilities [N, K] that *is* calibrated: labels
    are redrawn from the rows themselves ``repeats`` times. What ECE shows for zero true error on a
    test set of this size and with these confidences."""
    from .metrics import check_probs

    p = check_probs(probs)
    repeats = check_positive_int(repeats, "repeats")
    rng = np.random.default_rng(seed)
    cum = np.cumsum(p, 1)
    vals = [ece(p, (rng.random(len(p))[:, None] > cum).sum(1).clip(0, p.shape[1] - 1), n_bins) for _ in range(repeats)]
    return float(np.mean(vals))
