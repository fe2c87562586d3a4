"""scikit-learn's semi-supervised estimators against a supervised model on the same few labels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from ..results import Result
from .assumptions import UNLABELLED, Points, hide_labels

if TYPE_CHECKING:
    from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier


@dataclass
class ModelComparison(Result):
    """The outcome of :func:`compare_on`: test accuracy of each model on the same few labels.

    Attributes
    ----------
    seeds : list of int, one training set, hidden labels and test set per seed
    accuracy : dict model name -> array [len(seeds)], the test accuracy on each seed
    """

    seeds: list[int]
    accuracy: dict[str, np.ndarray]

    def table(self) -> pd.DataFrame:
        """One row per model and seed: columns ``model``, ``seed`` and ``accuracy``."""
        rows = [{"model": name, "seed": s, "accuracy": float(a)}
                for name, acc in self.accuracy.items() for s, a in zip(self.seeds, acc)]
        return pd.DataFrame(rows, columns=["model", "seed", "accuracy"])


def label_spreading(gamma: float = 30.0, alpha: float = 0.9) -> LabelSpreading:
    """``LabelSpreading`` with an RBF graph (Zhou et al. 2004): labels flow along the data's
    graph; ``alpha`` (0 < alpha < 1) is how far labels may spread and labelled points change
    their own label (scikit-learn's default is 0.2; Zhou et al. used 0.99)."""
    from sklearn.semi_supervised import LabelSpreading

    return LabelSpreading(kernel="rbf", gamma=gamma, alpha=alpha, max_iter=1000)


def self_training(estimator, threshold: float = 0.8, **kwargs) -> SelfTrainingClassifier:
    """``SelfTrainingClassifier`` around ``estimator`` (which needs ``predict_proba``): fit on the
    labels, add the unlabelled examples predicted with probability ≥ ``threshold`` as labels,
    refit, repeat. (The argument is ``estimator`` since scikit-learn 1.6.)"""
    from sklearn.semi_supervised import SelfTrainingClassifier

    if not hasattr(estimator, "predict_proba"):
        raise TypeError(f"self-training needs an estimator with predict_proba, got {type(estimator).__name__}")
    return SelfTrainingClassifier(estimator=estimator, threshold=threshold, **kwargs)


def fit_partial(model, X, y_partial) -> BaseEstimator:
    """Fit ``model`` on a partly labelled set: semi-supervised estimators see every example,
    others only the labelled ones (``y_partial`` = -1 marks unlabelled examples). Returns
    ``model`` itself, fitted."""
    y_partial = np.asarray(y_partial)
    if (y_partial != UNLABELLED).sum() == 0:
        raise ValueError("y_partial has no labels (every entry is -1); keep at least one per class")
    semi = type(model).__module__.startswith("sklearn.semi_supervised")
    m = np.ones(len(y_partial), bool) if semi else y_partial != UNLABELLED
    return model.fit(np.asarray(X)[m], y_partial[m])


def compare_on(make: Callable[[int, int], Points], models: Mapping, per_class: int = 3,
               seeds: Sequence[int] = range(10), n: int = 300, n_test: int = 1000) -> ModelComparison:
    """Test accuracy of each model over seeds: for seed s, ``make(n, s)`` (a :class:`Points`,
    e.g. :func:`make_moons_arrays`) is the training set (all but ``per_class`` labels per class
    hidden, chosen with seed s) and ``make(n_test, s + 1000)`` the test set.

    Returns
    -------
    :class:`ModelComparison`: ``accuracy`` maps each name of ``models`` to an array
    [len(seeds)]; ``table()`` has one row per model and seed (columns model, seed, accuracy)
    """
    seeds = list(seeds)
    out = {name: [] for name in models}
    for s in seeds:
        train, test = make(n, s), make(n_test, s + 1000)
        yp = hide_labels(train.y, per_class, s)
        for name, model in models.items():
            fitted = fit_partial(clone(model), train.X, yp)
            out[name].append(float((fitted.predict(test.X) == test.y).mean()))
    return ModelComparison(seeds, {k: np.array(v) for k, v in out.items()})


__all__ = ["ModelComparison", "label_spreading", "self_training", "fit_partial", "compare_on"]
