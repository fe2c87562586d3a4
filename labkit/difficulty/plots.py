"""Figures of L2: score correlations, seed agreement, the data diet, prediction depths, images."""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd
import torch

from ..data.core import Data
from .agreement import SeedAgreement
from .diet import DataDiet

if TYPE_CHECKING:
    from .tracking import DifficultyScores


def plot_correlations(corr: pd.DataFrame, ax=None, title: str = "Spearman correlation between scores"):
    """A heat map of a score correlation matrix with its values written in."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.4))
    im = ax.imshow(corr.values, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(corr)), corr.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(corr)), corr.index)
    for i in range(len(corr)):
        for j in range(len(corr)):
            ax.text(j, i, f"{corr.values[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(corr.values[i, j]) > 0.6 else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title)
    return ax


def plot_seed_agreement(curves: Mapping[str, SeedAgreement | pd.DataFrame], ax=None):
    """Spearman correlation with an independent reference against the number of runs averaged;
    ``curves`` maps a score name to a :class:`SeedAgreement` (or its ``table()``)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    for name, curve in curves.items():
        df = curve.table() if isinstance(curve, SeedAgreement) else curve
        ax.errorbar(df["runs_averaged"], df["spearman_mean"], yerr=df["spearman_std"], marker="o",
                    capsize=3, label=name)
    ax.set(xlabel="runs averaged", ylabel="rank correlation with reference", title="Seed sensitivity")
    ax.legend(fontsize=8)
    return ax


def plot_data_diet(diet: DataDiet | pd.DataFrame, ax=None, title: str = "Data diet"):
    """Test accuracy against the fraction of the training set kept, one line per strategy;
    ``diet`` is a :class:`DataDiet` (or its ``table()``)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    df = diet.table() if isinstance(diet, DataDiet) else diet
    full = df[df.strategy == "all"]
    for strategy, part in df[df.strategy != "all"].groupby("strategy", sort=False):
        part = pd.concat([part, full]).sort_values("kept")
        ax.errorbar(part["kept"], part["accuracy"], yerr=part["accuracy_std"], marker="o", capsize=3,
                    label=strategy)
    ax.set(xlabel="fraction of training set kept", ylabel="test accuracy", title=title)
    ax.legend(fontsize=8)
    return ax


def plot_depth(scores: DifficultyScores, ax=None):
    """Histogram of (seed-averaged, rounded) prediction depths on the training set and, if
    computed, on the extra split; proportions so different sizes compare."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    L = scores.n_layers
    bins = np.arange(L + 2) - 0.5
    ax.hist(scores.per_seed["depth"].ravel(), bins=bins, density=True, alpha=0.6, label="training split")
    if scores.depth_val is not None:
        ax.hist(scores.depth_val.ravel(), bins=bins, density=True, alpha=0.6, label="validation split")
    ax.set(xlabel="prediction depth (0 = input layer)", ylabel="fraction of examples",
           xticks=range(L + 1), title="Prediction depth")
    ax.legend(fontsize=8)
    return ax


def show_examples(data: Data, index, values=None, value_name: str = "", ncols: int = 8, title: str | None = None,
                  predicted=None):
    """Images of the examples at ``index`` titled with their given label (and a value, a
    predicted label); red titles mark examples whose label was flipped (``meta['flipped']``)."""
    from ..viz import show_images
    index = np.array(index, dtype=int).reshape(-1)
    if len(index) == 0:
        raise ValueError("no examples to show")
    flipped = data.meta.get("flipped")
    titles, colours = [], []
    for j, i in enumerate(index):
        t = f"y={data.classes[int(data.y[i])]}"
        if predicted is not None:
            t += f" p={data.classes[int(predicted[j])]}"
        if values is not None:
            t += f"\n{value_name}{float(values[j]):.2f}"
        titles.append(t)
        colours.append("red" if flipped is not None and bool(flipped[i]) else "black")
    return show_images(data.X[torch.as_tensor(index)].cpu(), titles=titles, ncols=ncols, title=title,
                       title_colors=colours)
