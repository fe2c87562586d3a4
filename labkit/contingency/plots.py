"""Figures of L3: R+- and the accuracies over training steps (log scale, epochs on top)."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .run import Curves, alternative_shapes


def _step_axis(ax, curves: Curves, show_schedule: bool = True):
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("symlog", linthresh=1.0, linscale=0.3)
    ax.set_xlim(0, max(int(curves.steps[-1]), 1) * 1.05)
    ax.set_xlabel("training step (log scale)")
    spe = curves.steps_per_epoch
    top = ax.secondary_xaxis("top", functions=(lambda s: np.asarray(s) / spe, lambda e: np.asarray(e) * spe))
    top.set_xscale("symlog", linthresh=1.0 / spe, linscale=0.3)  # the same symlog, in epochs: aligned ticks
    top.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    top.set_xlabel("epoch")
    if show_schedule:
        ax.plot(curves.steps, np.zeros_like(curves.steps, dtype=float), "|", color="0.5", ms=6,
                transform=ax.get_xaxis_transform(), clip_on=False)
        if curves.dense_steps:
            ax.axvspan(0, curves.dense_steps, color="0.93", zorder=0)
            ax.text(0.01, 0.03, f"recorded: every step to {curves.dense_steps}, then log-spaced "
                    f"({len(curves.steps)} steps in all, ticks)", transform=ax.transAxes, fontsize=7, color="0.35")
    return top


def plot_ratio(curves, ax=None, alternatives: bool = True, show_schedule: bool = True, title: str | None = None):
    """R+- against training steps (log scale; epochs on the top axis), with the peak marked and, if
    ``alternatives``, the two shapes that would have meant "no preference" or "no peak".
    ``curves`` is one :class:`Curves` or a dict label -> Curves drawn on the same axes."""
    import matplotlib.pyplot as plt

    many = curves if isinstance(curves, Mapping) else {curves.m_name: curves}
    if not many:
        raise ValueError("no curves to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    first = next(iter(many.values()))
    for k, (label, c) in enumerate(many.items()):
        r = c.rates.r_pm
        ax.plot(c.steps, r, "-", color=f"C{k}", lw=1.6, label=f"{label}")
        s = c.summary()
        if np.isfinite(s["peak"]):
            ax.plot([s["peak_step"]], [s["peak"]], "o", color=f"C{k}", ms=5)
    if alternatives:
        alt = alternative_shapes(first)
        ax.plot(first.steps, alt["flat at 1"], "--", color="0.3", lw=1, label="did not happen: flat at 1")
        ax.plot(first.steps, alt["steady rise"], ":", color="0.3", lw=1.4,
                label="did not happen: steady rise, no peak" + (f" ({first.m_name})" if len(many) > 1 else ""))
    _step_axis(ax, first, show_schedule)
    ax.set_ylabel("R± = R+ / R−")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_rates(curves: Curves, ax=None, title: str | None = None):
    """R+ (D's accuracy on M-correct), R- (on M-incorrect) and D's overall accuracy over steps,
    with M's accuracy as a horizontal line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    r = curves.rates
    ax.plot(curves.steps, r.r_plus, color="C2", label="R+  (D's accuracy where M is right)")
    ax.plot(curves.steps, r.acc_d, color="k", lw=1.2, label="acc(D)  (all test examples)")
    ax.plot(curves.steps, r.r_minus, color="C3", label="R−  (D's accuracy where M is wrong)")
    ax.axhline(r.acc_m[-1], color="0.5", ls="--", lw=1, label=f"acc(M) = {r.acc_m[-1]:.3f}")
    _step_axis(ax, curves, show_schedule=True)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_schedule(runs: Mapping, ax=None):
    """When each tracked run recorded: one row per run (label -> :class:`ContingencyRun`), a tick per
    recorded step on a log axis, the every-step window shaded, and the step of R+-'s highest point
    for each M of the run marked, so one can see whether every peak lies inside the window."""
    import matplotlib.pyplot as plt

    if not runs:
        raise ValueError("no runs to plot: give a dict label -> ContingencyRun")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.7 + 0.55 * len(runs)))
    markers = "ovs^Dp"
    seen = set()
    for row, run in enumerate(runs.values()):
        y = len(runs) - 1 - row
        ax.fill_betweenx([y - 0.3, y + 0.3], 0, max(run.dense_steps, 0), color="0.9", zorder=0)
        ax.plot(run.steps, np.full(len(run.steps), y), "|", color="0.4", ms=9)
        for k, m in enumerate(sorted(run.m_correct)):
            s = run.curves(m).summary()
            name = f"R± peak, M = {m}"
            ax.plot([s["peak_step"]], [y + 0.2], markers[k % len(markers)], color=f"C{k}", ms=6,
                    label=None if name in seen else name)
            seen.add(name)
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.3)
    ax.set_yticks(range(len(runs)), list(runs)[::-1])
    ax.set_ylim(-0.6, len(runs) - 0.4)
    ax.set_xlabel("training step (log scale); grey: recorded at every step, ticks: recorded steps")
    ax.legend(fontsize=7, loc="lower right")
    return ax
