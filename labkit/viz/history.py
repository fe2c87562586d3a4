"""Training curves."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def plot_history(history, ax=None, label: str | None = None):
    """Training loss per step (smoothed) and validation accuracy per evaluation, against epochs."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    loss = history.loss.mean(1) if history.loss.ndim == 2 else history.loss
    k = max(1, len(loss) // 50)
    smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
    ax.plot(history.epochs[k - 1:], smooth, label=f"{label or ''} train loss".strip())
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if history.evals:
        ax2 = ax.twinx()
        ax2.plot([e["epoch"] for e in history.evals], [e["val_acc"] for e in history.evals], "o-",
                 color="C1", label=f"{label or ''} val acc".strip())
        ax2.set_ylabel("validation accuracy")
        ax2.set_ylim(0, 1)
    return ax
