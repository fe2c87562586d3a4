"""The two-moons pictures: a fitted model's boundary with the few labelled points on top."""
from __future__ import annotations

import numpy as np

from .assumptions import UNLABELLED


def plot_boundary(model, X, y_partial, ax=None, title: str = "", grid: int = 120):
    """Shade ``model.predict`` over the plane, draw the unlabelled points in grey and the
    labelled ones in their class colour."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(4, 3.5))[1]
    X, y_partial = np.asarray(X), np.asarray(y_partial)
    lo, hi = X.min(0) - 0.5, X.max(0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    z = model.predict(np.c_[gx.ravel(), gy.ravel()]).reshape(gx.shape)
    ax.contourf(gx, gy, z, levels=[-0.5, 0.5, 1.5], colors=["tab:blue", "tab:red"], alpha=0.2)
    ax.scatter(X[:, 0], X[:, 1], c="lightgrey", s=6)
    lab = y_partial != UNLABELLED
    ax.scatter(X[lab, 0], X[lab, 1], c=np.where(y_partial[lab] == 1, "tab:red", "tab:blue"), s=60, edgecolors="k")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


__all__ = ["plot_boundary"]
