"""Focal loss (Lin et al., arXiv 1708.02002) and its sample-dependent FLSD-53 schedule (Mukhoti et
al., arXiv 2002.09437), as per-example loss callables for the one training loop::

    lk.fit(model, train, loss=focal_loss(3.0))
    lk.fit(model, train, loss=flsd53())

Per example, with p_t the softmax probability of the true class: FL = -(1 - p_t)^gamma * log p_t.
gamma = 0 is cross-entropy. FLSD-53 uses gamma = 5 where p_t < 0.2 and gamma = 3 otherwise; gamma
is chosen from p_t without gradient, as in the paper's code.
"""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from ..validation import check_labels


def _check_gamma(gamma, name="gamma") -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not gamma >= 0:
        raise ValueError(f"{name} must be a number >= 0 (0 is cross-entropy), got {gamma!r}")
    return float(gamma)


class FocalLoss:
    """Callable (logits [N, K], targets [N]) -> per-example focal losses [N].

    ``gamma`` is used where p_t >= ``threshold``; ``gamma_low`` (default: ``gamma``) where p_t < threshold.
    """

    def __init__(self, gamma: float = 3.0, gamma_low: float | None = None, threshold: float = 0.2):
        self.gamma = _check_gamma(gamma)
        self.gamma_low = self.gamma if gamma_low is None else _check_gamma(gamma_low, "gamma_low")
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be a probability in [0, 1], got {threshold!r}")
        self.threshold = float(threshold)

    def gammas(self, p_true: torch.Tensor) -> torch.Tensor:
        """gamma of every example from its true-class probability p_t [N] (no gradient)."""
        p = p_true.detach()
        return torch.where(p < self.threshold, torch.full_like(p, self.gamma_low), torch.full_like(p, self.gamma))

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 2:
            raise ValueError(f"logits must be [N, K], got shape {tuple(logits.shape)}")
        targets = check_labels(targets, n=logits.shape[0], n_classes=logits.shape[1], name="targets").to(logits.device)
        logp = F.log_softmax(logits, dim=1).gather(1, targets[:, None]).squeeze(1)
        p = logp.exp()
        return -((1 - p).clamp(min=0) ** self.gammas(p)) * logp

    def __repr__(self):
        if self.gamma_low == self.gamma:
            return f"FocalLoss(gamma={self.gamma:g})"
        return f"FocalLoss(gamma={self.gamma:g} where p_t >= {self.threshold:g}, else {self.gamma_low:g})"


def focal_loss(gamma: float = 3.0) -> FocalLoss:
    """Focal loss with a fixed gamma (per example): -(1 - p_t)^gamma log p_t."""
    return FocalLoss(gamma)


def flsd53() -> FocalLoss:
    """FLSD-53: gamma = 5 where the true-class probability p_t < 0.2, else gamma = 3."""
    return FocalLoss(gamma=3.0, gamma_low=5.0, threshold=0.2)
