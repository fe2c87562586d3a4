"""Calibrating an already fitted scikit-learn classifier with scikit-learn's own tools.

``CalibratedClassifierCV`` fits a map from the model's scores to probabilities on a held-out
calibration split: ``"sigmoid"`` (Platt scaling, two parameters per class) or ``"isotonic"``
(a non-decreasing step function per class; needs more data). Multi-class models are calibrated
one class against the rest and the results renormalised. The fitted model itself is wrapped in
``FrozenEstimator`` (scikit-learn >= 1.6) so that it is not refitted; older versions use
``cv="prefit"``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV

from ..validation import check_features, check_labels, check_option

if TYPE_CHECKING:
    from sklearn.calibration import CalibrationDisplay

METHODS = ("sigmoid", "isotonic")


def frozen(model) -> tuple[BaseEstimator, str | None]:
    """``FrozenEstimator(model)`` and the ``cv`` argument to go with it (``None``), or, where
    scikit-learn has no FrozenEstimator (before 1.6), the model itself and ``cv="prefit"``."""
    try:
        from sklearn.frozen import FrozenEstimator
    except ImportError:  # scikit-learn < 1.6
        return model, "prefit"
    return FrozenEstimator(model), None


def calibrate_classical(model, X_cal, y_cal, method: str = "sigmoid") -> CalibratedClassifierCV:
    """Calibrate the fitted classifier ``model`` on a held-out split (X_cal [N, D], y_cal [N]).

    Returns the fitted ``CalibratedClassifierCV``; its ``predict_proba`` gives calibrated
    probabilities and its ``predict`` may differ slightly from the model's (the calibrated
    probabilities are renormalised across classes).
    """
    check_option(method, "method", METHODS)
    if not hasattr(model, "predict_proba") and not hasattr(model, "decision_function"):
        raise TypeError(f"model must be a fitted scikit-learn classifier, got {type(model).__name__}")
    if not hasattr(model, "classes_"):
        raise ValueError("model is not fitted: call model.fit(X_train, y_train) first")
    X = check_features(X_cal, "X_cal", max_dim=2).numpy()
    y = check_labels(y_cal, n=X.shape[0], name="y_cal").numpy()
    missing = np.setdiff1d(model.classes_, np.unique(y))
    if len(missing):
        raise ValueError(f"the calibration split has no examples of class(es) {missing.tolist()}; "
                         "use a larger, stratified split")
    estimator, cv = frozen(model)
    kwargs = {"cv": cv} if cv is not None else {}
    return CalibratedClassifierCV(estimator, method=method, **kwargs).fit(X, y)


def top_label_display(probs, y, n_bins: int = 15, name: str | None = None, ax=None,
                      strategy: str = "uniform") -> CalibrationDisplay:
    """scikit-learn's ``CalibrationDisplay`` (binary only) for the top label of a multi-class model:
    is the predicted class right (1) or wrong (0), against its confidence."""
    from sklearn.calibration import CalibrationDisplay

    from .metrics import check_probs

    p = check_probs(probs)
    y = check_labels(y, n=p.shape[0], n_classes=p.shape[1]).numpy()
    correct = (p.argmax(1) == y).astype(int)
    return CalibrationDisplay.from_predictions(correct, p.max(1), n_bins=n_bins, name=name, ax=ax, strategy=strategy)
