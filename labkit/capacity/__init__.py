"""Capacity: why do huge networks generalise? (lecture L6).

* :mod:`.double_descent` — random ReLU features with the minimum-norm (pseudo-inverse, float64) or
  ridge fit; test error against the number of features N and against the number of examples n;
* :mod:`.width_sweep` — the deep version: a small network's error against its width;
* :mod:`.intrinsic` — :class:`SubspaceNet` (theta = theta0 + P theta_d through
  ``torch.func.functional_call``), the d sweep and d_int90 (arXiv 1804.08838);
* :mod:`.mimo` — M inputs, M heads, one network (arXiv 2010.06610), against one network and an
  ensemble; accuracy, NLL, disagreement (ECE: ``lk.calibration.ece`` on the probabilities);
* :mod:`.layers` — re-initialisation, checkpoint and re-randomisation of one block
  (arXiv 1902.01996);
* :mod:`.widget` — the double-descent curve with label-noise and ridge sliders.
"""
from .double_descent import (
    RFCurve,
    feature_sweep,
    min_norm_fit,
    peak_summary,
    predict_linear,
    random_relu_features,
    ridge_fit,
    sample_sweep,
)
from .intrinsic import SubspaceNet, SubspaceSweep, d_int90, random_projection, subspace_sweep
from .layers import RESETS, LayerRobustness, Snapshot, layer_robustness, reset_block
from .mimo import MIMONet, disagreement, ensemble_metrics, fit_mimo, mimo_proba, nll
from .plots import plot_double_descent, plot_layer_robustness, plot_subspace, plot_width_sweep
from .widget import DoubleDescentView, double_descent_view, double_descent_widget, render_double_descent
from .width_sweep import WidthSweep, width_sweep

__all__ = ["RFCurve", "feature_sweep", "min_norm_fit", "peak_summary", "predict_linear", "random_relu_features",
           "ridge_fit", "sample_sweep", "SubspaceNet", "SubspaceSweep", "d_int90", "random_projection",
           "subspace_sweep", "RESETS", "LayerRobustness", "Snapshot", "layer_robustness", "reset_block", "MIMONet",
           "disagreement", "ensemble_metrics", "fit_mimo", "mimo_proba", "nll", "plot_double_descent",
           "plot_layer_robustness", "plot_subspace", "plot_width_sweep", "DoubleDescentView", "double_descent_view",
           "render_double_descent", "double_descent_widget", "WidthSweep", "width_sweep"]
