"""The lecture's widget: a sparsity slider over a trained model (accuracy, remaining weights and the
pruned weight matrix): pure logic (:func:`pruning_view`), its figure (:func:`render_pruning`) and a
thin wrapper (:func:`pruning_widget`)."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from ..training import evaluate
from ..validation import check_fraction
from ..viz.images import fig_to_png
from .pruning import apply_masks, global_magnitude_masks

__all__ = ["PruningView", "pruning_view", "render_pruning", "pruning_widget"]


@dataclass
class PruningView:
    """What the widget shows at one sparsity: the pruned model's accuracy, how many weights are
    left, and the first rows of one layer's pruned weights (0 where pruned)."""

    amount: float
    accuracy: float
    remaining: int
    total: int
    layer: str
    weights: np.ndarray = field(repr=False)  # [rows, inputs]

    def summary(self) -> str:
        share = float((self.weights != 0).mean())
        return (f"sparsity <b>{self.amount:.0%}</b>: accuracy <b>{self.accuracy:.3f}</b> without fine-tuning, "
                f"{self.remaining:,} of {self.total:,} weights left ({share:.0%} of the rows shown)")


def pruning_view(model, test, amount: float, layer: str | None = None, rows: int = 64) -> PruningView:
    """Prune a copy of ``model`` globally to ``amount`` (no fine-tuning) and evaluate it on ``test``;
    ``layer`` is the parameter whose weights are kept for the picture (default the first)."""
    amount = check_fraction(amount, "amount", 0.0, 1.0, inclusive_high=False)
    masks = global_magnitude_masks(model, amount)
    layer = layer or next(iter(masks))
    if layer not in masks:
        raise ValueError(f"layer must be one of {list(masks)}, got {layer!r}")
    pruned = apply_masks(copy.deepcopy(model), masks)
    kept = int(sum(m.sum().item() for m in masks.values()))
    total = sum(m.numel() for m in masks.values())
    W = dict(pruned.named_parameters())[layer].detach().cpu().flatten(1).numpy()[:rows]
    return PruningView(float(amount), evaluate(pruned, test).accuracy, kept, total, layer, W)


def render_pruning(view: PruningView):
    """The figure of a view: the layer's weights, pruned ones white."""
    shown = np.where(view.weights == 0, np.nan, view.weights)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    lim = np.nanmax(np.abs(shown)) if np.isfinite(shown).any() else 1.0
    ax.imshow(shown, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    ax.set_title(f"{view.layer}: first {len(shown)} rows, pruned weights white")
    ax.set_xlabel("input")
    ax.set_ylabel("unit")
    return fig


def pruning_widget(model, test, layer: str | None = None):
    """A slider from 0 to 99 % sparsity over :func:`pruning_view`."""
    import ipywidgets as w

    from ..viz.widgets import picture_widget

    slider = w.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="sparsity",
                           continuous_update=False, readout_format=".0%")

    def render(amount):
        view = pruning_view(model, test, amount, layer)
        return fig_to_png(render_pruning(view)), view.summary(), view

    return picture_widget({"amount": slider}, render, css_class="labkit-pruning")
