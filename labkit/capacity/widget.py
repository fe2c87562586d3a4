"""The lecture's widget: the random-feature double-descent curve with sliders for label noise and
the ridge penalty, a pure function :func:`double_descent_view` wrapped by ``lk.viz.picture_widget``."""
from __future__ import annotations

import matplotlib.pyplot as plt

from ..viz.images import fig_to_png
from .double_descent import feature_sweep, peak_summary
from .plots import plot_double_descent

__all__ = ["double_descent_view", "double_descent_widget"]


def double_descent_view(train, test, label_noise: float, ridge: float, n_features, n_train: int = 500,
                        seeds=(0,)) -> tuple:
    """One random-feature sweep (:func:`feature_sweep`) drawn next to the noiseless minimum-norm one.

    Returns ``(png, summary_html, view)``; ``view`` holds the ``curve``, its ``peak``
    (:func:`peak_summary`), ``label_noise`` and ``ridge``.
    """
    curve = feature_sweep(train, test, n_features, n_train, seeds, label_noise=label_noise, ridge=ridge)
    peak = peak_summary(curve)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    plot_double_descent({f"noise {label_noise:.0%}, ridge {ridge:g}": curve}, n_train, ax=ax)
    ax.set_ylim(0, 1)
    html = (f"label noise <b>{label_noise:.0%}</b>, ridge <b>{ridge:g}</b>: test error {peak['at_threshold']:.3f} "
            f"at N = n = {n_train}, best {min(peak['left_min'], peak['right_min']):.3f} away from it")
    return fig_to_png(fig), html, {"curve": curve, "peak": peak, "label_noise": label_noise, "ridge": ridge}


def double_descent_widget(train, test, n_features, n_train: int = 500, seeds=(0,)):
    """Sliders for label noise (0–50 %) and the ridge penalty (0 and 1e-3 .. 1e2, log scale)."""
    import ipywidgets as w

    from ..viz.widgets import picture_widget

    noise = w.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05, description="label noise",
                          continuous_update=False, readout_format=".0%")
    ridge = w.SelectionSlider(options=[0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0], value=0.0, description="ridge",
                              continuous_update=False)
    return picture_widget({"label_noise": noise, "ridge": ridge},
                          lambda label_noise, ridge: double_descent_view(train, test, label_noise, ridge, n_features,
                                                                         n_train, seeds),
                          css_class="labkit-double-descent")
