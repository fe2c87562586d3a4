"""Section 1: double descent with random features (Belkin et al., arXiv 1812.11118; Nakkiran et al.,
arXiv 1912.02292).

A random-feature model maps an input x to N features ``relu(x W)`` with a fixed random W and fits
only the output weights by least squares on one-hot targets. With N < n there are more equations
than unknowns; with N >= n the fit interpolates the training set and the *minimum-norm* solution
``beta = pinv(F) Y`` is the one gradient descent from zero would find. Everything here runs in
float64 through the pseudo-inverse or the SVD: ``torch.linalg.lstsq`` on CUDA assumes full rank and
is wrong exactly at the threshold N = n.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..data.core import Data
from ..results import Result
from ..validation import check_features, check_fraction, check_positive_int

__all__ = ["random_relu_features", "min_norm_fit", "ridge_fit", "predict_linear", "RFCurve",
           "feature_sweep", "sample_sweep", "peak_summary"]


def random_relu_features(X, W: torch.Tensor) -> torch.Tensor:
    """Features ``relu(X W)`` in float64: X [n, D] (any trailing shape, flattened), W [D, N]."""
    X = check_features(X).flatten(1).double()
    if W.dim() != 2 or W.shape[0] != X.shape[1]:
        raise ValueError(f"W must have shape [{X.shape[1]}, N] for inputs with {X.shape[1]} values, "
                         f"got {tuple(W.shape)}")
    return torch.relu(X @ W.double())


def _targets(F: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    F = torch.as_tensor(F)
    Y = torch.as_tensor(Y)
    if F.dim() != 2:
        raise ValueError(f"features must have shape [n, N], got {tuple(F.shape)}")
    if Y.dim() == 1:
        Y = Y[:, None]
    if Y.shape[0] != F.shape[0]:
        raise ValueError(f"features have {F.shape[0]} rows but the targets {Y.shape[0]}")
    if not torch.isfinite(F).all():
        raise ValueError("the features contain NaN or infinite values")
    return Y.double()


def min_norm_fit(F, Y) -> torch.Tensor:
    """The minimum-norm least-squares weights ``pinv(F) @ Y`` in float64.

    F : features [n, N]; Y : targets [n, K] (or [n]). Returns beta [N, K]. Below the threshold
    (N < n, full rank) this is ordinary least squares; above it, among all weights with
    ``F beta = Y`` the one of smallest norm.
    """
    Y = _targets(F, Y)
    return torch.linalg.pinv(torch.as_tensor(F).double()) @ Y


def ridge_fit(F, Y, ridge: float) -> torch.Tensor:
    """Ridge weights ``argmin |F b - Y|^2 + ridge |b|^2`` through the SVD (float64); ridge = 0 gives
    :func:`min_norm_fit`. Returns beta [N, K]."""
    Y = _targets(F, Y)
    ridge = float(ridge)
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge}")
    if ridge == 0:
        return min_norm_fit(F, Y)
    U, S, Vh = torch.linalg.svd(torch.as_tensor(F).double(), full_matrices=False)
    return Vh.T @ ((S / (S ** 2 + ridge))[:, None] * (U.T @ Y))


def predict_linear(F, beta: torch.Tensor) -> torch.Tensor:
    """Outputs ``F @ beta`` [n, K]."""
    return torch.as_tensor(F).double() @ beta


@dataclass
class RFCurve(Result):
    """A sweep of random-feature fits, returned by :func:`feature_sweep` and :func:`sample_sweep`.

    Attributes
    ----------
    sizes : ndarray [len(sizes)]
        What was swept: the number of features N (:func:`feature_sweep`) or of training examples n
        (:func:`sample_sweep`).
    test_error, train_error : ndarray [len(seeds), len(sizes)]
        Classification errors on the clean test labels and on the training labels (noisy ones
        included).
    test_mse : ndarray [len(seeds), len(sizes)]
        Test squared error of the one-hot fit.
    n_train : int or ndarray
        The number of training examples (the sizes, for a sample-wise sweep).
    label_noise, ridge : float
        The share of training labels moved to another class, and the ridge penalty.
    seeds : list of int
        One per row of the error arrays.
    meta : dict
        ``{"n_features": N}`` for a sample-wise sweep, else empty.

    ``table()`` gives one row per seed and size, with columns ``seed``, ``n_features``,
    ``n_train``, ``label_noise``, ``ridge``, ``train_error``, ``test_error`` and ``test_mse``.
    """

    sizes: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    test_mse: np.ndarray
    n_train: int | np.ndarray
    label_noise: float
    ridge: float
    seeds: list[int]
    meta: dict = field(default_factory=dict)

    @property
    def mean_test_error(self) -> np.ndarray:
        return self.test_error.mean(0)

    @property
    def mean_train_error(self) -> np.ndarray:
        return self.train_error.mean(0)

    def table(self) -> pd.DataFrame:
        """One row per seed and size (columns in the class docstring)."""
        sizes = np.asarray(self.sizes)
        samplewise = "n_features" in self.meta
        rows = []
        for i, seed in enumerate(self.seeds):
            for j, size in enumerate(sizes):
                rows.append({"seed": seed,
                             "n_features": int(self.meta["n_features"]) if samplewise else int(size),
                             "n_train": int(size) if samplewise else int(self.n_train),
                             "label_noise": self.label_noise, "ridge": self.ridge,
                             "train_error": self.train_error[i, j], "test_error": self.test_error[i, j],
                             "test_mse": self.test_mse[i, j]})
        return pd.DataFrame(rows)


def _check_data(data, name: str) -> Data:
    if not isinstance(data, Data):
        raise TypeError(f"{name} must be a labkit Data, got {type(data).__name__}")
    return data


def _standardise(X: torch.Tensor, Xt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre and scale by the training statistics. A value constant on the training set (a digit's
    border pixel) is only centred: dividing by its near-zero spread would blow up the test inputs
    that differ there."""
    mu, sd = X.mean(0), X.std(0)
    sd = torch.where(sd > 1e-8, sd, torch.ones_like(sd))
    return (X - mu) / sd, (Xt - mu) / sd


