"""The one model protocol: S >= 1 members of one architecture, seen as one object.

Training, analysis and plots all take *members*: ``forward`` maps per-member inputs [S, B, ...] to
logits [S, B, K], ``stacked_params()`` gives every parameter as [S, ...], ``predict_logits`` gives
[S, N, K]. Two implementations share that protocol:

- :class:`Ensemble`: S models whose parameters are stacked along a leading axis; one
  ``torch.func.vmap`` forward pass runs them all (members with BatchNorm run one after another,
  because running statistics cannot be updated under vmap).
- :class:`ModuleMembers`: one ordinary ``nn.Module`` as a one-member view, trained in place at
  full speed (its own parameters are the leaves, no copies).

:func:`as_members` turns an ``nn.Module`` or an Ensemble into members; it is the one place that
looks at which of the two it got.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .. import runtime
from ..data.core import Data, as_data
from ..validation import check_features, check_positive_int
from .results import Evaluation, evaluation_from_logits


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@contextlib.contextmanager
def eval_mode(module: nn.Module):
    """Run a block of code with ``module`` in eval mode, restoring its mode afterwards."""
    was = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was)


@contextlib.contextmanager
def _stats_frozen(template: nn.Module, names):
    """BatchNorm modules named in ``names`` keep their running statistics (momentum 0)."""
    mods = [m for n, m in template.named_modules() if n in names]
    saved = [m.momentum for m in mods]
    for m in mods:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, mom in zip(mods, saved):
            m.momentum = mom


def to_device_input(X: torch.Tensor, device: torch.device) -> torch.Tensor:
    """X on ``device``; images in channels_last on CUDA (faster convolutions)."""
    X = X.to(device)
    if device.type == "cuda" and X.dim() == 4:
        X = X.contiguous(memory_format=torch.channels_last)
    return X


class _Members:
    """What both implementations share: evaluation in large batches and per-member results."""

    template: nn.Module

    def __len__(self) -> int:
        return self.n_members

    def leaves(self) -> list:
        """The tensors the optimizer updates."""
        return [p for _, p in self.named_leaves()]

    @property
    def device(self) -> torch.device:
        p = next(iter(self.stacked_params().values()), None)
        return p.device if p is not None else torch.device("cpu")

    def train(self, mode: bool = True):
        self.template.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [S, B, K] of every member on the same inputs x [B, ...]."""
        return self.forward(x.unsqueeze(0).expand(len(self), *x.shape))

    @torch.inference_mode()
    def predict_logits(self, X, batch_size: int = 4096) -> torch.Tensor:
        """Logits [S, N, K] (float32, on the members' device) in eval mode, in large batches."""
        device = self.device
        X = check_features(X.X if isinstance(X, Data) else X).to(device)
        check_positive_int(batch_size, "batch_size")
        with eval_mode(self.template), runtime.autocast(device):
            out = [self.forward_shared(X[i:i + batch_size]).float() for i in range(0, len(X), batch_size)]
        return torch.cat(out, dim=1)

    def evaluate(self, data) -> list:
        """One :class:`~labkit.training.Evaluation` per member."""
        data = as_data(data)
        return [evaluation_from_logits(lg, data.y) for lg in self.predict_logits(data.X)]

    def member_forward(self, s: int):
        """Member ``s`` as a function x [B, ...] -> logits [B, K], without copying its weights."""
        params = {k: v[s] for k, v in self.stacked_params().items()}
        buffers = {k: v[s] for k, v in self.stacked_buffers().items()}
        return lambda x: functional_call(self.template, (params, buffers), (x,))


class ModuleMembers(_Members):
    """One ``nn.Module`` as a one-member view: its own parameters are trained in place."""

    n_members = 1

    def __init__(self, module: nn.Module):
        if not isinstance(module, nn.Module):
            raise TypeError(f"expected an nn.Module, got {type(module).__name__}")
        self.module = module
        self.template = module
        self.seeds = None

    has_member_axis = False  # its leaves are the module's own parameters, without a member axis

    def named_leaves(self) -> list:
        return [(k, p) for k, p in self.module.named_parameters() if p.requires_grad]

    def stacked_params(self) -> dict:
        return {k: v.unsqueeze(0) for k, v in self.module.named_parameters()}

    def stacked_buffers(self) -> dict:
        return {k: v.unsqueeze(0) for k, v in self.module.named_buffers()}

    def forward(self, x: torch.Tensor, frozen_stats: Sequence | None = None) -> torch.Tensor:
        with _stats_frozen(self.module, frozen_stats[0]) if frozen_stats else contextlib.nullcontext():
            return self.module(x[0]).unsqueeze(0)

    def to(self, device) -> "ModuleMembers":
        self.module.to(device)
        if torch.device(device).type == "cuda":
            self.module.to(memory_format=torch.channels_last)
        return self

    @property
    def models(self) -> list:
        return [self.module]


