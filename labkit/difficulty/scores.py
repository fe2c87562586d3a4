"""Per-example difficulty scores as pure functions of logits, correctness histories and gradients
(L2 §2). Any leading dimensions (e.g. members) are kept.

``HARDER`` says which way each score points: +1 when a larger value means a harder example.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..training import per_example_grad_norms
from ..validation import check_labels

SCORES = ("loss", "margin", "el2n", "grand", "forgetting", "vog", "depth")
# +1: a larger value means a harder example; -1: a smaller value does.
HARDER = {"loss": 1, "margin": -1, "el2n": 1, "grand": 1, "forgetting": 1, "vog": 1, "depth": 1}


def _as_logits(logits, name: str = "logits") -> torch.Tensor:
    t = torch.as_tensor(logits)
    if not t.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {t.dtype}")
    if t.dim() < 2:
        raise ValueError(f"{name} must have shape [..., N, K] (K classes), got {tuple(t.shape)}")
    if t.shape[-1] < 2:
        raise ValueError(f"{name} has {t.shape[-1]} class column(s); need at least 2")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return t.float()


def _labels_for(y, logits: torch.Tensor) -> torch.Tensor:
    y = check_labels(y, n=logits.shape[-2], n_classes=logits.shape[-1]).to(logits.device)
    return y


def el2n(logits, y) -> torch.Tensor:
    """EL2N: ‖softmax(logits) − onehot(y)‖₂ per example. logits [..., N, K], y [N] -> [..., N]."""
    logits = _as_logits(logits)
    y = _labels_for(y, logits)
    err = logits.softmax(-1) - F.one_hot(y, logits.shape[-1]).to(logits)
    return torch.linalg.vector_norm(err, dim=-1)


def margin(logits, y) -> torch.Tensor:
    """p(given label) − the largest probability of any other class. [..., N, K], [N] -> [..., N]."""
    logits = _as_logits(logits)
    y = _labels_for(y, logits)
    p = logits.softmax(-1)
    own = p.gather(-1, y.expand(p.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    others = p.masked_fill(F.one_hot(y, p.shape[-1]).bool().expand(p.shape), -1.0)
    return own - others.amax(-1)


def cross_entropy(logits, y) -> torch.Tensor:
    """Per-example cross-entropy. [..., N, K], [N] -> [..., N]."""
    logits = _as_logits(logits)
    y = _labels_for(y, logits)
    logp = logits.log_softmax(-1)
    return -logp.gather(-1, y.expand(logp.shape[:-1]).unsqueeze(-1)).squeeze(-1)


def forgetting_counts(correct) -> torch.Tensor:
    """Forgetting events from a correctness history ``correct`` [..., T, N] (bool, one row per
    presentation, in order): the number of 1 -> 0 transitions. An example never correct gets T,
    more than any example that was learned can reach. Returns [..., N] (float)."""
    c = torch.as_tensor(correct)
    if c.dtype != torch.bool:
        if c.is_floating_point() and not torch.isin(c, torch.tensor([0.0, 1.0], dtype=c.dtype)).all():
            raise ValueError("correct must hold booleans (or 0/1)")
        c = c.bool()
    if c.dim() < 2 or c.shape[-2] == 0:
        raise ValueError(f"correct must have shape [..., presentations, examples], got {tuple(c.shape)}")
    T = c.shape[-2]
    events = (c[..., :-1, :] & ~c[..., 1:, :]).sum(-2).float()
    never = ~c.any(-2)
    return torch.where(never, torch.full_like(events, float(T)), events)


def vog_from_gradients(grads, y=None, normalize: bool = True) -> torch.Tensor:
    """VoG of one model from input gradients at K checkpoints, ``grads`` [K, N, *input]
    (Agarwal et al. 2022): each pixel's standard deviation over the checkpoints,
    sqrt(1/K · Σ_k (g_k − ḡ)²), averaged over the pixels, [N]. With ``normalize`` (needs the
    labels ``y`` [N]) every class is standardised to mean 0 and standard deviation 1, as their code
    does, so classes with larger gradients do not dominate."""
    g = torch.as_tensor(grads).float()
    if g.dim() < 3:
        raise ValueError(f"grads must be [checkpoints, N, *input], got {tuple(g.shape)}")
    if g.shape[0] < 2:
        raise ValueError(f"VoG needs gradients at 2 or more checkpoints, got {g.shape[0]}")
    if y is None and normalize:
        raise ValueError("normalize=True needs the labels y (VoG is standardised within each class)")
    return vog_from_pixel_std(g.std(0, unbiased=False)[None], y, normalize)[0]


def vog_from_pixel_std(pixel_std: torch.Tensor, y, normalize: bool = True) -> torch.Tensor:
    """Average a per-pixel standard deviation over checkpoints [S, N, *input] over the pixels and,
    with ``normalize``, standardise within each class of ``y`` [N] (per seed). Returns [S, N]."""
    v = torch.as_tensor(pixel_std).float()
    if v.dim() < 2:
        raise ValueError(f"pixel_std must be [S, N, *input], got {tuple(v.shape)}")
    v = v.flatten(2).mean(-1) if v.dim() > 2 else v
    if not normalize:
        return v
    y = check_labels(y, n=v.shape[1]).to(v.device)
    out = torch.empty_like(v)
    for k in torch.unique(y):
        m = y == k
        vals = v[:, m]
        std = vals.std(1, unbiased=False, keepdim=True)
        out[:, m] = (vals - vals.mean(1, keepdim=True)) / torch.where(std > 0, std, torch.ones_like(std))
    return out


def grad_norms(model, X, y, batch_size: int | None = None) -> torch.Tensor:
    """GraNd: the norm of each example's loss gradient w.r.t. all parameters, for one model or
    every member of an Ensemble at once. Returns [S, N] (S = 1 for a single model), on the CPU.
    Exact; see :func:`labkit.per_example_grad_norms` for how."""
    norms = per_example_grad_norms(model, (torch.as_tensor(X).float(), torch.as_tensor(y)), batch_size)
    return norms if norms.dim() == 2 else norms[None]
