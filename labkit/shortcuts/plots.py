"""Figures of L1: the taxonomy of rules, stars and moons, the cue sweep, the localization bars."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..results import Result
from .injected import ShortcutSweep
from .localization import Localization
from .stars_moons import ARCHITECTURES


def plot_rule_taxonomy(ax=None):
    """The nested sets of decision rules (after Geirhos et al., 2020, Fig. 3)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    sets = [("all possible decision rules", 6.2, 3.4, "#e8e8e8"),
            ("rules that solve the training set", 4.9, 2.6, "#c9dcf0"),
            ("... and the i.i.d. test set (shortcuts live here)", 3.6, 1.8, "#9cc3e6"),
            ("intended rule:\nalso solves o.o.d. tests", 1.6, 0.8, "#f2b45c")]
    for i, (label, w, h, colour) in enumerate(sets):
        cx = 0.35 * i
        ax.add_patch(Ellipse((cx, 0), w, h, facecolor=colour, edgecolor="k", lw=0.8))
        ax.text(cx - w / 2 + (0.25 if i < 3 else 0.8), h / 2 - 0.3 if i < 3 else 0, label,
                fontsize=8, va="center", ha="left" if i < 3 else "center")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-1.8, 1.8)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def plot_stars_moons(results, ax=None):
    """Grouped bars: train, i.i.d. and o.o.d. accuracy per architecture, chance at 0.5.

    ``results``: a list of :class:`StarsMoonsResult` (or of dicts with the columns of its
    ``table()``), or a DataFrame with one row per run (columns ``arch`` and the three accuracies,
    e.g. the tables of several seeds concatenated): bars are then the mean over runs and the
    whiskers their range.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    names = ["train_acc", "iid_acc", "ood_acc"]
    rows = results if isinstance(results, pd.DataFrame) else pd.concat(
        [r.table() if isinstance(r, Result) else pd.DataFrame([r]) for r in results], ignore_index=True)
    groups = list(rows.groupby("arch", sort=False))
    x = np.arange(len(names))
    width = 0.8 / max(1, len(groups))
    for i, (arch, g) in enumerate(groups):
        mean, lo, hi = g[names].mean(), g[names].min(), g[names].max()
        err = np.vstack([mean - lo, hi - mean]) if len(g) > 1 else None
        bars = ax.bar(x + (i - (len(groups) - 1) / 2) * width, mean, width, yerr=err, capsize=3,
                      label=ARCHITECTURES.get(arch, arch) + (f" ({len(g)} seeds)" if len(g) > 1 else ""))
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=6 if len(g) > 1 else 0)
    ax.axhline(0.5, color="k", ls="--", lw=0.8, label="chance")
    ax.set_xticks(x, ["train", "i.i.d. test", "o.o.d. test"])
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8, loc="lower left")
    return ax


def plot_sweep(sweep: ShortcutSweep | pd.DataFrame, ax=None, label: str = ""):
    """Accuracy against the cue strength p: i.i.d., cue shuffled, cue removed (mean over seeds, the band
    their range). ``sweep`` is a :class:`ShortcutSweep` or its ``table()``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    rows = sweep.table() if isinstance(sweep, ShortcutSweep) else sweep
    by_p = rows.groupby("p")
    mean, lo, hi = by_p.mean(numeric_only=True), by_p.min(numeric_only=True), by_p.max(numeric_only=True)
    for col, name, style in [("iid_acc", "i.i.d. (cue as in training)", "o-"),
                             ("ood_shuffle_acc", "o.o.d.: cue shuffled", "s-"),
                             ("ood_remove_acc", "o.o.d.: cue removed", "^--")]:
        line, = ax.plot(mean.index, mean[col], style, label=f"{label} {name}".strip())
        ax.fill_between(mean.index, lo[col], hi[col], color=line.get_color(), alpha=0.15, lw=0)
    ax.set_xlabel("cue strength p (share of training images whose cue gives the label)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    return ax


def plot_localization(loc: Localization, ax=None, title: str | None = None):
    """Per-block bars of spurious encoding and core forgetting, plus the interaction remainder."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.5))
    t = loc.attribution.drop(index="total drop")
    x = np.arange(len(t))
    ax.bar(x - 0.2, t["spurious_encoding"], 0.4, label="spurious encoding (only this block skewed)")
    ax.bar(x + 0.2, t["core_forgetting"], 0.4, label="core forgetting (only this block clean)")
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(len(t) - 1.5, color="grey", ls=":", lw=0.8)
    ax.set_xticks(x, list(t.index))
    ax.set_ylabel("clean-test accuracy points")
    ax.set_title(title or f"total drop {loc.total_drop:.2f} = sum of each colour's bars", fontsize=9)
    ax.legend(fontsize=8)
    return ax
