"""Predictions and evaluations in large batches, without gradients, for one model or many."""
from __future__ import annotations

import torch
from torch import nn

from ..data.core import Data, as_data  # noqa: F401 (as_data: re-exported by labkit.training)
from .members import as_members
from .results import Evaluation, evaluation_from_logits


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


def evaluate(model: nn.Module, data, batch_size: int = 4096) -> Evaluation:
    """Accuracy, loss, predictions, probabilities and per-example losses of ``model`` on ``data``."""
    data = as_data(data)
    return evaluation_from_logits(predict_logits(model, data.X, batch_size), data.y)
