"""What training and evaluation return: the per-step state callbacks see, the history, evaluations."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..validation import check_labels


@dataclass
class StepState:
    """What a callback sees: after every optimizer step (``on_step``), and once before the first
    step (``on_start``, ``step == 0``: the untrained members, no batch yet) and after the last
    (``on_end``).

    ``members`` is the model protocol (:mod:`labkit.training.members`) and ``member_index``,
    ``member_logits``, ``member_targets``, ``member_loss`` carry a leading member axis:
    [S, B], [S, B, K], [S, B], [S]. ``index``, ``logits``, ``targets``, ``loss`` and ``model``
    are the same as a user of the trainer sees them: for :func:`~labkit.fit` of one nn.Module
    without the member axis ([B], [B, K], [B], a 0-d loss; ``model`` the module), otherwise equal
    to the member versions (``model`` the Ensemble). Tensors are detached; ``float(state.loss)``
    synchronises with the device. Set ``stop = True`` to end training after this step.
    """

    step: int
    epoch: float
    steps_per_epoch: int
    total_steps: int
    members: object
    member_loss: torch.Tensor | None = None
    member_index: torch.Tensor | None = None
    member_logits: torch.Tensor | None = None
    member_targets: torch.Tensor | None = None
    single: bool = False
    stop: bool = False

    def _view(self, t):
        return t[0] if (self.single and t is not None) else t

    @property
    def index(self):
        return self._view(self.member_index)

    @property
    def logits(self):
        return self._view(self.member_logits)

    @property
    def targets(self):
        return self._view(self.member_targets)

    @property
    def loss(self):
        return self._view(self.member_loss)

    @property
    def model(self):
        return self.members.module if self.single else self.members


@dataclass
class History:
    """Per-step loss and learning rate, per-epoch evaluations, and wall time.

    ``loss`` has shape [steps] (or [steps, members] when several members train at once);
    ``evals`` is a list of dicts with ``epoch``, ``step`` and ``val_loss``/``val_acc`` when a
    validation set was given.
    """

    loss: np.ndarray
    lr: np.ndarray
    steps_per_epoch: int
    evals: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.loss)

    @property
    def epochs(self) -> np.ndarray:
        return np.arange(1, self.steps + 1) / self.steps_per_epoch

    def to_frame(self):
        """One row per step: step, epoch, lr and loss (mean over members)."""
        loss = self.loss.mean(1) if self.loss.ndim == 2 else self.loss
        import pandas as pd  # imported on use: `import labkit` stays quick
        return pd.DataFrame({"step": np.arange(1, self.steps + 1), "epoch": self.epochs,
                             "lr": self.lr, "loss": loss})

    def evals_frame(self):
        import pandas as pd
        return pd.DataFrame(self.evals)


@dataclass
class Evaluation:
    """Results of :func:`~labkit.evaluate` on N examples: accuracy and mean loss, and per example
    ``logits`` [N, K], ``probs`` [N, K], ``preds`` [N], ``losses`` [N] and ``correct`` [N] (CPU)."""

    accuracy: float
    loss: float
    logits: torch.Tensor
    probs: torch.Tensor
    preds: torch.Tensor
    losses: torch.Tensor
    correct: torch.Tensor

    def __repr__(self) -> str:
        return f"Evaluation(accuracy={self.accuracy:.4f}, loss={self.loss:.4f}, n={len(self.preds)})"


def evaluation_from_logits(logits: torch.Tensor, y) -> Evaluation:
    """An :class:`Evaluation` from logits [N, K] and labels [N]."""
    y = check_labels(y, n=len(logits), n_classes=logits.shape[1]).to(logits.device)
    losses = F.cross_entropy(logits, y, reduction="none")
    preds = logits.argmax(1)
    correct = preds == y
    return Evaluation(accuracy=correct.float().mean().item(), loss=losses.mean().item(), logits=logits.cpu(),
                      probs=logits.softmax(1).cpu(), preds=preds.cpu(), losses=losses.cpu(), correct=correct.cpu())
