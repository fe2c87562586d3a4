"""Figures of the lecture: each takes the results of an analysis, draws on ``ax`` (a new figure
when None) and returns the axis (the axes, for a figure of several panels)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_double_descent", "plot_width_sweep", "plot_subspace", "plot_layer_robustness"]


def plot_double_descent(curves: dict, threshold: int | None = None, ax=None, xlabel: str = "number of features N",
                        train: bool = True, metric: str = "error"):
    """Mean test error (solid) and training error (dotted) of each :class:`RFCurve` in ``curves``
    (label -> curve) against its sizes, log x-axis, with the threshold marked. ``metric="mse"``
    draws the test squared error of the one-hot fit instead (log y-axis; the loss the fit
    minimises), without the training curve."""
    if metric not in ("error", "mse"):
        raise ValueError(f"metric must be 'error' or 'mse', got {metric!r}")
    ax = ax if ax is not None else plt.subplots(figsize=(7, 4))[1]
    for i, (label, c) in enumerate(curves.items()):
        colour = f"C{i}"
        if metric == "mse":
            ax.plot(c.sizes, c.test_mse.mean(0), "o-", color=colour, ms=3, label=f"{label}: test")
            continue
        ax.plot(c.sizes, c.mean_test_error, "o-", color=colour, ms=3, label=f"{label}: test")
        if train:
            ax.plot(c.sizes, c.mean_train_error, ":", color=colour, label=f"{label}: train")
    if threshold:
        ax.axvline(threshold, color="k", lw=0.8, ls="--")
    ax.set_xscale("log")
    if metric == "mse":
        ax.set_yscale("log")
    if threshold:
        ax.text(threshold, ax.get_ylim()[1], " threshold", va="top", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("classification error" if metric == "error" else "test squared error (one-hot targets)")
    ax.legend(fontsize=7)
    return ax


def plot_width_sweep(sweep, ax=None):
    """Training and test error against the number of parameters of a :class:`WidthSweep`."""
    ax = ax if ax is not None else plt.subplots(figsize=(7, 4))[1]
    ax.plot(sweep.n_params, sweep.mean_test_error, "o-", label="test (clean labels)")
    ax.plot(sweep.n_params, sweep.mean_train_error, "s:", label="train (noisy labels)")
    for w, p, e in zip(sweep.widths, sweep.n_params, sweep.mean_test_error):
        ax.annotate(str(w), (p, e), textcoords="offset points", xytext=(0, 5), fontsize=7, ha="center")
    ax.axvline(sweep.n_train, color="k", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("parameters (width annotated; dashed: number of training examples)")
    ax.set_ylabel("error")
    ax.legend(fontsize=8)
    return ax


def plot_subspace(sweeps: dict, ax=None):
    """Accuracy against d for each :class:`SubspaceSweep` (label -> sweep), normalised by the full
    network's accuracy, with the 90 % line and each d_int90 marked."""
    ax = ax if ax is not None else plt.subplots(figsize=(7, 4))[1]
    for i, (label, s) in enumerate(sweeps.items()):
        rel = s.accuracy / s.full_accuracy.mean()
        ax.errorbar(s.dims, rel.mean(0), yerr=rel.std(0), fmt="o-", ms=3, color=f"C{i}", capsize=2,
                    label=f"{label} (D = {s.D:,}, {s.measured_on})")
        d90 = s.d_int90()
        if d90:
            ax.axvline(d90, color=f"C{i}", lw=0.8, ls=":")
    ax.axhline(0.9, color="k", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("subspace dimension d (dotted: d_int90)")
    ax.set_ylabel("accuracy / full network's")
    ax.legend(fontsize=7)
    return ax


def plot_layer_robustness(results: dict, ax=None):
    """One heatmap per :class:`LayerRobustness` (label -> result): accuracy after each reset, on the
    axes ``ax`` (one per result; a new row of them when None). Returns the axes."""
    if ax is None:
        ax = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.2), squeeze=False)[1][0]
    axes = np.atleast_1d(ax)
    if len(axes) != len(results):
        raise ValueError(f"ax has {len(axes)} axes for {len(results)} results; pass one axis per result")
    fig = axes[0].figure
    for ax, (label, r) in zip(axes, results.items()):
        values = r.accuracy.to_numpy()
        im = ax.imshow(values, vmin=r.chance, vmax=r.trained, cmap="viridis", aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w" if v < (r.chance + r.trained) / 2 else "k")
        ax.set_xticks(range(values.shape[1]), r.accuracy.columns)
        ax.set_yticks(range(values.shape[0]), r.accuracy.index)
        ax.set_title(f"{label}: trained {r.trained:.2f}", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    return axes
