"""The lecture's widget: a sparsity slider over a trained model (accuracy, remaining weights and the
pruned weight matrix), a pure function :func:`pruning_view` wrapped by ``lk.viz.picture_widget``."""
from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np

from ..training import evaluate
from ..validation import check_fraction
from ..viz.images import fig_to_png
from .pruning import apply_masks, global_magnitude_masks

__all__ = ["pruning_view", "pruning_widget"]


def pruning_view(model, test, amount: float, layer: str | None = None, rows: int = 64) -> tuple:
    """Prune a copy of ``model`` globally to ``amount`` (no fine-tuning) and draw one layer's weights.

    Returns ``(png, summary_html, view)``; ``view`` holds ``accuracy``, ``remaining`` (weights kept),
    ``total`` and ``layer`` (the parameter drawn, default the first). Pruned weights are white.
    """
    amount = check_fraction(amount, "amount", 0.0, 1.0, inclusive_high=False)
    masks = global_magnitude_masks(model, amount)
    layer = layer or next(iter(masks))
    if layer not in masks:
        raise ValueError(f"layer must be one of {list(masks)}, got {layer!r}")
    pruned = apply_masks(copy.deepcopy(model), masks)
    acc = evaluate(pruned, test).accuracy
    kept = int(sum(m.sum().item() for m in masks.values()))
    total = sum(m.numel() for m in masks.values())
    W = dict(pruned.named_parameters())[layer].detach().cpu().flatten(1).numpy()[:rows]
    shown = np.where(W == 0, np.nan, W)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    lim = np.nanmax(np.abs(shown)) if np.isfinite(shown).any() else 1.0
    ax.imshow(shown, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    ax.set_title(f"{layer}: first {W.shape[0]} rows, pruned weights white")
    ax.set_xlabel("input")
    ax.set_ylabel("unit")
    layer_share = float((W != 0).mean())
    html = (f"sparsity <b>{amount:.0%}</b>: accuracy <b>{acc:.3f}</b> without fine-tuning, "
            f"{kept:,} of {total:,} weights left ({layer_share:.0%} of the rows shown)")
    return fig_to_png(fig), html, {"accuracy": acc, "remaining": kept, "total": total, "layer": layer}


def pruning_widget(model, test, layer: str | None = None):
    """A slider from 0 to 99 % sparsity over :func:`pruning_view`."""
    import ipywidgets as w

    from ..viz.widgets import picture_widget

    slider = w.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="sparsity",
                           continuous_update=False, readout_format=".0%")
    return picture_widget({"amount": slider}, lambda amount: pruning_view(model, test, amount, layer),
                          css_class="labkit-pruning")
