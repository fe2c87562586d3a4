"""The temperature explorer: a slider for T redraws the reliability diagram of softmax(z / T).
:func:`temperature_view` is the pure logic; :func:`temperature_widget` a thin ipywidgets wrapper."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_labels, check_positive_int
from .metrics import Reliability, brier_score, nll, reliability
from .temperature import check_logits, scaled_proba


@dataclass
class TemperatureView:
    """What the widget shows at one temperature: the diagram's data and the scores."""

    temperature: float
    reliability: Reliability
    ece: float
    nll: float
    brier: float
    accuracy: float


def temperature_view(logits, y, temperature: float, n_bins: int = 15) -> TemperatureView:
    """Reliability diagram, ECE, NLL, Brier score and accuracy of softmax(logits / temperature)."""
    z = check_logits(logits)
    y = check_labels(y, n=z.shape[0], n_classes=z.shape[1]).numpy()
    n_bins = check_positive_int(n_bins, "n_bins")
    p = scaled_proba(z, float(temperature))
    rel = reliability(p, y, n_bins)
    return TemperatureView(float(temperature), rel, rel.ece, nll(p, y), brier_score(p, y), float(np.mean(p.argmax(1) == y)))


def render_temperature(view: TemperatureView, fitted: float | None = None):
    """The figure of a :class:`TemperatureView`."""
    import matplotlib.pyplot as plt

    from .plots import plot_reliability

    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    note = f" (fitted T = {fitted:.2f})" if fitted is not None else ""
    plot_reliability(view.reliability, ax=ax, title=f"T = {view.temperature:.2f}{note}")
    fig.tight_layout()
    return fig


def temperature_widget(logits, y, fitted: float | None = None, t_min: float = 0.25, t_max: float = 8.0,
                       n_bins: int = 15):
    """A log-scale slider for T; the picture is the reliability diagram of softmax(logits / T) and
    the status line gives ECE, NLL, Brier score and the (unchanging) accuracy."""
    import ipywidgets as w

    from ..viz import fig_to_png, picture_widget

    z = check_logits(logits)
    y = check_labels(y, n=z.shape[0], n_classes=z.shape[1]).numpy()
    if not 0 < t_min < t_max:
        raise ValueError(f"need 0 < t_min < t_max, got {t_min}, {t_max}")
    start = float(np.clip(1.0, t_min, t_max))
    slider = w.FloatLogSlider(value=start, base=10, min=np.log10(t_min), max=np.log10(t_max), step=0.02,
                              description="T", continuous_update=False, layout=w.Layout(width="420px"))

    def render(temperature):
        view = temperature_view(z, y, temperature, n_bins)
        fig = render_temperature(view, fitted)
        png = fig_to_png(fig)
        text = (f"T = {view.temperature:.2f}: ECE {100 * view.ece:.2f} %, NLL {view.nll:.3f}, "
                f"Brier {view.brier:.3f}, accuracy {100 * view.accuracy:.1f} % (the same at every T)")
        return png, text, view

    return picture_widget({"temperature": slider}, render, css_class="lk-temperature")
