"""Positive-unlabelled learning (lecture L4, section 3; Elkan & Noto, KDD 2008).

* :class:`ElkanNotoClassifier` — a scikit-learn estimator: ``fit(X, s)`` with s = 1 for labelled
  positives and 0 for unlabelled, ``c_`` (and ``c_estimates_`` e1, e2, e3), ``predict_proba``
  p(y = 1 | x) = g(x) / c clipped to [0, 1];
* data: :func:`gaussian_classes` (a :class:`GaussianClasses`), :func:`label_scar` (selected
  completely at random), :func:`label_by_x` (labelling that depends on x);
* experiments: :func:`c_sweep` (a :class:`CSweep`), :func:`naive_vs_corrected` (a
  :class:`NaiveVsCorrected`); helpers :func:`near_copies`, :func:`spline_logistic`.

    >>> from labkit import pu
    >>> data = pu.gaussian_classes(4000, separation=6.0)
    >>> model = pu.ElkanNotoClassifier(pu.spline_logistic(), hold_out=0.2, random_state=0)
    >>> model.fit(data.X, pu.label_scar(data.y, c=0.5)).c_      # close to 0.5
"""
from .data import GaussianClasses, gaussian_classes, label_by_x, label_scar
from .elkan_noto import ElkanNotoClassifier, c_estimates, check_pu_labels
from .experiments import CSweep, NaiveVsCorrected, c_sweep, naive_vs_corrected, near_copies, spline_logistic

__all__ = ["ElkanNotoClassifier", "c_estimates", "check_pu_labels", "GaussianClasses", "gaussian_classes",
           "label_by_x", "label_scar", "CSweep", "NaiveVsCorrected", "c_sweep", "naive_vs_corrected", "near_copies",
           "spline_logistic"]
