"""Image grids and figures as PNG bytes, shared by every lecture's plots and widgets."""
from __future__ import annotations

import io

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


def to_hwc(img) -> np.ndarray:
    """One image [C, H, W] (or [H, W]) as an array matplotlib can show, values clipped to [0, 1]."""
    return _to_hwc(img)


def fig_to_png(fig, dpi: int = 80, close: bool = True) -> bytes:
    """A matplotlib Figure as PNG bytes (for ipywidgets.Image); closes pyplot figures by default."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    if close:
        plt.close(fig)
    return buf.getvalue()
