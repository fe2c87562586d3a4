"""Plots of the lecture's results: they take the results of the analyses and draw them."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..results import Result

__all__ = ["plot_sparsity_curves", "plot_times", "plot_conv_dense", "plot_dead_units"]


def _ax(ax, size=(6, 4)):
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def _frame(rows) -> pd.DataFrame:
    """A result's table, a DataFrame as it is, or the tables of several results one after another."""
    if isinstance(rows, Result):
        return rows.table()
    if isinstance(rows, pd.DataFrame):
        return rows
    return pd.concat([r.table() for r in rows], ignore_index=True)


def plot_sparsity_curves(curves: dict, dense: float | None = None, ax=None, key: str = "after"):
    """Accuracy ``key`` against sparsity, one line per ``{label: curve}``: a :class:`PruningCurve`,
    a :class:`ChannelCurve` or a DataFrame with columns ``sparsity`` and ``key``."""
    ax = _ax(ax)
    for label, curve in curves.items():
        rows = _frame(curve)
        ax.plot(100 * rows["sparsity"], rows[key], "o-", label=label)
    if dense is not None:
        ax.axhline(dense, color="k", lw=0.8, ls="--", label="dense")
        ax.axhspan(dense - 0.01, dense, color="k", alpha=0.08, label="within 1 point")
    ax.set_xlabel("weights removed (%)")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8)
    return ax


def plot_times(times, ax=None):
    """Time of W @ X against sparsity for each way of storing W (a :class:`MatmulTimes`)."""
    ax = _ax(ax)
    rows = _frame(times)
    for k in ("dense", "torch csr", "scipy csr", "channel-pruned dense"):
        ax.plot(100 * rows["sparsity"], 1e3 * rows[f"{k} s"], "o-", label=k)
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


def plot_dead_units(runs, x: str = "lr", label: str = "", ax=None, log: bool = True):
    """Share of dead units against ``x``: ``runs`` is a list of :class:`DyingReluRun` or a DataFrame
    with columns ``x`` and ``dead`` (their tables, or means of them by setting)."""
    ax = _ax(ax)
    rows = _frame(runs)
    ax.plot(rows[x], rows["dead"], "o-", label=label or None)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel("dead units (share)")
    if label:
        ax.legend(fontsize=8)
    return ax
