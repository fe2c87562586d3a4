"""Experiment transforms: label noise that remembers what it flipped, and injected shortcuts."""
from __future__ import annotations

import colorsys

import numpy as np
import torch

from ..validation import check_fraction, check_option
from .core import Data

SHORTCUT_KINDS = ("patch", "colour", "location")


def add_label_noise(data: Data, rate: float, seed: int = 0) -> Data:
    """Flip a fraction ``rate`` of the labels to a different class chosen uniformly.

    Exactly ``round(rate * N)`` labels change. Returns a copy whose ``y`` holds the noisy labels
    and whose meta holds ``flipped`` (bool [N]) and ``clean_y`` (the original labels).
    """
    if not isinstance(data, Data):
        raise TypeError(f"data must be a labkit Data, got {type(data).__name__}")
    check_fraction(rate, "rate")
    if data.n_classes < 2:
        raise ValueError("label noise needs at least two classes")
    rng = np.random.default_rng(seed)
    n = len(data)
    y = data.y.cpu().numpy().copy()
    flip = rng.choice(n, size=int(round(rate * n)), replace=False)
    shift = rng.integers(1, data.n_classes, size=flip.size)  # never the original class
    y[flip] = (y[flip] + shift) % data.n_classes
    flipped = np.zeros(n, dtype=bool)
    flipped[flip] = True
    return data.with_labels(torch.from_numpy(y), flipped=torch.from_numpy(flipped).to(data.X.device),
                            clean_y=data.y.clone())


def class_colours(n_classes: int) -> torch.Tensor:
    """``n_classes`` well-separated RGB colours, shape [n_classes, 3]."""
    return torch.tensor([colorsys.hsv_to_rgb(k / n_classes, 0.9, 1.0) for k in range(n_classes)],
                        dtype=torch.float32)


def _patch_positions(h: int, w: int, patch: int) -> list:
    """Top-left corners of non-overlapping patch slots around the image border, clockwise."""
    top = [(0, c) for c in range(0, w - patch + 1, patch)]
    right = [(r, w - patch) for r in range(patch, h - patch + 1, patch)]
    bottom = [(h - patch, c) for c in range(w - 2 * patch, -1, -patch)]
    left = [(r, 0) for r in range(h - 2 * patch, patch - 1, -patch)]
    seen, out = set(), []
    for pos in top + right + bottom + left:
        if pos not in seen:
            seen.add(pos)
            out.append(pos)
    return out


def _location_offsets(h: int, w: int, n_classes: int) -> list:
    """``n_classes`` distinct (row, col) offsets of an h x w image inside a 2h x 2w canvas."""
    side = int(np.ceil(np.sqrt(n_classes)))
    rows = np.linspace(0, h, side).round().astype(int)
    cols = np.linspace(0, w, side).round().astype(int)
    return [(int(r), int(c)) for r in rows for c in cols][:n_classes]


def apply_cue(X: torch.Tensor, cue: torch.Tensor, kind: str, n_classes: int,
              patch_size: int | None = None) -> torch.Tensor:
    """Draw cue ``cue[i]`` (a class index, or -1 for no cue) onto each image of X [N, C, H, W].

    patch: a bright square in the border slot of that class; colour: the image tinted with that
    class's colour (output has 3 channels); location: the image pasted at that class's offset in a
    canvas twice as large (no cue: centred).
    """
    check_option(kind, "shortcut kind", SHORTCUT_KINDS)
    if X.dim() != 4:
        raise ValueError(f"shortcuts need images [N, C, H, W], got shape {tuple(X.shape)}")
    n, c, h, w = X.shape
    cue = torch.as_tensor(cue).long().cpu()
    has = cue >= 0
    if kind == "patch":
        p = patch_size or max(1, min(h, w) // 4)
        slots = _patch_positions(h, w, p)
        if len(slots) < n_classes:
            raise ValueError(f"a {p}-pixel patch has only {len(slots)} border slots in a {h}x{w} image "
                             f"but {n_classes} classes need one each; use a smaller patch_size")
        out = X.clone()
        for k in range(n_classes):
            idx = (cue == k).nonzero().squeeze(1).to(X.device)
            r, col = slots[k]
            out[idx, :, r:r + p, col:col + p] = 1.0
        return out
    if kind == "colour":
        grey = X.mean(1, keepdim=True) if c != 1 else X
        tint = torch.full((n, 3), 1.0)
        tint[has] = class_colours(n_classes)[cue[has]]
        return grey * tint.to(X)[:, :, None, None]
    canvas = X.new_zeros(n, c, 2 * h, 2 * w)
    offsets = _location_offsets(h, w, n_classes)
    for i in range(n):
        r, col = offsets[int(cue[i])] if has[i] else (h // 2, w // 2)
        canvas[i, :, r:r + h, col:col + w] = X[i]
    return canvas


def inject_shortcut(data: Data, kind: str = "patch", p: float = 1.0, seed: int = 0,
                    patch_size: int | None = None) -> Data:
    """Add a label-revealing cue to image data.

    Every image gets a cue (see :func:`apply_cue`). With probability ``p`` the cue is the image's
    own label; otherwise it is a class drawn uniformly at random, so ``p=0`` carries no signal and
    ``p=1`` makes the cue a perfect shortcut. meta gains ``cue`` (the cue's class) and
    ``cue_is_label`` (bool).
    """
    if not isinstance(data, Data):
        raise TypeError(f"data must be a labkit Data, got {type(data).__name__}")
    check_fraction(p, "p")
    rng = np.random.default_rng(seed)
    y = data.y.cpu().numpy()
    random_cue = rng.integers(0, data.n_classes, size=len(y))
    cue = np.where(rng.random(len(y)) < p, y, random_cue)
    X = apply_cue(data.X, torch.from_numpy(cue), kind, data.n_classes, patch_size)
    meta = {**data.meta, "cue": torch.from_numpy(cue).to(X.device),
            "cue_is_label": torch.from_numpy(cue == y).to(X.device)}
    return Data(X, data.y, classes=data.classes, name=f"{data.name} + {kind} shortcut (p={p:.2f})", meta=meta)


def shortcut_ood(data: Data, kind: str = "patch", mode: str = "shuffle", seed: int = 0,
                 patch_size: int | None = None) -> Data:
    """The o.o.d. counterpart of :func:`inject_shortcut`: the cue shuffled (random class) or removed."""
    check_option(mode, "mode", ("shuffle", "remove"))
    if mode == "shuffle":
        out = inject_shortcut(data, kind, p=0.0, seed=seed, patch_size=patch_size)
        out.name = f"{data.name} + {kind} cue shuffled"
        return out
    cue = torch.full((len(data),), -1)
    X = apply_cue(data.X, cue, kind, data.n_classes, patch_size)
    meta = {**data.meta, "cue": cue.to(X.device)}
    return Data(X, data.y, classes=data.classes, name=f"{data.name} without {kind} cue", meta=meta)
