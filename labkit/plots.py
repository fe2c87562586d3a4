"""Plots shared by all lectures. Each takes results (tensors, arrays, History) and returns the
matplotlib Axes or Figure it drew on, so notebooks can add to it."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch


def _to_hwc(img) -> np.ndarray:
    img = torch.as_tensor(img).detach().cpu().float()
    if img.dim() == 3:
        img = img.permute(1, 2, 0)
        if img.shape[2] == 1:
            img = img[:, :, 0]
    return img.clamp(0, 1).numpy()


def show_images(X, titles=None, ncols: int = 8, size: float = 1.4, title: str | None = None,
                title_colors=None):
    """A grid of images X [N, C, H, W] (or [N, H, W]) with optional per-image titles."""
    X = torch.as_tensor(X)
    n = len(X)
    if n == 0:
        raise ValueError("no images to show")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_to_hwc(X[i]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            if titles is not None:
                color = title_colors[i] if title_colors is not None else "black"
                ax.set_title(str(titles[i]), fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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
