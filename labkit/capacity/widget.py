"""The lecture's widget: the random-feature double-descent curve with sliders for label noise and
the ridge penalty: pure logic (:func:`double_descent_view`), its figure
(:func:`render_double_descent`) and a thin wrapper (:func:`double_descent_widget`)."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt

from ..viz.images import fig_to_png
from .double_descent import RFCurve, feature_sweep, peak_summary
from .plots import plot_double_descent

__all__ = ["DoubleDescentView", "double_descent_view", "render_double_descent", "double_descent_widget"]


@dataclass
class DoubleDescentView:
    """What the widget shows at one label noise and ridge penalty: the sweep and its peak."""

    label_noise: float
    ridge: float
    n_train: int
    curve: RFCurve
    peak: dict[str, float]  # peak_summary(curve)

    def summary(self) -> str:
        best = min(self.peak["left_min"], self.peak["right_min"])
        return (f"label noise <b>{self.label_noise:.0%}</b>, ridge <b>{self.ridge:g}</b>: test error "
                f"{self.peak['at_threshold']:.3f} at N = n = {self.n_train}, best {best:.3f} away from it")


def double_descent_view(train, test, label_noise: float, ridge: float, n_features, n_train: int = 500,
                        seeds=(0,)) -> DoubleDescentView:
    """One random-feature sweep (:func:`feature_sweep`) over ``n_features`` at this label noise and
    ridge penalty, and its :func:`peak_summary`."""
    curve = feature_sweep(train, test, n_features, n_train, seeds, label_noise=label_noise, ridge=ridge)
    return DoubleDescentView(float(label_noise), float(ridge), n_train, curve, peak_summary(curve))


def render_double_descent(view: DoubleDescentView):
    """The figure of a view: test and training error against the number of features."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    plot_double_descent({f"noise {view.label_noise:.0%}, ridge {view.ridge:g}": view.curve}, view.n_train, ax=ax)
    ax.set_ylim(0, 1)
    return fig


def double_descent_widget(train, test, n_features, n_train: int = 500, seeds=(0,)):
    """Sliders for label noise (0–50 %) and the ridge penalty (0 and 1e-3 .. 1e2, log scale)."""
    import ipywidgets as w

    from ..viz.widgets import picture_widget

    noise = w.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05, description="label noise",
                          continuous_update=False, readout_format=".0%")
    ridge = w.SelectionSlider(options=[0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0], value=0.0, description="ridge",
                              continuous_update=False)

    def render(label_noise, ridge):
        view = double_descent_view(train, test, label_noise, ridge, n_features, n_train, seeds)
        return fig_to_png(render_double_descent(view)), view.summary(), view

    return picture_widget({"label_noise": noise, "ridge": ridge}, render, css_class="labkit-double-descent")
