"""Calibration metrics on predicted probabilities ``probs`` [N, K] and labels ``y`` [N].

* :func:`ece` — top-label expected calibration error (Guo et al. 2017): the confidence of an
  example is its largest probability; confidences are put into ``n_bins`` bins and
  ECE = sum over bins of (n_b / N) * |accuracy_b - mean confidence_b|.
* :func:`classwise_ece` — the same for every class k on p[:, k] against [y == k], averaged over
  the classes (Kull et al. 2019): it looks at every probability, not only the largest.
* :func:`nll` and :func:`brier_score` — proper scoring rules on the whole probability vector.
* :func:`reliability` — the data of a reliability diagram (per-bin confidence, accuracy, count).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..results import Rows
from ..validation import as_tensor, check_labels, check_option, check_positive_int

STRATEGIES = ("uniform", "quantile")


def check_probs(probs, name: str = "probs", atol: float = 1e-4) -> np.ndarray:
    """Probabilities [N, K] (K >= 2) as float64 NumPy: finite, in [0, 1], every row summing to 1."""
    p = as_tensor(probs, name)
    if p.dtype == torch.bool or not (p.is_floating_point() or p.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name} must hold floating-point probabilities, got dtype {p.dtype}")
    p = p.detach().cpu().double().numpy()
    if p.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [N examples, K classes], got shape {p.shape}")
    if p.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 examples); pass at least one example")
    if p.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 columns (one per class), got {p.shape[1]}; "
                         "for a binary model pass [1 - p, p]")
    if not np.isfinite(p).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name} must lie in [0, 1], got values from {p.min():.4g} to {p.max():.4g}; "
                         "are these logits? apply softmax first")
    sums = p.sum(1)
    worst = int(np.argmax(np.abs(sums - 1)))
    if abs(sums[worst] - 1) > atol:
        raise ValueError(f"the rows of {name} must sum to 1, but row {worst} sums to {sums[worst]:.6g}; "
                         "normalise them (softmax of logits, or divide by the row sum)")
    return p


def _inputs(probs, y):
    p = check_probs(probs)
    y = check_labels(y, n=p.shape[0], n_classes=p.shape[1]).cpu().numpy()
    return p, y


def bin_edges(values: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """``n_bins + 1`` edges on [0, 1]: equal width (``"uniform"``) or equal mass (``"quantile"``)."""
    check_option(strategy, "strategy", STRATEGIES)
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    edges = np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1))
    edges[0], edges[-1] = 0.0, 1.0
    return edges


def assign_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index 0 .. M-1 of every value, bins (e_{m-1}, e_m]: a value exactly on an upper edge e_m
    belongs to bin m (1-based), so 1.0 is in the last bin; 0 goes to the first."""
    idx = np.searchsorted(edges[1:], values, side="left")
    return np.clip(idx, 0, len(edges) - 2)


