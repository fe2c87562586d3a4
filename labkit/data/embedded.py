"""Datasets that ship with the course or are generated on the spot: they work offline."""
from __future__ import annotations

import numpy as np
import torch

from ..validation import check_fraction, check_positive_int
from .core import Data, quick_count, quick_subset

QUADRANTS = ("top-left", "top-right", "bottom-left", "bottom-right")
# The location rule of the stars-and-moons task: stars top-right or bottom-left, moons the others.
RULE_QUADRANTS = {0: (1, 2), 1: (0, 3)}


def load_digits() -> Data:
    """scikit-learn's bundled handwritten digits: X [1797, 1, 8, 8] in [0, 1], y [1797] in 0..9."""
    from sklearn import datasets as skd  # imported on use: `import labkit` stays quick
    raw = skd.load_digits()
    X = torch.tensor(raw.images, dtype=torch.float32).unsqueeze(1) / 16.0
    return quick_subset(Data(X, torch.tensor(raw.target), classes=[str(i) for i in range(10)], name="digits"))


def make_moons(n: int = 500, noise: float = 0.15, seed: int = 0) -> Data:
    """Two interleaving half circles: X [n, 2], y [n] in {0, 1}."""
    n = quick_count(check_positive_int(n, "n", 2))
    check_fraction(noise, "noise", 0.0, 10.0)
    from sklearn import datasets as skd
    X, y = skd.make_moons(n_samples=n, noise=noise, random_state=seed)
    return Data(torch.tensor(X, dtype=torch.float32), torch.tensor(y), classes=["upper", "lower"], name="two moons")


def make_blobs(n: int = 500, centers: int = 3, std: float = 1.0, seed: int = 0) -> Data:
    """Gaussian blobs in 2-D: X [n, 2], y [n] in 0..centers-1."""
    n = quick_count(check_positive_int(n, "n", 2))
    centers = check_positive_int(centers, "centers", 2)
    from sklearn import datasets as skd
    X, y = skd.make_blobs(n_samples=n, centers=centers, cluster_std=std, random_state=seed)
    return Data(torch.tensor(X, dtype=torch.float32), torch.tensor(y),
                classes=[f"blob {i}" for i in range(centers)], name="blobs")


def _star(radius: float, angle: float):
    """The star's outline as a matplotlib Path (imported here, on first use)."""
    from matplotlib.path import Path
    k = np.arange(10)
    r = np.where(k % 2 == 0, radius, 0.42 * radius)
    t = angle + k * np.pi / 5
    return Path(np.stack([r * np.sin(t), -r * np.cos(t)], 1))


def _shape_mask(kind: int, radius: float, angle: float) -> np.ndarray:
    """A binary mask of a star (kind 0) or a crescent moon (kind 1) in a (2r+1)^2 box."""
    half = int(np.ceil(radius))
    g = np.arange(-half, half + 1, dtype=np.float64)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    if kind == 0:
        pts = np.stack([xx.ravel(), yy.ravel()], 1)
        return _star(radius, angle).contains_points(pts).reshape(xx.shape)
    dx, dy = 0.55 * radius * np.cos(angle), 0.55 * radius * np.sin(angle)
    return (xx**2 + yy**2 <= radius**2) & ((xx - dx) ** 2 + (yy - dy) ** 2 > (0.85 * radius) ** 2)


