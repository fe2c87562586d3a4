"""Learning from positive and unlabelled data (Elkan & Noto, KDD 2008).

Only some positives carry a label: s = 1 for them, s = 0 for everything else (unlabelled negatives
*and* unlabelled positives). If the labelled positives are "selected completely at random" from
all positives, p(s = 1 | y = 1, x) = c does not depend on x, hence

    p(s = 1 | x) = c · p(y = 1 | x).

So a classifier g(x) ≈ p(s = 1 | x) trained on s ("non-traditional classifier") already ranks
like the true one, and dividing by c gives p(y = 1 | x). Since g(x) = c for a positive x that
the data leave no doubt about, c is estimated from held-out labelled positives P:
e1 = mean_{x∈P} g(x) (the paper's estimator, used for ``c_``), e2 = Σ_P g / Σ_V g over the whole
held-out set V, e3 = max_V g.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from ..validation import check_fraction


def check_pu_labels(s, n: int | None = None) -> np.ndarray:
    """``s`` as an int array of 0 (unlabelled) and 1 (labelled positive), with both present."""
    s = np.asarray(s)
    if s.ndim != 1:
        raise ValueError(f"s must be a 1-D array of 0/1 labels, got shape {s.shape}")
    if n is not None and len(s) != n:
        raise ValueError(f"s has {len(s)} entries but X has {n} rows; they must match")
    if s.dtype.kind == "f" and not np.isfinite(s).all():
        raise ValueError("s contains NaN or infinite values; s must be 1 (labelled positive) or 0 (unlabelled)")
    values = set(np.unique(s).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"s must hold only 1 (labelled positive) and 0 (unlabelled), got values {sorted(values)}; "
                         "PU learning never sees labelled negatives: map them to 0")
    if 1 not in values:
        raise ValueError("s has no labelled positives (no 1); PU learning needs some positives with a label")
    if 0 not in values:
        raise ValueError("s has no unlabelled examples (no 0); with every example labelled positive there is "
                         "nothing to learn")
    return s.astype(int)


def c_estimates(g_holdout, s_holdout) -> dict[str, float]:
    """The three estimators of c from g on a held-out set V with its labels s (Elkan & Noto, sec. 2):
    e1 = mean of g over the labelled positives, e2 = their sum of g over the sum on all of V,
    e3 = the largest g on V. Returns ``{"e1": ..., "e2": ..., "e3": ...}``."""
    g = np.asarray(g_holdout, dtype=float)
    s = check_pu_labels(s_holdout, len(g))
    return {"e1": float(g[s == 1].mean()), "e2": float(g[s == 1].sum() / g.sum()), "e3": float(g.max())}


class ElkanNotoClassifier(ClassifierMixin, BaseEstimator):
    """Classify positives against negatives from positive and unlabelled data.

    Parameters
    ----------
    estimator : a scikit-learn classifier with ``predict_proba`` (default ``LogisticRegression()``),
        fitted on (X, s) as g(x) ≈ p(s = 1 | x). Its probabilities must be calibrated: c is read
        off them.
    hold_out : fraction of the labelled positives *and* the unlabelled examples held out to
        estimate c (default 0.1, as the paper's validation set); g is fitted on the rest.
    random_state : seeds the hold-out split.

    Attributes
    ----------
    estimator_ : the fitted g
    c_ : the estimate e1 of c = p(s = 1 | y = 1)
    c_estimates_ : dict with e1, e2, e3
    classes_ : array([0, 1]); column 1 of ``predict_proba`` is p(y = 1 | x)
    """

    def __init__(self, estimator=None, hold_out: float = 0.1, random_state=None):
        self.estimator = estimator
        self.hold_out = hold_out
        self.random_state = random_state

    def fit(self, X, s):
        """Fit g on (X, s) and estimate c on the held-out part. ``s``: 1 labelled positive, 0 unlabelled."""
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"X must be a non-empty 2-D array [n_samples, n_features], got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values; clean or impute them first")
        s = check_pu_labels(s, len(X))
        check_fraction(self.hold_out, "hold_out", 0.0, 1.0, inclusive_low=False, inclusive_high=False)
        if (s == 1).sum() < 2:
            raise ValueError("need at least 2 labelled positives: some to fit g, some held out to estimate c")
        fit_idx, val_idx = train_test_split(np.arange(len(s)), test_size=self.hold_out, stratify=s,
                                            random_state=self.random_state)
        base = self.estimator if self.estimator is not None else LogisticRegression()
        if not hasattr(base, "predict_proba"):
            raise TypeError(f"the estimator must have predict_proba, got {type(base).__name__}")
        self.estimator_ = clone(base).fit(X[fit_idx], s[fit_idx])
        self.c_estimates_ = c_estimates(self._g(X[val_idx]), s[val_idx])
        self.c_ = self.c_estimates_["e1"]
        if self.c_ <= 0:
            raise ValueError("the estimate of c is 0: g gives the held-out labelled positives probability 0")
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def _g(self, X) -> np.ndarray:
        proba = self.estimator_.predict_proba(X)
        return proba[:, list(self.estimator_.classes_).index(1)]

    def labelling_proba(self, X) -> np.ndarray:
        """g(x) ≈ p(s = 1 | x), the probability of being a *labelled* positive: [n]."""
        check_is_fitted(self, "c_")
        return self._g(self._check_X(X))

    def predict_proba(self, X) -> np.ndarray:
        """[n, 2]: column 1 is p(y = 1 | x) = g(x) / c clipped to [0, 1], column 0 its complement."""
        p1 = np.clip(self.labelling_proba(X) / self.c_, 0.0, 1.0)
        return np.stack([1 - p1, p1], axis=1)

    def predict(self, X) -> np.ndarray:
        """1 where p(y = 1 | x) > 0.5, i.e. g(x) > c / 2."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)

    def _check_X(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have shape [n, {self.n_features_in_}], got {X.shape}")
        return X


__all__ = ["ElkanNotoClassifier", "c_estimates", "check_pu_labels"]
