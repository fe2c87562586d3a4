"""Plots of the lecture's results: they take the plain results of the analyses and draw them."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_sparsity_curves", "plot_times", "plot_conv_dense", "plot_dead_units"]


def _ax(ax, size=(6, 4)):
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def plot_sparsity_curves(curves: dict, dense: float | None = None, ax=None, key: str = "after"):
    """Accuracy against sparsity, one line per ``{label: rows}`` (rows from the experiments)."""
    ax = _ax(ax)
    for label, rows in curves.items():
        ax.plot([100 * r["sparsity"] for r in rows], [r[key] for r in rows], "o-", label=label)
    if dense is not None:
        ax.axhline(dense, color="k", lw=0.8, ls="--", label="dense")
        ax.axhspan(dense - 0.01, dense, color="k", alpha=0.08, label="within 1 point")
    ax.set_xlabel("weights removed (%)")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8)
    return ax


def plot_times(rows: list, ax=None):
    """Time of W @ X against sparsity for each way of storing W (rows from ``matmul_times``)."""
    ax = _ax(ax)
    s = [100 * r["sparsity"] for r in rows]
    for k in ("dense", "torch csr", "scipy csr", "channel-pruned dense"):
        ax.plot(s, [1e3 * r[f"{k} s"] for r in rows], "o-", label=k)
    ax.set_yscale("log")
    ax.set_xlabel("sparsity (%)")
    ax.set_ylabel("ms per product")
    ax.legend(fontsize=8)
    return ax


def plot_conv_dense(W, ax=None, title: str = ""):
    """The dense matrix of a conv: zeros white, nonzeros coloured by value."""
    ax = _ax(ax, (5, 4))
    W = np.asarray(W.detach().cpu() if hasattr(W, "detach") else W)
    shown = np.where(W == 0, np.nan, W)
    lim = np.nanmax(np.abs(shown)) if np.isfinite(shown).any() else 1.0
    ax.imshow(shown, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    ax.set_xlabel("input entry")
    ax.set_ylabel("output entry")
    ax.set_title(title or f"dense matrix {W.shape[0]}x{W.shape[1]}")
    return ax


def plot_dead_units(rows: list, x: str = "lr", label: str = "", ax=None, log: bool = True):
    """Share of dead units against ``x`` (rows from ``dying_relu_run``)."""
    ax = _ax(ax)
    ax.plot([r[x] for r in rows], [r["dead"] for r in rows], "o-", label=label or None)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel("dead units (share)")
    if label:
        ax.legend(fontsize=8)
    return ax
