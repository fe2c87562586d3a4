"""ReLU sparsity: how many units are inactive, per layer and per example, and which never fire.

A unit is *inactive* on an input when its pre-activation is ≤ 0 (a ReLU then outputs 0 and passes
no gradient back). It is *dead* when it is inactive on every input of a set: it no longer learns
from anything, because no example sends it a gradient. The measurement hooks every activation module
(ReLU, LeakyReLU, GELU, ...) and looks at its *input*, so LeakyReLU nets are measured the same way
(their inactive units still pass a small gradient, which is why they can come back).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..results import Result
from ..training import fit
from ..validation import check_features

__all__ = ["ACTIVATION_TYPES", "ReluStats", "DyingReluRun", "relu_activity", "set_biases", "dying_relu_run"]

ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.ELU, nn.SiLU)


@dataclass
class ReluStats(Result):
    """Inactive and dead units of every activation layer, returned by :func:`relu_activity`.

    Every field is keyed by the activation layer's name, in the model's order.

    Attributes
    ----------
    inactive : dict[str, float]
        The inactive share over all units and inputs.
    per_example : dict[str, torch.Tensor]
        The inactive share on each input [N].
    per_unit : dict[str, torch.Tensor]
        Each unit's inactive share over the inputs [units].
    dead : dict[str, float]
        The share of units inactive on every input.

    ``table()`` gives one row per layer, with columns ``layer``, ``inactive``, ``dead``,
    ``per-example min`` and ``per-example max``.
    """

    inactive: dict[str, float]
    per_example: dict[str, torch.Tensor]
    per_unit: dict[str, torch.Tensor]
    dead: dict[str, float]

    def table(self) -> pd.DataFrame:
        """One row per activation layer (columns in the class docstring)."""
        return pd.DataFrame([{"layer": k, "inactive": self.inactive[k], "dead": self.dead[k],
                              "per-example min": float(self.per_example[k].min()),
                              "per-example max": float(self.per_example[k].max())} for k in self.inactive])

    @property
    def dead_overall(self) -> float:
        """The share of dead units over all activation layers together."""
        n = sum(len(v) for v in self.per_unit.values())
        return float(sum((v == 1).sum().item() for v in self.per_unit.values()) / n)


@dataclass
class DyingReluRun(Result):
    """One training run watched for dead units, returned by :func:`dying_relu_run`.

    Attributes
    ----------
    lr : float
        The learning rate.
    bias : float or None
        The value every hidden bias was set to before training (None: left as initialised).
    dead_before, dead : float
        The share of dead units (over all activation layers) on the training set before and after.
    inactive : float
        The mean over the activation layers of the inactive share after training.
    final_loss : float
        The mean training loss over the last tenth of the steps.
    model : nn.Module
        The trained model.

    ``table()`` gives one row with columns ``lr``, ``bias``, ``dead_before``, ``dead``,
    ``inactive`` and ``final_loss``.
    """

    lr: float
    bias: float | None
    dead_before: float
    dead: float
    inactive: float
    final_loss: float
    model: nn.Module = field(repr=False)

    def table(self) -> pd.DataFrame:
        """One row: the run's numbers (columns in the class docstring)."""
        return pd.DataFrame([{"lr": self.lr, "bias": self.bias, "dead_before": self.dead_before, "dead": self.dead,
                              "inactive": self.inactive, "final_loss": self.final_loss}])


@torch.no_grad()
def relu_activity(model: nn.Module, X, batch_size: int = 2048) -> ReluStats:
    """Measure inactive and dead units of every activation layer of ``model`` on inputs ``X``.

    A unit is one entry of the layer's input after flattening (a hidden neuron of an MLP, a channel
    at one position of a conv map).

    Returns
    -------
    ReluStats
        ``inactive``, ``per_example``, ``per_unit`` and ``dead`` per activation layer;
        ``dead_overall`` the dead share over all of them, ``table()`` one row per layer.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    X = check_features(X, "X", min_dim=2, max_dim=4)
    if len(X) == 0:
        raise ValueError("X is empty")
    acts = [(n, m) for n, m in model.named_modules() if isinstance(m, ACTIVATION_TYPES)]
    if not acts:
        raise ValueError("the model has no activation module (nn.ReLU, nn.LeakyReLU, ...) to measure")
    counts, per_example = {n: 0 for n, _ in acts}, {n: [] for n, _ in acts}
    hooks = []
    for name, module in acts:
        def hook(_, inputs, out, name=name):
            off = (inputs[0] <= 0).flatten(1)
            counts[name] = counts[name] + off.sum(0).double()
            per_example[name].append(off.float().mean(1).cpu())
        hooks.append(module.register_forward_hook(hook))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(X), batch_size):
            model(X[i:i + batch_size].to(device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    per_unit = {n: (c / len(X)).float().cpu() for n, c in counts.items()}
    return ReluStats(inactive={n: float(v.mean()) for n, v in per_unit.items()},
                     per_example={n: torch.cat(v) for n, v in per_example.items()}, per_unit=per_unit,
                     dead={n: float((v == 1).float().mean()) for n, v in per_unit.items()})


@torch.no_grad()
def set_biases(model: nn.Module, value: float, include_head: bool = False) -> nn.Module:
    """Set the bias of every hidden Linear/Conv layer to ``value`` (a negative value provokes dead
    units from the start); the head is left alone unless ``include_head``."""
    for name, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)) and m.bias is not None:
            if include_head or "head" not in name.split("."):
                m.bias.fill_(float(value))
    return model


def dying_relu_run(build, train, *, lr: float, epochs: int, bias: float | None = None, seed: int = 0,
                   optimizer: str = "sgd", **options) -> DyingReluRun:
    """Train ``build()`` (optionally with every hidden bias set to ``bias``) and measure its dead
    units on ``train`` before and after.

    Returns
    -------
    DyingReluRun
        ``lr``, ``bias``, ``dead_before``, ``dead``, ``inactive``, ``final_loss`` and the trained
        ``model``.
    """
    from .. import runtime

    runtime.seed_everything(seed)
    model = build()
    if bias is not None:
        set_biases(model, bias)
    dead_before = relu_activity(model, train.X).dead_overall
    history = fit(model, train, epochs=epochs, seed=seed, lr=lr, optimizer=optimizer, **options)
    loss = float(np.mean(history.loss[-max(1, len(history.loss) // 10):]))
    stats = relu_activity(model, train.X)
    return DyingReluRun(lr, bias, dead_before, stats.dead_overall, sum(stats.inactive.values()) / len(stats.inactive),
                        loss, model)
