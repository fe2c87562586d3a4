"""Data for the semi-supervised pictures: hiding all but a few labels, and a set on which the
low-density assumption is false."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import Result
from ..validation import check_positive_int

UNLABELLED = -1  # scikit-learn's marker for an unlabelled example


@dataclass
class Points(Result):
    """A drawn set of labelled points, as NumPy arrays for scikit-learn's estimators.

    Attributes
    ----------
    X : float array [n, 2], the points
    y : int array [n], their classes
    """

    X: np.ndarray
    y: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per point: columns ``x0``, ``x1`` (the coordinates) and ``y`` (the class)."""
        out = pd.DataFrame(self.X, columns=[f"x{i}" for i in range(self.X.shape[1])])
        out["y"] = self.y
        return out


def hide_labels(y, per_class: int, seed: int = 0) -> np.ndarray:
    """A copy of ``y`` with all but ``per_class`` random labels of each class set to -1
    (scikit-learn's "unlabelled")."""
    y = np.asarray(y)
    per_class = check_positive_int(per_class, "per_class")
    rng = np.random.default_rng(seed)
    out = np.full(len(y), UNLABELLED, dtype=int)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < per_class:
            raise ValueError(f"class {c} has only {len(members)} examples; cannot keep {per_class} labels of it")
        keep = rng.choice(members, per_class, replace=False)
        out[keep] = c
    return out


def make_bars(n: int = 300, seed: int = 0, gap: float = 2.0, width: float = 0.1) -> Points:
    """Two dense horizontal bars (y = ±gap/2) and the label "right of x = 0": the classes are cut
    through the middle of each dense cluster, and the empty gap between the bars separates
    nothing.

    Returns
    -------
    :class:`Points`: ``X`` [n, 2] and ``y`` [n]
    """
    n = check_positive_int(n, "n", 2)
    rng = np.random.default_rng(seed)
    X = np.c_[rng.uniform(-3, 3, n), rng.choice([-gap / 2, gap / 2], n) + rng.normal(0, width, n)]
    return Points(X, (X[:, 0] > 0).astype(int))


def make_moons_arrays(n: int = 300, noise: float = 0.1, seed: int = 0) -> Points:
    """Two moons as NumPy arrays, for scikit-learn's estimators (``sklearn.datasets.make_moons``).

    Returns
    -------
    :class:`Points`: ``X`` [n, 2] and ``y`` [n]
    """
    from sklearn.datasets import make_moons

    X, y = make_moons(check_positive_int(n, "n", 2), noise=noise, random_state=seed)
    return Points(X, y)


__all__ = ["UNLABELLED", "Points", "hide_labels", "make_bars", "make_moons_arrays"]