class Ensemble(_Members):
    """Several copies of one architecture with parameters stacked along a leading member axis.

    ``models`` gives ordinary nn.Modules (copies of the current weights); ``predict_logits(X)``
    returns [S, N, K]; ``forward(x)`` takes per-member inputs [S, B, ...].
    """

    def __init__(self, models: Sequence[nn.Module]):
        models = list(models)
        if not models:
            raise ValueError("an Ensemble needs at least one model")
        kinds = {type(m) for m in models}
        if len(kinds) > 1:
            raise TypeError(f"an Ensemble's members must share one architecture, got {sorted(k.__name__ for k in kinds)}")
        self.seeds = None
        self.template = copy.deepcopy(models[0]).to("meta")
        params, buffers = stack_module_state(models)
        self.params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        self.buffers = buffers
        self.n_members = len(models)
        self.sequential = has_batchnorm(models[0])  # running statistics cannot be updated under vmap

    @property
    def _template(self) -> nn.Module:  # the name the first version of labkit used
        return self.template

    has_member_axis = True

    def named_leaves(self) -> list:
        return list(self.params.items())

    def stacked_params(self) -> dict:
        return self.params

    def stacked_buffers(self) -> dict:
        return self.buffers

    def _call(self, params, buffers, x):
        return functional_call(self.template, (params, buffers), (x,))

    def forward(self, x: torch.Tensor, frozen_stats: Sequence | None = None) -> torch.Tensor:
        """Logits [S, B, K] from per-member inputs x [S, B, ...]. ``frozen_stats[s]`` names the
        BatchNorm modules of member s whose running statistics must not move in this pass."""
        if not self.sequential:
            return vmap(self._call, randomness="different")(self.params, self.buffers, x)
        out = []
        for s in range(len(self)):
            with _stats_frozen(self.template, frozen_stats[s]) if frozen_stats else contextlib.nullcontext():
                out.append(self.member_forward(s)(x[s]))
        return torch.stack(out)

    def to(self, device) -> "Ensemble":
        with torch.no_grad():
            self.params = {k: v.detach().to(device).requires_grad_(True) for k, v in self.params.items()}
            self.buffers = {k: v.to(device) for k, v in self.buffers.items()}
        return self

    @property
    def models(self) -> list:
        """The members as independent nn.Modules (on the ensemble's device)."""
        out = []
        for s in range(len(self)):
            m = copy.deepcopy(self.template)
            state = {k: v[s].detach().clone() for k, v in {**self.params, **self.buffers}.items()}
            m.load_state_dict(state, assign=True)
            out.append(m.eval())
        return out


def as_members(model) -> _Members:
    """An Ensemble as it is, an nn.Module as its one-member view."""
    if isinstance(model, _Members):
        return model
    if isinstance(model, nn.Module):
        return ModuleMembers(model)
    raise TypeError(f"expected an nn.Module or a labkit Ensemble, got {type(model).__name__}")


def members_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Each member's mean cross-entropy of logits [S, B, K] against targets [S, B]: [S].

    One member takes cross-entropy's own mean, a single fused kernel forward and backward: the
    per-example losses several members need made one model's ``lk.fit`` measurably slower than a
    bare loop (benchmarks/core.py, section 4).
    """
    S, B = targets.shape
    flat, y = logits.float().flatten(0, 1), targets.flatten()
    if S == 1:
        return F.cross_entropy(flat, y).reshape(1)
    return F.cross_entropy(flat, y, reduction="none").view(S, B).mean(1)


__all__ = ["Ensemble", "ModuleMembers", "as_members", "eval_mode", "has_batchnorm", "to_device_input",
           "members_cross_entropy", "Evaluation"]