def _draw(train: Data, n: int, noise: float, n_classes: int, g: torch.Generator) -> tuple:
    idx = torch.randperm(len(train), generator=g)[:n]
    X, y = train.X[idx].flatten(1).double().cpu(), train.y[idx].clone().cpu()
    flip = torch.rand(n, generator=g) < noise
    y[flip] = (y[flip] + torch.randint(1, n_classes, (int(flip.sum()),), generator=g)) % n_classes
    return X, y


def _errors(F, Ft, y, yt, Y, ridge, n_classes) -> tuple:
    beta = ridge_fit(F, Y, ridge)
    out, out_t = predict_linear(F, beta), predict_linear(Ft, beta)
    Yt = torch.nn.functional.one_hot(yt, n_classes).double()
    return ((out.argmax(1) != y).double().mean().item(), (out_t.argmax(1) != yt).double().mean().item(),
            ((out_t - Yt) ** 2).sum(1).mean().item())


def _sizes(values, name: str) -> np.ndarray:
    values = np.asarray([check_positive_int(v, name) for v in values])
    if values.size == 0:
        raise ValueError(f"{name} is empty; give at least one size")
    return values


def feature_sweep(train: Data, test: Data, n_features, n_train: int = 500, seeds=(0, 1, 2),
                  label_noise: float = 0.0, ridge: float = 0.0) -> RFCurve:
    """Test and training error of random ReLU features against the number of features N.

    For each seed: ``n_train`` training examples drawn from ``train``, a fraction ``label_noise`` of
    their labels moved to another class, inputs standardised on them, one Gaussian W [D, max N] (the
    first N columns give the model of size N, so the models are nested), one-hot targets, the
    minimum-norm fit (``ridge = 0``) or ridge. The test set keeps its clean labels.

    Returns
    -------
    RFCurve
        ``sizes`` the numbers of features; ``test_error``, ``train_error`` and ``test_mse``
        [len(seeds), len(n_features)]; ``table()`` one row per seed and N.
    """
    _check_data(train, "train")
    _check_data(test, "test")
    sizes = _sizes(n_features, "n_features")
    n_train = check_positive_int(n_train, "n_train", 2)
    if n_train > len(train):
        raise ValueError(f"n_train = {n_train} but train has only {len(train)} examples")
    check_fraction(label_noise, "label_noise")
    K = max(train.n_classes, test.n_classes)
    yt = test.y.cpu()
    errs = np.zeros((3, len(seeds), len(sizes)))
    for i, s in enumerate(seeds):
        g = torch.Generator().manual_seed(int(s))
        X, y = _draw(train, n_train, label_noise, K, g)
        X, Xt = _standardise(X, test.X.flatten(1).double().cpu())
        W = torch.randn(X.shape[1], int(sizes.max()), generator=g, dtype=torch.float64) / X.shape[1] ** 0.5
        Y = torch.nn.functional.one_hot(y, K).double()
        for j, N in enumerate(sizes):
            F, Ft = random_relu_features(X, W[:, :N]), random_relu_features(Xt, W[:, :N])
            errs[:, i, j] = _errors(F, Ft, y, yt, Y, ridge, K)
    return RFCurve(sizes, errs[1], errs[0], errs[2], n_train, label_noise, float(ridge), [int(s) for s in seeds])


