"""Section 3: many classifiers in one network (MIMO, Havasi et al., arXiv 2010.06610).

A MIMO network takes M inputs side by side and has M heads; head m is trained to classify input m
only, and the M inputs of a training row are independent examples (each head sees its own random
order of the training set), so the heads become M nearly independent subnetworks sharing one body.
At test time the same input is fed M times and the heads' probabilities are averaged: an ensemble
for the price of one forward pass. :func:`fit_mimo` trains it with labkit's one loop: each row of
the batch source indexes a precomputed M-tuple of example indices, and the loss sums the heads'
cross-entropies.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
from ..data.core import Data
from ..models import make_model
from ..training.batches import EpochBatches
from ..training.fit import resolve_device
from ..training.loop import train_members
from ..training.members import ModuleMembers
from ..training.results import History
from ..validation import check_features, check_labels, check_positive_int

__all__ = ["MIMONet", "fit_mimo", "mimo_proba", "ensemble_metrics", "nll", "disagreement"]


class MIMONet(nn.Module):
    """A labkit model with M input slots and M heads: x [B, M, C, ...] -> logits [B, M, K].

    The M inputs are stacked along the channel axis (as in the paper) and the last layer gives
    M x K logits. ``MIMONet((1, 40), 10, m=3, model="cnn", width=32)`` for MNIST-1D; ``model`` and
    ``kwargs`` go to ``lk.models.make_model``. ``m=1`` is the ordinary network (it then also takes
    x [B, C, ...] and returns [B, K]).
    """

    def __init__(self, input_shape, n_classes: int, m: int = 3, model: str = "cnn", **kwargs):
        super().__init__()
        self.m = check_positive_int(m, "m")
        self.n_classes = check_positive_int(n_classes, "n_classes", 2)
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        self.input_shape = shape
        self.net = make_model(model, input_shape=(self.m * shape[0], *shape[1:]), n_classes=self.m * self.n_classes,
                              **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plain = x.dim() == len(self.input_shape) + 1
        if plain and self.m == 1:
            x = x.unsqueeze(1)
        if x.dim() != len(self.input_shape) + 2 or x.shape[1] != self.m:
            raise ValueError(f"a MIMO net with m = {self.m} takes x [B, {self.m}, {', '.join(map(str, self.input_shape))}], "
                             f"got {tuple(x.shape)}")
        out = self.net(x.flatten(1, 2)).view(len(x), self.m, self.n_classes)
        return out[:, 0] if plain else out


def _tuples(n: int, m: int, epochs: int, generator: torch.Generator) -> torch.Tensor:
    """[epochs * n, m] example indices: per epoch, m independent permutations side by side."""
    return torch.cat([torch.stack([torch.randperm(n, generator=generator) for _ in range(m)], 1)
                      for _ in range(epochs)])


def fit_mimo(model: MIMONet, train: Data, *, epochs: int = 20, batch_size: int = 128, seed: int | None = None,
             device=None, progress: bool | None = None, **options) -> History:
    """Train a :class:`MIMONet` in place: each step, B rows of M independent training examples.

    ``options`` go to the loop (``lr``, ``optimizer``, ``weight_decay``, ...).

    Returns
    -------
    History
        The training history, as ``lk.fit`` returns it (the model is trained in place).
    """
    if not isinstance(model, MIMONet):
        raise TypeError(f"fit_mimo trains a MIMONet, got {type(model).__name__}")
    if not isinstance(train, Data):
        raise TypeError(f"train must be a labkit Data, got {type(train).__name__}")
    if train.input_shape != model.input_shape or train.n_classes > model.n_classes:
        raise ValueError(f"the model was built for inputs {model.input_shape} and {model.n_classes} classes, "
                         f"train has {train.input_shape} and {train.n_classes}")
    epochs = check_positive_int(epochs, "epochs")
    device = resolve_device(device)
    seed = runtime.current_seed() if seed is None else int(seed)
    rows = _tuples(len(train), model.m, epochs, torch.Generator().manual_seed(seed)).to(device)
    X, y = train.X.to(device), train.y.to(device)
    table = X[rows]  # [R, M, ...]: the inputs of every row, built once

    def loss(logits, r):  # logits [B, M, K], r: row numbers [B]
        targets = y[rows[r]]  # [B, M]
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(len(r), -1).sum(1)

    members = ModuleMembers(model.to(device))
    batches = EpochBatches(len(rows), batch_size, [seed], epochs=1, device=device)
    options.setdefault("eval_every", 0)
    # the loss gets each example's row number and looks its M targets up itself
    return train_members(members, table, torch.arange(len(rows), device=device), batches, loss=loss,
                         progress=progress, single=True, desc="MIMO", **options)


@torch.inference_mode()
def mimo_proba(model: MIMONet, X, batch_size: int = 4096) -> torch.Tensor:
    """Each head's probabilities [M, N, K] for the same input fed to all M slots."""
    X = check_features(X, max_dim=5)
    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, len(X), batch_size):
        x = X[i:i + batch_size].to(device)
        out.append(model(x.unsqueeze(1).expand(len(x), model.m, *x.shape[1:])).float().softmax(-1))
    return torch.cat(out).transpose(0, 1)


def nll(probs: torch.Tensor, y, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of labels y [N] under probabilities [N, K]."""
    probs = torch.as_tensor(probs)
    y = check_labels(y, n=len(probs), n_classes=probs.shape[-1]).to(probs.device)
    return float(-probs.gather(1, y[:, None]).clamp_min(eps).log().mean())


def disagreement(member_probs: torch.Tensor) -> float:
    """How often two members' top labels differ, averaged over all pairs: probabilities [M, N, K]."""
    if member_probs.dim() != 3 or member_probs.shape[0] < 2:
        raise ValueError(f"disagreement needs probabilities of at least two members [M >= 2, N, K], "
                         f"got {tuple(member_probs.shape)}")
    top = member_probs.argmax(-1)
    M = top.shape[0]
    pairs = [(top[a] != top[b]).float().mean() for a in range(M) for b in range(a + 1, M)]
    return float(torch.stack(pairs).mean())


def ensemble_metrics(member_probs: torch.Tensor, y) -> dict[str, float]:
    """Accuracy and NLL of the averaged probabilities, mean member accuracy and disagreement, from
    member probabilities [M, N, K] (one member: disagreement 0). ECE: ``lk.calibration.ece`` on
    ``member_probs.mean(0)``.

    Returns
    -------
    dict[str, float]
        ``accuracy`` and ``nll`` of the averaged probabilities, ``member_accuracy`` (mean over the
        members) and ``disagreement``.
    """
    member_probs = torch.as_tensor(member_probs).float()
    if member_probs.dim() == 2:
        member_probs = member_probs[None]
    y = check_labels(y, n=member_probs.shape[1], n_classes=member_probs.shape[2]).to(member_probs.device)
    p = member_probs.mean(0)
    return {"accuracy": float((p.argmax(1) == y).float().mean()), "nll": nll(p, y),
            "member_accuracy": float((member_probs.argmax(-1) == y).float().mean()),
            "disagreement": disagreement(member_probs) if len(member_probs) > 1 else 0.0}
