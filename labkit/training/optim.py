"""The one optimizer factory and the per-step learning-rate schedules."""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..validation import check_fraction, check_option

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "linear", "onecycle", "step")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}


def base_lr(optimizer: str, lr: float | None) -> float:
    """``lr``, checked, or the optimizer's default learning rate."""
    check_option(optimizer, "optimizer", OPTIMIZERS)
    return DEFAULT_LR[optimizer] if lr is None else check_fraction(lr, "lr", 0.0, 100.0, inclusive_low=False)


def make_optimizer(params, name: str = "adam", lr: float | None = None, weight_decay: float = 0.0,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """``sgd`` (Nesterov momentum) | ``adam`` | ``adamw`` with labkit's default learning rates.

    ``params`` is a list of tensors or of parameter-group dicts. The fused kernels update all
    parameters in one pass; where a device lacks them the plain implementation is used.
    """
    lr = base_lr(name, lr)
    params = list(params)
    if name == "sgd":
        cls, kw = torch.optim.SGD, dict(momentum=momentum, nesterov=momentum > 0)
    else:
        cls, kw = (torch.optim.Adam if name == "adam" else torch.optim.AdamW), {}
    tensors = [p for g in params for p in (g["params"] if isinstance(g, dict) else [g])]
    fused = all(p.device.type in ("cpu", "cuda") for p in tensors)
    try:
        return cls(params, lr=lr, weight_decay=weight_decay, fused=fused, **kw)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, lr=lr, weight_decay=weight_decay, **kw)


def _lr_lambda(schedule: str, total: int) -> Callable[[int], float]:
    check_option(schedule, "schedule", SCHEDULES)

    def factor(step: int) -> float:
        t = step / max(1, total)
        if schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
        if schedule == "linear":
            return max(0.0, 1.0 - t)
        if schedule == "onecycle":  # linear up over the first 25 %, then linear down to zero
            u = step / max(1, total)
            return u / 0.25 if u < 0.25 else max(0.0, (1 - u) / 0.75)
        if schedule == "step":
            return 0.1 ** ((t >= 0.5) + (t >= 0.75))
        return 1.0

    return factor


def make_scheduler(opt, schedule: str, total: int):
    """A per-step LambdaLR over ``total`` steps, or None for a constant rate (nothing to update)."""
    factor = _lr_lambda(schedule, total)
    if schedule == "constant":
        return None
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)
