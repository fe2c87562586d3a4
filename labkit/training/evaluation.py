"""Predictions and evaluations in large batches, without gradients, for one model or many."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.core import Data
from ..validation import check_labels
from .members import as_members
from .results import Evaluation


def as_data(data, name: str = "data") -> Data:
    """Accept a labkit Data or an ``(X, y)`` pair."""
    if isinstance(data, Data):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return Data(data[0], data[1], name=name)
    raise TypeError(f"{name} must be a labkit Data or an (X, y) pair, got {type(data).__name__}")


def predict_logits(model: nn.Module, X, batch_size: int = 4096) -> torch.Tensor:
    """Logits [N, K] of one model in float32 on its device, in large batches in eval mode."""
    members = as_members(model)
    if members.n_members != 1:
        raise ValueError(f"this is an ensemble of {members.n_members} models; predict_logits and evaluate take one "
                         "model. Use ens.predict_logits(X) for logits [members, N, K] (ens.predict_logits(X)[0]: the first "
                         "member's) or ens.evaluate(data) for one evaluation per member")
    return members.predict_logits(X, batch_size)[0]


def predict_proba(model: nn.Module, X, batch_size: int = 4096) -> torch.Tensor:
    """Softmax probabilities [N, K] (CPU)."""
    return predict_logits(model, X, batch_size).softmax(1).cpu()


def evaluation_from_logits(logits: torch.Tensor, y) -> Evaluation:
    """An :class:`Evaluation` from logits [N, K] and labels [N]."""
    y = check_labels(y, n=len(logits), n_classes=logits.shape[1]).to(logits.device)
    losses = F.cross_entropy(logits, y, reduction="none")
    preds = logits.argmax(1)
    correct = preds == y
    return Evaluation(accuracy=correct.float().mean().item(), loss=losses.mean().item(), logits=logits.cpu(),
                      probs=logits.softmax(1).cpu(), preds=preds.cpu(), losses=losses.cpu(), correct=correct.cpu())


def evaluate(model: nn.Module, data, batch_size: int = 4096) -> Evaluation:
    """Accuracy, loss, predictions, probabilities and per-example losses of ``model`` on ``data``."""
    data = as_data(data)
    return evaluation_from_logits(predict_logits(model, data.X, batch_size), data.y)
