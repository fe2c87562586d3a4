"""ECE is an estimate. For a model that is *perfectly* calibrated (labels drawn from its own
probabilities) the true calibration error is 0, yet the binned ECE of a finite test set is not:
every bin's accuracy is a sample mean. This module makes such models and measures the bias."""
from __future__ import annotations

import numpy as np

from ..validation import check_positive_int
from .metrics import ece


def calibrated_sample(n: int, n_classes: int = 10, concentration: float = 0.3, seed: int = 0):
    """``(probs [n, K], y [n])`` of a perfectly calibrated model: probabilities from a symmetric
    Dirichlet(concentration), then every label drawn from its own row, y_i ~ Categorical(probs_i)."""
    n = check_positive_int(n, "n")
    n_classes = check_positive_int(n_classes, "n_classes", 2)
    if not concentration > 0:
        raise ValueError(f"concentration must be > 0, got {concentration!r}")
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n_classes, float(concentration)), size=n)
    p = p / p.sum(1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, 1)).sum(1).clip(0, n_classes - 1)
    return p, y


def ece_of_calibrated(sizes, n_bins=(15,), repeats: int = 20, n_classes: int = 10, concentration: float = 0.3,
                      strategy: str = "uniform", seed: int = 0) -> dict:
    """Mean and standard deviation over ``repeats`` test sets of the ECE of a perfectly calibrated
    model, for every test-set size in ``sizes`` and bin count in ``n_bins``:
    ``{(n, bins): (mean, std)}``."""
    repeats = check_positive_int(repeats, "repeats")
    sizes = [check_positive_int(int(s), "size") for s in np.atleast_1d(sizes)]
    n_bins = [check_positive_int(int(b), "n_bins") for b in np.atleast_1d(n_bins)]
    out = {}
    for n in sizes:
        runs = [calibrated_sample(n, n_classes, concentration, seed=seed + 1000 * r + n) for r in range(repeats)]
        for b in n_bins:
            vals = [ece(p, y, b, strategy) for p, y in runs]
            out[n, b] = (float(np.mean(vals)), float(np.std(vals)))
    return out


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
