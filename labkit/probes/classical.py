"""Classical models fitted once on flattened inputs, with their predictions cached on disk (L3's
shallow models M; L5's trees and forests to calibrate).

:func:`fit_classical` fits an RBF SVM, a random forest with early stopping, or any scikit-learn
classifier, and returns a :class:`Classical`: its test predictions, correctness and margins.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.core import Data
from ..validation import check_option, check_positive_int

CLASSICAL_KINDS = ("svm", "forest")


@dataclass
class Classical:
    """A fitted classical model's predictions on the test set (what the tracker needs of M).

    ``pred`` [N] predicted labels, ``correct`` [N] booleans, ``margin`` [N] the score of the true
    class minus the best other class (decision function or probabilities; > 0 where M is right),
    ``seconds`` the time to fit and predict (0 when loaded from the cache), ``n_train`` the
    examples it was fitted on, ``estimator`` the fitted model (None when loaded from the cache).
    """

    name: str
    pred: np.ndarray
    correct: np.ndarray
    margin: np.ndarray
    seconds: float
    n_train: int
    cached: bool = False
    estimator: object = None
    details: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    @property
    def n_incorrect(self) -> int:
        """How many test examples M gets wrong: the set on which R- is measured."""
        return int((~self.correct).sum())

    def __repr__(self) -> str:
        src = "cache" if self.cached else f"{self.seconds:.1f} s"
        return (f"Classical({self.name!r}, accuracy={self.accuracy:.4f}, wrong on {self.n_incorrect} of "
                f"{len(self.correct)} test examples, fitted on {self.n_train} ({src}))")


def forest_early_stopping(X, y, X_val, y_val, step: int = 10, patience: int = 3, max_trees: int = 300,
                          seed: int = 0, n_jobs: int | None = None, **params):
    """A random forest grown ``step`` trees at a time until validation accuracy has not improved for
    ``patience`` rounds (or ``max_trees`` is reached); returns it cut back to the best size."""
    from sklearn.ensemble import RandomForestClassifier

    step = check_positive_int(step, "step")
    patience = check_positive_int(patience, "patience")
    max_trees = check_positive_int(max_trees, "max_trees", step)
    forest = RandomForestClassifier(n_estimators=step, warm_start=True, random_state=seed, n_jobs=n_jobs, **params)
    best, best_n, since, curve = -1.0, step, 0, []
    while True:
        forest.fit(X, y)
        acc = float((forest.predict(X_val) == y_val).mean())
        curve.append((forest.n_estimators, acc))
        if acc > best + 1e-9:
            best, best_n, since = acc, forest.n_estimators, 0
        else:
            since += 1
        if since >= patience or forest.n_estimators + step > max_trees:
            break
        forest.n_estimators += step
    forest.estimators_ = forest.estimators_[:best_n]
    forest.n_estimators = best_n
    forest.validation_curve_ = curve
    return forest


def _subsample(X, y, n: int | None, seed: int):
    if n is None or n >= len(y):
        return X, y
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(X, y, train_size=n, random_state=seed, stratify=y)
    return X, y


def _fingerprint(*arrays, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:20]


def _margin(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    true = scores[np.arange(len(y)), y]
    other = scores.copy()
    other[np.arange(len(y)), y] = -np.inf
    return true - other.max(1)


def fit_classical(model, train: Data, test: Data, val: Data | None = None, *, max_train: int | None = None,
                  seed: int = 0, cache_dir=None, name: str | None = None, n_jobs: int | None = None) -> Classical:
    """Fit a classical model M on ``train`` (flattened pixels) and predict ``test``, once.

    model : ``"svm"`` (RBF kernel, ``C=10``, ``gamma="scale"``), ``"forest"`` (a random forest with
        early stopping on ``val``: grown 10 trees at a time while validation accuracy improves;
        without ``val``, 10 % of ``train`` is held out for it), or any unfitted scikit-learn classifier.
    max_train : fit on a stratified subsample of this size (an RBF SVM's fit time grows roughly with
        the square of the training-set size: on full MNIST it is the slow part of the lecture).
    cache_dir : if given, the predictions are stored there under a hash of the model, its parameters
        and the data, and later calls with the same inputs load them instead of fitting again.
    """
    from sklearn.base import clone, is_classifier

    if not isinstance(train, Data) or not isinstance(test, Data):
        raise TypeError("train and test must be labkit Data (use lk.data.Data(X, y) to wrap arrays)")
    if isinstance(model, str):
        check_option(model, "classical model", CLASSICAL_KINDS)
        kind, label = model, name or {"svm": "SVM", "forest": "RF"}[model]
    else:
        try:
            ok = hasattr(model, "fit") and hasattr(model, "predict") and is_classifier(model)
        except (AttributeError, TypeError):
            ok = False
        if not ok:
            raise TypeError(f"model must be 'svm', 'forest' or a scikit-learn classifier, got {type(model).__name__}")
        kind, label = "estimator", name or type(model).__name__
    if max_train is not None:
        max_train = check_positive_int(max_train, "max_train", train.n_classes * 2)
    X, y = train.flat(), train.y.cpu().numpy()
    Xt, yt = test.flat(), test.y.cpu().numpy()
    description = kind if kind != "estimator" else repr(model)
    key = _fingerprint(X, y, Xt, yt, *((val.flat(), val.y.cpu().numpy()) if val is not None else ()),
                       extra=f"{description}|{max_train}|{seed}|v1")
    path = Path(cache_dir) / f"{label.replace(' ', '_')}-{key}.npz" if cache_dir is not None else None
    if path is not None and path.exists():
        saved = np.load(path, allow_pickle=False)
        details = json.loads(str(saved["details"]))
        return Classical(label, saved["pred"], saved["pred"] == yt, saved["margin"], 0.0, int(saved["n_train"]),
                         cached=True, details=details)

    start = time.perf_counter()
    Xs, ys = _subsample(X, y, max_train, seed)
    details = {}
    if kind == "svm":
        from sklearn.svm import SVC

        est = SVC(kernel="rbf", C=10.0, gamma="scale", random_state=seed).fit(Xs, ys)
    elif kind == "forest":
        if val is not None:
            Xv, yv = val.flat(), val.y.cpu().numpy()
        else:
            from sklearn.model_selection import train_test_split

            Xs, Xv, ys, yv = train_test_split(Xs, ys, test_size=0.1, random_state=seed, stratify=ys)
        est = forest_early_stopping(Xs, ys, Xv, yv, seed=seed, n_jobs=n_jobs)
        details["trees"] = est.n_estimators
        details["validation_curve"] = est.validation_curve_
    else:
        est = clone(model).fit(Xs, ys)
    pred = np.asarray(est.predict(Xt))
    if hasattr(est, "decision_function"):
        scores = np.asarray(est.decision_function(Xt), dtype=np.float64)
    else:
        scores = np.asarray(est.predict_proba(Xt), dtype=np.float64)
    if scores.ndim == 1:  # binary decision function: score of class 1
        scores = np.stack([-scores, scores], 1)
    classes = np.asarray(est.classes_)
    full = np.full((len(yt), test.n_classes), -np.inf)
    full[:, classes] = scores
    margin = _margin(full, yt)
    seconds = time.perf_counter() - start
    details["seconds"] = seconds
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, pred=pred, margin=margin, n_train=len(ys), details=json.dumps(details))
    return Classical(label, pred, pred == yt, margin, seconds, len(ys), estimator=est, details=details)
