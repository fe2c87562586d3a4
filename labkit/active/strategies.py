"""Query strategies: plain functions that score or pick pool examples from a model's outputs.

Every score is "higher = query first". Scores take probabilities ``probs`` [..., N, K] (any
leading member axis) and, where they need it, an embedding ``features`` [..., N, D] (the
penultimate layer). :func:`select` turns a strategy into a batch of b indices for one model.
"""
from __future__ import annotations

import numpy as np
import torch

from ..validation import as_tensor, check_option, check_positive_int

STRATEGIES = ("random", "least_confidence", "margin", "entropy", "density", "coreset", "egl")


def check_probs(probs, name: str = "probs") -> torch.Tensor:
    """Probabilities [..., N, K] (K >= 2) as a float tensor; rows must sum to 1."""
    p = as_tensor(probs, name).float()
    if p.dim() < 2 or p.shape[-1] < 2:
        raise ValueError(f"{name} must have shape [..., N, K] with K >= 2 classes, got {tuple(p.shape)}")
    if not torch.isfinite(p).all() or (p < -1e-6).any() or ((p.sum(-1) - 1).abs() > 1e-3).any():
        raise ValueError(f"{name} must hold probabilities (non-negative rows summing to 1); apply softmax to logits")
    return p


def least_confidence(probs) -> torch.Tensor:
    """1 − max_k p_k: the model's doubt about its own top class."""
    return 1.0 - check_probs(probs).max(-1).values


def margin(probs) -> torch.Tensor:
    """−(p_top1 − p_top2): a small gap between the two most likely classes scores high."""
    top2 = check_probs(probs).topk(2, dim=-1).values
    return -(top2[..., 0] - top2[..., 1])


def entropy(probs) -> torch.Tensor:
    """−Σ_k p_k log p_k (in nats)."""
    p = check_probs(probs)
    return -(p * p.clamp_min(1e-12).log()).sum(-1)


def expected_gradient_length(probs, features) -> torch.Tensor:
    """Expected gradient length at the last layer (Settles, Craven & Ray 2008), in closed form.

    For a last layer z = W h + b and cross-entropy with label k, the gradient with respect to
    (W, b) is (p − e_k)(h, 1)ᵀ, whose norm is |p − e_k| · sqrt(|h|² + 1). Its expectation under
    the model's own belief is Σ_k p_k |p − e_k| sqrt(|h|² + 1): nothing is back-propagated.
    """
    p = check_probs(probs)
    h = as_tensor(features, "features").float()
    if h.shape[:-1] != p.shape[:-1]:
        raise ValueError(f"features {tuple(h.shape)} must match probs {tuple(p.shape)} up to the last axis")
    # |p − e_k|² = |p|² − 2 p_k + 1
    dist = ((p * p).sum(-1, keepdim=True) - 2 * p + 1).clamp_min(0).sqrt()
    return (p * dist).sum(-1) * (h.pow(2).sum(-1) + 1).sqrt()


def information_density(scores, features, beta: float = 1.0) -> torch.Tensor:
    """Information density (Settles & Craven 2008): score × (mean cosine similarity to the pool)^β,
    so that uncertain examples in dense regions come before uncertain outliers. ``scores`` [..., N]
    must be non-negative (e.g. :func:`entropy`)."""
    s = as_tensor(scores, "scores").float()
    h = torch.nn.functional.normalize(as_tensor(features, "features").float(), dim=-1)
    sim = (h @ h.transpose(-1, -2)).mean(-1).clamp_min(0)
    return s * sim.pow(float(beta))


