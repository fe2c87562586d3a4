"""Data for the semi-supervised pictures: hiding all but a few labels, and a set on which the
low-density assumption is false."""
from __future__ import annotations

import numpy as np

from ..validation import check_positive_int

UNLABELLED = -1  # scikit-learn's marker for an unlabelled example


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


def make_bars(n: int = 300, seed: int = 0, gap: float = 2.0, width: float = 0.1) -> tuple:
    """Two dense horizontal bars (y = ±gap/2) and the label "right of x = 0": the classes are cut
    through the middle of each dense cluster, and the empty gap between the bars separates
    nothing. Returns (X [n, 2], y [n])."""
    n = check_positive_int(n, "n", 2)
    rng = np.random.default_rng(seed)
    X = np.c_[rng.uniform(-3, 3, n), rng.choice([-gap / 2, gap / 2], n) + rng.normal(0, width, n)]
    return X, (X[:, 0] > 0).astype(int)


def make_moons_arrays(n: int = 300, noise: float = 0.1, seed: int = 0) -> tuple:
    """Two moons as NumPy arrays (X [n, 2], y [n]), for scikit-learn's estimators."""
    from sklearn.datasets import make_moons

    return make_moons(check_positive_int(n, "n", 2), noise=noise, random_state=seed)


__all__ = ["UNLABELLED", "hide_labels", "make_bars", "make_moons_arrays"]
