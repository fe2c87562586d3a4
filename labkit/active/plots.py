"""Learning curves with the spread over seeds."""
from __future__ import annotations

from .curves import area_under_curve


def plot_learning_curves(run, ax=None, strategies=None, title: str = ""):
    """Mean test accuracy against labels for each strategy of an :class:`ActiveRun`, with a band
    of ± one standard deviation over seeds; the legend gives each curve's area (mean accuracy)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for a in strategies or run.strategies:
        acc = run.accuracy[run.strategies.index(a)]
        mean, std = acc.mean(0), acc.std(0)
        auc = area_under_curve(run.labels, acc).mean()
        line, = ax.plot(run.labels, mean, marker="o", ms=3, label=f"{a} (area {auc:.3f})")
        ax.fill_between(run.labels, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("labelled examples")
    ax.set_ylabel(f"test accuracy (mean ± std, {len(run.seeds)} seeds)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


__all__ = ["plot_learning_curves"]