def sample_sweep(train: Data, test: Data, n_train, n_features: int = 500, seeds=(0, 1, 2),
                 label_noise: float = 0.0, ridge: float = 0.0) -> RFCurve:
    """Sample-wise double descent: the number of features fixed at ``n_features``, the number of
    training examples ``n_train`` swept (each seed's smaller sets are prefixes of its larger ones).

    Returns
    -------
    RFCurve
        ``sizes`` the numbers of training examples, ``meta = {"n_features": N}``; the errors
        [len(seeds), len(n_train)]; ``table()`` one row per seed and n.
    """
    _check_data(train, "train")
    _check_data(test, "test")
    sizes = _sizes(n_train, "n_train")
    if sizes.max() > len(train):
        raise ValueError(f"n_train goes up to {sizes.max()} but train has only {len(train)} examples")
    N = check_positive_int(n_features, "n_features")
    check_fraction(label_noise, "label_noise")
    K = max(train.n_classes, test.n_classes)
    yt = test.y.cpu()
    errs = np.zeros((3, len(seeds), len(sizes)))
    for i, s in enumerate(seeds):
        g = torch.Generator().manual_seed(int(s))
        X_all, y_all = _draw(train, int(sizes.max()), label_noise, K, g)
        W = torch.randn(X_all.shape[1], N, generator=g, dtype=torch.float64) / X_all.shape[1] ** 0.5
        for j, n in enumerate(sizes):
            X, Xt = _standardise(X_all[:n], test.X.flatten(1).double().cpu())
            y = y_all[:n]
            F, Ft = random_relu_features(X, W), random_relu_features(Xt, W)
            errs[:, i, j] = _errors(F, Ft, y, yt, torch.nn.functional.one_hot(y, K).double(), ridge, K)
    return RFCurve(sizes, errs[1], errs[0], errs[2], sizes, label_noise, float(ridge), [int(s) for s in seeds],
                   {"n_features": N})


def peak_summary(curve: RFCurve, threshold: int | None = None, metric: str = "test_error") -> dict[str, float]:
    """Where the mean curve peaks and how far it rises above both sides.

    ``threshold`` (default: the curve's ``n_train``, or its ``n_features`` for a sample-wise sweep)
    splits the sizes; ``left_min`` and ``right_min`` are the best values strictly below half and
    above twice the threshold; ``height`` = peak - max(left_min, right_min).

    Returns
    -------
    dict[str, float]
        ``peak_size`` (the size where the mean curve peaks, an int), ``peak`` (its value there),
        ``left_min``, ``right_min``, ``height`` and ``at_threshold`` (the value at the size
        nearest the threshold).
    """
    values = np.asarray(getattr(curve, metric)).mean(0)
    t = threshold or int(curve.meta.get("n_features", curve.n_train))
    sizes = curve.sizes
    left, right = values[sizes <= t / 2], values[sizes >= 2 * t]
    if left.size == 0 or right.size == 0:
        raise ValueError(f"the sizes must reach below {t / 2:g} and above {2 * t:g} to measure the peak")
    k = int(values.argmax())
    return {"peak_size": int(sizes[k]), "peak": float(values[k]), "left_min": float(left.min()),
            "right_min": float(right.min()), "height": float(values[k] - max(left.min(), right.min())),
            "at_threshold": float(values[np.abs(sizes - t).argmin()])}
