"""The lecture's PU experiments: the estimate of c against the truth, naive against corrected,
and what labelling that depends on x or a miscalibrated g does to the estimate."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..results import Result
from ..validation import check_positive_int
from .data import gaussian_classes, label_scar
from .elkan_noto import ElkanNotoClassifier

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


@dataclass
class CSweep(Result):
    """The outcome of :func:`c_sweep`: the estimates of c against the true c.

    Attributes
    ----------
    cs : list of float, the true c of each row
    seeds : list of int, the seed of each column
    e1, e2, e3 : arrays [len(cs), len(seeds)], Elkan and Noto's three estimates of c
    labelled : array [len(cs), len(seeds)], the share of positives actually labelled
    """

    cs: list[float]
    seeds: list[int]
    e1: np.ndarray
    e2: np.ndarray
    e3: np.ndarray
    labelled: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per true c and seed: columns ``c``, ``seed``, ``e1``, ``e2``, ``e3`` and
        ``labelled``."""
        rows = [{"c": c, "seed": s, "e1": float(self.e1[i, j]), "e2": float(self.e2[i, j]),
                 "e3": float(self.e3[i, j]), "labelled": float(self.labelled[i, j])}
                for i, c in enumerate(self.cs) for j, s in enumerate(self.seeds)]
        return pd.DataFrame(rows, columns=["c", "seed", "e1", "e2", "e3", "labelled"])


@dataclass
class NaiveVsCorrected(Result):
    """The outcome of :func:`naive_vs_corrected`.

    Attributes
    ----------
    c : float, the estimate e1 of c
    naive, corrected : dict with ``accuracy``, ``predicted_positive`` (the share of the test set
        predicted positive) and ``mean_proba_positives`` (the mean p(y = 1 | x) on the true
        positives) of the naive classifier (g(x) > 0.5) and of the corrected one (g(x)/c > 0.5)
    true_positive_rate : float, the true share of positives in the test set
    """

    c: float
    naive: dict[str, float]
    corrected: dict[str, float]
    true_positive_rate: float

    def table(self) -> pd.DataFrame:
        """One row per classifier (index ``naive``, ``corrected``): columns ``accuracy``,
        ``predicted_positive``, ``mean_proba_positives``, then ``true_positive_rate`` and ``c``,
        the same on both rows."""
        out = pd.DataFrame({"naive": self.naive, "corrected": self.corrected}).T
        return out.assign(true_positive_rate=self.true_positive_rate, c=self.c)


def spline_logistic(n_knots: int = 8, C: float = 10.0) -> Pipeline:
    """Logistic regression on cubic-spline features: flexible enough to model p(s = 1 | x) =
    c · p(y = 1 | x), which levels off at c, and calibrated like any logistic regression.
    Returns the (unfitted) scikit-learn ``Pipeline``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer

    return make_pipeline(SplineTransformer(n_knots=check_positive_int(n_knots, "n_knots", 2)),
                         LogisticRegression(C=C, max_iter=1000))


def c_sweep(cs: Sequence[float], estimator=None, separation: float = 6.0, seeds: Sequence[int] = (0, 1, 2),
            n: int = 4000, hold_out: float = 0.2, label: Callable = label_scar) -> CSweep:
    """For each true c and seed: draw :func:`gaussian_classes`, label positives with
    ``label(y, c, seed)`` (or ``label(X, y, c, seed)``, e.g. :func:`label_by_x`), fit
    :class:`ElkanNotoClassifier` and keep e1, e2, e3 and the share of positives actually labelled.

    Returns
    -------
    :class:`CSweep`: ``e1``, ``e2``, ``e3`` and ``labelled``, each [len(cs), len(seeds)];
    ``table()`` has one row per c and seed
    """
    cs, seeds = list(cs), list(seeds)
    out = {k: np.zeros((len(cs), len(seeds))) for k in ("e1", "e2", "e3", "labelled")}
    for i, c in enumerate(cs):
        for j, seed in enumerate(seeds):
            data = gaussian_classes(n, separation, seed=seed)
            X, y = data.X, data.y
            s = label(y, c, seed=seed) if label is label_scar else label(X, y, c, seed=seed)
            model = ElkanNotoClassifier(clone(estimator) if estimator is not None else spline_logistic(),
                                        hold_out=hold_out, random_state=seed).fit(X, s)
            for k, v in model.c_estimates_.items():
                out[k][i, j] = v
            out["labelled"][i, j] = s[y == 1].mean()
    return CSweep(cs, seeds, **out)


def naive_vs_corrected(X, s, X_test, y_test, estimator=None, hold_out: float = 0.2,
                       seed: int = 0) -> NaiveVsCorrected:
    """Test accuracy, share predicted positive and mean p(y = 1 | x) on the true positives of the
    naive classifier (unlabelled = negative: g(x) > 0.5) and of the corrected one (g(x)/c > 0.5).

    Returns
    -------
    :class:`NaiveVsCorrected`: the estimate ``c``, the ``naive`` and ``corrected`` scores and the
    test set's ``true_positive_rate``; ``table()`` has one row per classifier
    """
    model = ElkanNotoClassifier(estimator if estimator is not None else spline_logistic(), hold_out=hold_out,
                                random_state=seed).fit(X, s)
    y_test = np.asarray(y_test)
    g = model.labelling_proba(X_test)
    p = model.predict_proba(X_test)[:, 1]
    scores = {}
    for name, prob in (("naive", g), ("corrected", p)):
        pred = (prob > 0.5).astype(int)
        scores[name] = {"accuracy": float((pred == y_test).mean()), "predicted_positive": float(pred.mean()),
                        "mean_proba_positives": float(prob[y_test == 1].mean())}
    return NaiveVsCorrected(model.c_, scores["naive"], scores["corrected"], float(np.mean(y_test)))


def near_copies(X, copies: int = 5, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """X with ``copies`` noisy copies of its first feature appended: naive Bayes, which takes the
    features as independent, counts the same evidence ``copies + 1`` times and becomes
    overconfident."""
    X = np.asarray(X, dtype=float)
    rng = np.random.default_rng(seed)
    extra = X[:, :1] + noise * rng.normal(size=(len(X), check_positive_int(copies, "copies")))
    return np.c_[X, extra]


__all__ = ["CSweep", "NaiveVsCorrected", "spline_logistic", "c_sweep", "naive_vs_corrected", "near_copies"]
