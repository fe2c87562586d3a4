"""The lecture's PU experiments: the estimate of c against the truth, naive against corrected,
and what labelling that depends on x or a miscalibrated g does to the estimate."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from sklearn.base import clone

from ..validation import check_positive_int
from .data import gaussian_classes, label_scar
from .elkan_noto import ElkanNotoClassifier


def spline_logistic(n_knots: int = 8, C: float = 10.0):
    """Logistic regression on cubic-spline features: flexible enough to model p(s = 1 | x) =
    c · p(y = 1 | x), which levels off at c, and calibrated like any logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer

    return make_pipeline(SplineTransformer(n_knots=check_positive_int(n_knots, "n_knots", 2)),
                         LogisticRegression(C=C, max_iter=1000))


def c_sweep(cs: Sequence[float], estimator=None, separation: float = 6.0, seeds: Sequence[int] = (0, 1, 2),
            n: int = 4000, hold_out: float = 0.2, label: Callable = label_scar) -> dict:
    """For each true c and seed: draw :func:`gaussian_classes`, label positives with
    ``label(y, c, seed)``, fit :class:`ElkanNotoClassifier` and keep e1, e2, e3 and the share of
    positives actually labelled. Returns name -> array [len(cs), len(seeds)]."""
    out = {k: np.zeros((len(cs), len(seeds))) for k in ("e1", "e2", "e3", "labelled")}
    for i, c in enumerate(cs):
        for j, seed in enumerate(seeds):
            X, y = gaussian_classes(n, separation, seed=seed)
            s = label(y, c, seed=seed) if label is label_scar else label(X, y, c, seed=seed)
            model = ElkanNotoClassifier(clone(estimator) if estimator is not None else spline_logistic(),
                                        hold_out=hold_out, random_state=seed).fit(X, s)
            for k, v in model.c_estimates_.items():
                out[k][i, j] = v
            out["labelled"][i, j] = s[y == 1].mean()
    return out


def naive_vs_corrected(X, s, X_test, y_test, estimator=None, hold_out: float = 0.2, seed: int = 0) -> dict:
    """Test accuracy, share predicted positive and mean p(y = 1 | x) on the true positives of the
    naive classifier (unlabelled = negative: g(x) > 0.5) and of the corrected one (g(x)/c > 0.5)."""
    model = ElkanNotoClassifier(estimator if estimator is not None else spline_logistic(), hold_out=hold_out,
                                random_state=seed).fit(X, s)
    y_test = np.asarray(y_test)
    g = model.labelling_proba(X_test)
    p = model.predict_proba(X_test)[:, 1]
    out = {"c": model.c_}
    for name, prob in (("naive", g), ("corrected", p)):
        pred = (prob > 0.5).astype(int)
        out[name] = {"accuracy": float((pred == y_test).mean()), "predicted_positive": float(pred.mean()),
                     "mean_proba_positives": float(prob[y_test == 1].mean())}
    out["true_positive_rate"] = float(np.mean(y_test))
    return out


def near_copies(X, copies: int = 5, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """X with ``copies`` noisy copies of its first feature appended: naive Bayes, which takes the
    features as independent, counts the same evidence ``copies + 1`` times and becomes
    overconfident."""
    X = np.asarray(X, dtype=float)
    rng = np.random.default_rng(seed)
    extra = X[:, :1] + noise * rng.normal(size=(len(X), check_positive_int(copies, "copies")))
    return np.c_[X, extra]


__all__ = ["spline_logistic", "c_sweep", "naive_vs_corrected", "near_copies"]
