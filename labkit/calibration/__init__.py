"""Are predicted probabilities real probabilities? (lecture L5)

A classifier is *calibrated* when, among the examples to which it gives confidence c, a fraction c
is classified correctly. Measuring it, on probabilities ``probs`` [N, K] and labels ``y`` [N]:

* :func:`ece` — top-label expected calibration error with 15 equal-width bins (Guo et al., arXiv
  1706.04599), or equal-mass bins (``strategy="quantile"``); :func:`reliability` gives the data of
  the reliability diagram and :func:`plot_reliability` draws it;
* :func:`classwise_ece`, :func:`nll`, :func:`brier_score`, :func:`calibration_report`, and
  :func:`report_per_seed` for the networks of several seeds at once (a :class:`CalibrationReports`,
  one row per seed in its ``table()``).

Fixing it:

* :class:`TemperatureScaling` — ``fit(val_logits, val_y)`` finds one temperature T by minimising the
  validation NLL; ``predict_proba(logits)`` = softmax(logits / T); the argmax never changes;
* :func:`focal_loss` and :func:`flsd53` (Mukhoti et al., arXiv 2002.09437) — per-example losses
  for ``lk.fit(model, train, loss=flsd53())``;
* :func:`calibrate_classical` — scikit-learn's ``CalibratedClassifierCV`` (sigmoid or isotonic) on a
  fitted model, wrapped in ``FrozenEstimator``; :func:`top_label_display` — ``CalibrationDisplay``
  for the top label.

ECE as an estimate (:func:`calibrated_sample`, a :class:`CalibratedSample`; :func:`ece_of_calibrated`,
a :class:`CalibratedECE`), the chess example (:func:`chess_positions`, a :class:`ChessPositions`;
:func:`chess_models`) and the temperature widget
(:func:`temperature_view`, :func:`temperature_widget`) complete the lecture. Typical use::

    >>> from labkit import calibration as cal
    >>> ts = cal.TemperatureScaling().fit(lk.predict_logits(model, val.X), val.y)
    >>> cal.ece(ts.predict_proba(lk.predict_logits(model, test.X)), test.y)
"""
from .chess import OUTCOMES, ChessPositions, chess_models, chess_positions, expected_score
from .classical import calibrate_classical, frozen, top_label_display
from .estimate import CalibratedECE, CalibratedSample, calibrated_sample, ece_floor, ece_of_calibrated
from .losses import FocalLoss, flsd53, focal_loss
from .metrics import (
    CalibrationReports,
    Reliability,
    assign_bins,
    bin_edges,
    brier_score,
    calibration_report,
    check_probs,
    classwise_ece,
    ece,
    nll,
    reliability,
    report_per_seed,
)
from .plots import plot_reliability
from .temperature import TemperatureScaling, check_logits, scaled_proba
from .widget import TemperatureView, render_temperature, temperature_view, temperature_widget

__all__ = ["OUTCOMES", "CalibratedECE", "CalibratedSample", "CalibrationReports", "ChessPositions", "FocalLoss",
           "Reliability", "TemperatureScaling", "TemperatureView", "assign_bins",
           "bin_edges", "brier_score", "calibrate_classical", "calibrated_sample", "calibration_report",
           "check_logits", "check_probs", "chess_models", "chess_positions", "classwise_ece", "ece", "ece_floor",
           "ece_of_calibrated", "expected_score", "flsd53", "focal_loss", "frozen", "nll", "plot_reliability",
           "reliability", "render_temperature", "report_per_seed", "scaled_proba", "temperature_view", "temperature_widget",
           "top_label_display"]