@dataclass
class Reliability:
    """Per-bin data of a reliability diagram: ``edges`` [M+1]; ``confidence``, ``accuracy`` [M] (NaN in
    empty bins) and ``count`` [M]; ``ece`` is sum(count / N * |accuracy - confidence|)."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray
    ece: float

    @property
    def n(self) -> int:
        return int(self.count.sum())


def _binned(values: np.ndarray, hits: np.ndarray, n_bins: int, strategy: str) -> Reliability:
    edges = bin_edges(values, n_bins, strategy)
    b = assign_bins(values, edges)
    count = np.bincount(b, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(b, weights=values, minlength=n_bins) / count
        acc = np.bincount(b, weights=hits.astype(float), minlength=n_bins) / count
    full = count > 0
    gap = float(np.sum(count[full] / len(values) * np.abs(acc[full] - conf[full])))
    return Reliability(edges, conf, acc, count.astype(int), gap)


def reliability(probs, y, n_bins: int = 15, strategy: str = "uniform") -> Reliability:
    """The top-label reliability diagram: per bin of confidence (max probability), the mean
    confidence, the accuracy of the predicted class (argmax) and the number of examples."""
    p, y = _inputs(probs, y)
    n_bins = check_positive_int(n_bins, "n_bins")
    check_option(strategy, "strategy", STRATEGIES)
    return _binned(p.max(1), p.argmax(1) == y, n_bins, strategy)


def ece(probs, y, n_bins: int = 15, strategy: str = "uniform") -> float:
    """Top-label expected calibration error (Guo et al., arXiv 1706.04599), a number in [0, 1].

    probs [N, K] probabilities, y [N] labels. Bins ((m-1)/M, m/M] of equal width, or of equal mass
    with ``strategy="quantile"``; each bin's |accuracy - mean confidence| weighted by its share.
    """
    return reliability(probs, y, n_bins, strategy).ece


def classwise_ece(probs, y, n_bins: int = 15, strategy: str = "uniform") -> float:
    """Classwise ECE: for every class k, the ECE of p[:, k] as a forecast of [y == k] (all N examples,
    not only those where k is the top label), averaged over the K classes."""
    p, y = _inputs(probs, y)
    n_bins = check_positive_int(n_bins, "n_bins")
    check_option(strategy, "strategy", STRATEGIES)
    return float(np.mean([_binned(p[:, k], y == k, n_bins, strategy).ece for k in range(p.shape[1])]))


def nll(probs, y, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood -log p[i, y_i] (probabilities clipped at ``eps`` from below)."""
    p, y = _inputs(probs, y)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], eps, None))))


def brier_score(probs, y) -> float:
    """Multi-class Brier score: mean over examples of sum_k (p[i, k] - [y_i == k])^2, in [0, 2]."""
    p, y = _inputs(probs, y)
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


@dataclass
class CalibrationReports(Rows):
    """The outcome of :func:`report_per_seed`: ``rows``, a DataFrame indexed by ``seed`` (one row
    per seed's predictions) with columns ``accuracy``, ``confidence`` (the mean top-label
    probability), ``ece`` (equal-width bins), ``ece_equal_mass``, ``classwise_ece``, ``nll`` and
    ``brier``; ``table()`` returns a copy of it."""


def calibration_report(probs, y, n_bins: int = 15) -> dict[str, float]:
    """Accuracy, ECE, classwise ECE, NLL and Brier score of one set of predictions: a dict with
    keys ``accuracy``, ``ece``, ``classwise_ece``, ``nll`` and ``brier``."""
    p, y = _inputs(probs, y)
    return {"accuracy": float(np.mean(p.argmax(1) == y)), "ece": ece(p, y, n_bins),
            "classwise_ece": classwise_ece(p, y, n_bins), "nll": nll(p, y), "brier": brier_score(p, y)}


def report_per_seed(probs, y, seeds, n_bins: int = 15) -> CalibrationReports:
    """:func:`calibration_report` of each seed's predictions, with their mean confidence and the
    equal-mass ECE beside the equal-width one (L5 §1–3, where every network is trained on several
    seeds). ``probs`` [S, N, K]: one set of probabilities per seed; ``y`` [N]; ``seeds``: S seeds.

    Returns
    -------
    :class:`CalibrationReports`: its ``table()`` is indexed by seed with columns accuracy,
    confidence, ece, ece_equal_mass, classwise_ece, nll and brier
    """
    stack = probs.detach().cpu().numpy() if hasattr(probs, "detach") else np.asarray(probs)
    seeds = [int(s) for s in seeds]
    if stack.ndim != 3 or len(stack) != len(seeds):
        raise ValueError(f"probs must be [S, N, K] with one row of predictions per seed ({len(seeds)} seeds), "
                         f"got shape {stack.shape}")
    rows = []
    for p in stack:
        p, labels = _inputs(p, y)
        rows.append({**calibration_report(p, labels, n_bins), "confidence": float(p.max(1).mean()),
                     "ece_equal_mass": ece(p, labels, n_bins, "quantile")})
    cols = ["accuracy", "confidence", "ece", "ece_equal_mass", "classwise_ece", "nll", "brier"]
    return CalibrationReports(pd.DataFrame(rows, index=pd.Index(seeds, name="seed"))[cols])
