"""PU data: labelling some positives, completely at random or depending on x."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import Result
from ..validation import check_fraction, check_positive_int


@dataclass
class GaussianClasses(Result):
    """A draw of :func:`gaussian_classes`.

    Attributes
    ----------
    X : float array [n, dim], the examples
    y : int array [n], the true classes in {0, 1} (1 = positive)
    """

    X: np.ndarray
    y: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per example: columns ``x0`` … ``x{dim-1}`` (the features) and ``y`` (the class)."""
        out = pd.DataFrame(self.X, columns=[f"x{i}" for i in range(self.X.shape[1])])
        out["y"] = self.y
        return out


def gaussian_classes(n: int = 4000, separation: float = 3.0, dim: int = 2, prior: float = 0.5,
                     seed: int = 0) -> GaussianClasses:
    """Two Gaussian classes with identity covariance whose means are ``separation`` apart along
    the first axis: p(y = 1 | x) is exactly logistic, so logistic regression is well specified.

    Returns
    -------
    :class:`GaussianClasses`: ``X`` [n, dim] and ``y`` [n] in {0, 1}
    """
    n = check_positive_int(n, "n", 2)
    check_fraction(prior, "prior", 0.0, 1.0, inclusive_low=False, inclusive_high=False)
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prior).astype(int)
    X = rng.normal(size=(n, check_positive_int(dim, "dim")))
    X[:, 0] += separation * (y - 0.5)
    return GaussianClasses(X, y)


def label_scar(y, c: float, seed: int = 0) -> np.ndarray:
    """s: each positive labelled with probability ``c``, independently of x ("selected
    completely at random"); negatives never."""
    y = np.asarray(y)
    check_fraction(c, "c", 0.0, 1.0, inclusive_low=False)
    rng = np.random.default_rng([seed, 17])  # a stream of its own, not the one that drew the data
    return ((y == 1) & (rng.random(len(y)) < c)).astype(int)


def label_by_x(X, y, c: float, strength: float = 2.0, seed: int = 0) -> np.ndarray:
    """s where a positive's chance of a label grows with its first feature (the clearer the case,
    the likelier someone labelled it): e(x) ∝ sigmoid(strength · x₁), scaled so the mean over the
    positives is ``c``."""
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    check_fraction(c, "c", 0.0, 1.0, inclusive_low=False)
    rng = np.random.default_rng([seed, 17])  # a stream of its own, not the one that drew the data
    e = 1 / (1 + np.exp(-strength * (X[:, 0] - X[y == 1, 0].mean())))
    e = np.clip(e * c / e[y == 1].mean(), 0, 1)
    return ((y == 1) & (rng.random(len(y)) < e)).astype(int)


__all__ = ["GaussianClasses", "gaussian_classes", "label_scar", "label_by_x"]