def kcenter_greedy(features, labelled, b: int) -> np.ndarray:
    """Core-set selection (Sener & Savarese 2018): b times, take the pool example farthest (in
    Euclidean distance on ``features`` [N, D]) from everything labelled or already chosen."""
    h = as_tensor(features, "features").float()
    lab = _mask(labelled, len(h))
    b = _check_b(b, int((~lab).sum()))
    chosen = []
    if lab.any():
        dist = torch.cdist(h, h[lab]).min(1).values
    else:  # nothing labelled yet: start from the example nearest the mean
        chosen.append(int((h - h.mean(0)).norm(dim=1).argmin()))
        dist = (h - h[chosen[0]]).norm(dim=1)
    dist[lab] = -1.0
    for i in chosen:
        dist[i] = -1.0
    while len(chosen) < b:
        i = int(dist.argmax())
        chosen.append(i)
        dist = torch.minimum(dist, (h - h[i]).norm(dim=1))
        dist[i] = -1.0
    return np.array(chosen)


def _mask(labelled, n: int) -> torch.Tensor:
    lab = as_tensor(labelled, "labelled")
    if lab.dtype != torch.bool:
        idx = lab.long().reshape(-1)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise ValueError(f"labelled has indices outside 0..{n - 1}")
        lab = torch.zeros(n, dtype=torch.bool)
        lab[idx] = True
    if lab.shape != (n,):
        raise ValueError(f"labelled must be a boolean mask of length {n} or indices, got shape {tuple(lab.shape)}")
    return lab.cpu()


def _check_b(b, available: int) -> int:
    b = check_positive_int(b, "b (the batch of queries)")
    if b > available:
        raise ValueError(f"cannot query {b} examples: only {available} unlabelled examples are left in the pool; "
                         "use a smaller batch, fewer rounds or a larger pool")
    return b


def top_b(scores, labelled, b: int) -> np.ndarray:
    """The ``b`` unlabelled examples with the highest ``scores`` [N] (ties: lowest index first)."""
    s = as_tensor(scores, "scores").float().reshape(-1).cpu()
    lab = _mask(labelled, len(s))
    b = _check_b(b, int((~lab).sum()))
    s = s.masked_fill(lab, float("-inf"))
    order = np.lexsort((np.arange(len(s)), -s.numpy()))
    return order[:b]


def strategy_scores(strategy: str, probs, features=None) -> torch.Tensor:
    """The score [..., N] of a scoring strategy (all but ``random`` and ``coreset``)."""
    check_option(strategy, "strategy", STRATEGIES)
    if strategy in ("random", "coreset"):
        raise ValueError(f"{strategy!r} selects without scores; use select()")
    if strategy in ("density", "egl") and features is None:
        raise ValueError(f"the {strategy!r} strategy needs features (the penultimate layer's output)")
    if strategy == "least_confidence":
        return least_confidence(probs)
    if strategy == "margin":
        return margin(probs)
    if strategy == "entropy":
        return entropy(probs)
    if strategy == "egl":
        return expected_gradient_length(probs, features)
    return information_density(entropy(probs), features)


def select(strategy: str, probs, labelled, b: int, features=None, rng=None) -> np.ndarray:
    """b pool indices to label next, for one model: ``probs`` [N, K], ``labelled`` a mask [N] or
    indices, ``features`` [N, D] for ``density``, ``coreset`` and ``egl``, ``rng`` a NumPy
    Generator (or seed) for ``random``."""
    check_option(strategy, "strategy", STRATEGIES)
    p = check_probs(probs)
    if p.dim() != 2:
        raise ValueError(f"select works on one model's probs [N, K], got shape {tuple(p.shape)}")
    lab = _mask(labelled, len(p))
    if strategy == "random":
        free = np.flatnonzero(~lab.numpy())
        return np.random.default_rng(rng).choice(free, _check_b(b, len(free)), replace=False)
    if strategy == "coreset":
        if features is None:
            raise ValueError("the 'coreset' strategy needs features (the penultimate layer's output)")
        return kcenter_greedy(features, lab, b)
    return top_b(strategy_scores(strategy, p, features), lab, b)


__all__ = ["STRATEGIES", "check_probs", "least_confidence", "margin", "entropy", "expected_gradient_length",
           "information_density", "kcenter_greedy", "top_b", "strategy_scores", "select"]
