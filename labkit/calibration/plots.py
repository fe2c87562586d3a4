"""Reliability diagrams: per confidence bin, the accuracy (bars) against the diagonal of perfect
calibration, with the gap to the mean confidence shaded and a histogram of the confidences."""
from __future__ import annotations

import numpy as np

from .metrics import Reliability


def plot_reliability(rel: Reliability, ax=None, title: str | None = None, show_counts: bool = True):
    """Draw a :class:`Reliability` (from :func:`reliability`) on ``ax``; returns the Axes.

    Bars: accuracy per bin. Red hatched: the gap between accuracy and the bin's mean confidence.
    Grey (lower strip): share of examples per bin. The legend gives the ECE.
    """
    import matplotlib.pyplot as plt

    if not isinstance(rel, Reliability):
        raise TypeError(f"rel must be a Reliability (lk.calibration.reliability(probs, y)), got {type(rel).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4.2))
    left, width = rel.edges[:-1], np.diff(rel.edges)
    full = rel.count > 0
    acc = np.where(full, rel.accuracy, 0.0)
    conf = np.where(full, rel.confidence, 0.0)
    ax.bar(left, acc, width=width, align="edge", color="C0", edgecolor="white", label="accuracy")
    ax.bar(left[full], (conf - acc)[full], bottom=acc[full], width=width[full], align="edge", color="none",
           edgecolor="C3", hatch="//", lw=0.8, label="gap to confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    if show_counts:
        share = rel.count / max(rel.n, 1)
        ax.bar(left, 0.15 * share / max(share.max(), 1e-12), width=width, align="edge", color="0.6", alpha=0.6,
               label="share of examples (scaled)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top-label probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or "reliability diagram")
    ax.text(0.04, 0.93, f"ECE = {100 * rel.ece:.2f} %", transform=ax.transAxes, fontsize=9,
            bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    ax.legend(loc="lower right", fontsize=7)
    return ax