def make_stars_moons(n: int = 1000, size: int = 48, rule: float = 1.0, ood: bool = False,
                     seed: int = 0) -> Data:
    """Binary images of stars (label 0) and crescent moons (label 1).

    In the training distribution (``ood=False``) a fraction ``rule`` of the images obeys the
    location rule: stars top-right or bottom-left, moons top-left or bottom-right; the others sit
    in the other class's quadrants, so ``rule=0.5`` makes location useless. With ``ood=True`` the
    shapes are placed uniformly at random, as in the o.o.d. test of Geirhos et al. (2020).

    Returns Data with X [n, 1, size, size] in {0, 1}, y [n], and meta ``quadrant`` (0..3, see
    ``QUADRANTS``; -1 for o.o.d.) and ``obeys_rule`` (bool).
    """
    size = check_positive_int(size, "size", 16)
    n = quick_count(check_positive_int(n, "n", 2), size * size)
    check_fraction(rule, "rule")
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 1, size, size), dtype=np.float32)
    y = rng.permutation(np.arange(n) % 2)
    quadrant = np.full(n, -1)
    obeys = np.zeros(n, dtype=bool)
    half = size // 2
    for i in range(n):
        radius = rng.uniform(0.09, 0.16) * size
        mask = _shape_mask(int(y[i]), radius, rng.uniform(0, 2 * np.pi))
        m = mask.shape[0]
        if ood:
            top, left = rng.integers(0, size - m + 1, size=2)
        else:
            obeys[i] = rng.random() < rule
            options = RULE_QUADRANTS[int(y[i])] if obeys[i] else RULE_QUADRANTS[1 - int(y[i])]
            quadrant[i] = q = options[rng.integers(2)]
            row0, col0 = (q // 2) * half, (q % 2) * half
            top = row0 + rng.integers(0, max(half - m, 0) + 1)
            left = col0 + rng.integers(0, max(half - m, 0) + 1)
        X[i, 0, top:top + m, left:left + m] = np.maximum(X[i, 0, top:top + m, left:left + m], mask)
    name = "stars and moons (o.o.d.)" if ood else f"stars and moons (rule {rule:.2f})"
    return Data(torch.from_numpy(X), torch.from_numpy(y), classes=["star", "moon"], name=name,
                meta={"quadrant": torch.from_numpy(quadrant), "obeys_rule": torch.from_numpy(obeys)})


def _smooth_noise(rng, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid upsampled bilinearly."""
    coarse = torch.tensor(rng.random((1, 1, cells, cells)), dtype=torch.float32)
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear",
                                           align_corners=True)[0, 0].numpy()


def _bird_mask(kind: int, size: int, rng) -> np.ndarray:
    """Land bird (0): upright oval body with a round head. Water bird (1): long flat body, long neck."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cy, cx = size * rng.uniform(0.45, 0.6), size * rng.uniform(0.4, 0.6)
    s = size * rng.uniform(0.8, 1.0)
    if kind == 0:
        body = ((xx - cx) / (0.13 * s)) ** 2 + ((yy - cy) / (0.2 * s)) ** 2 <= 1
        head = (xx - cx) ** 2 + (yy - cy + 0.26 * s) ** 2 <= (0.09 * s) ** 2
        return body | head
    body = ((xx - cx) / (0.26 * s)) ** 2 + ((yy - cy) / (0.09 * s)) ** 2 <= 1
    neck = (np.abs(xx - cx - 0.2 * s) <= 0.03 * s) & (yy <= cy) & (yy >= cy - 0.3 * s)
    head = (xx - cx - 0.24 * s) ** 2 + (yy - cy + 0.3 * s) ** 2 <= (0.06 * s) ** 2
    return body | neck | head


def make_waterbirds(n: int = 1000, size: int = 32, spurious: float = 0.95, seed: int = 0) -> Data:
    """A Waterbirds-like set: a bird shape (the label) pasted on a land or water background.

    Label 0 = land bird, 1 = water bird. With probability ``spurious`` the background matches the
    bird's habitat (land for land birds, water for water birds); the original Waterbirds training
    set uses 0.95. Use ``spurious=0.5`` for a balanced test set where background carries no signal.
    Bird colours are random, so only shape identifies the class.

    Returns Data with X [n, 3, size, size] in [0, 1], y [n], and meta ``background`` (0 land,
    1 water) and ``group`` (2*y + background, the four groups used for worst-group accuracy).
    """
    size = check_positive_int(size, "size", 16)
    n = quick_count(check_positive_int(n, "n", 2), 3 * size * size)
    check_fraction(spurious, "spurious")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    background = np.where(rng.random(n) < spurious, y, 1 - y)
    X = np.empty((n, 3, size, size), dtype=np.float32)
    rows = np.arange(size)[:, None] / size
    for i in range(n):
        tex = _smooth_noise(rng, size, 4)
        if background[i] == 0:  # land: green-brown, textured
            img = np.stack([0.35 + 0.25 * tex, 0.45 + 0.2 * tex, 0.15 + 0.1 * tex])
        else:  # water: blue with horizontal waves
            waves = 0.5 + 0.5 * np.sin(2 * np.pi * (rows * rng.uniform(3, 6) + rng.random()))
            img = np.stack([0.1 + 0.1 * tex, 0.3 + 0.15 * waves + 0 * tex, 0.65 + 0.25 * waves + 0 * tex])
        mask = _bird_mask(int(y[i]), size, rng)
        colour = rng.uniform(0.0, 1.0, size=3)
        img[:, mask] = colour[:, None]
        X[i] = np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)
    return Data(torch.from_numpy(X), torch.from_numpy(y), classes=["land bird", "water bird"],
                name=f"waterbirds-like (spurious {spurious:.2f})",
                meta={"background": torch.from_numpy(background), "group": torch.from_numpy(2 * y + background)})
