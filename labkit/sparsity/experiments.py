"""Accuracy against sparsity: one-shot vs iterative prune-and-fine-tune, channel pruning, and the
lottery ticket (Frankle & Carbin, arXiv 1803.03635) against a random re-initialisation of its mask.

Every run trains through labkit's one loop (``lk.fit(..., masks=...)``); the models are copied with
``copy.deepcopy`` *before* any pruning, so nothing here ever copies a pruned module.
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np
from torch import nn

from .. import runtime
from ..training import evaluate, fit
from ..validation import check_fraction, check_positive_int
from .pruning import apply_masks, channel_masks, effective_sparsity, global_magnitude_masks, sparsity

__all__ = ["check_sparsities", "prune_and_finetune", "one_shot_curve", "iterative_curve", "channel_curve",
           "lottery_ticket", "max_sparsity_within"]


def check_sparsities(sparsities) -> list:
    """Sparsities as an increasing list of floats in [0, 1)."""
    values = [check_fraction(float(s), "sparsity", 0.0, 1.0, inclusive_high=False) for s in sparsities]
    if not values:
        raise ValueError("give at least one sparsity")
    if sorted(values) != values or len(set(values)) != len(values):
        raise ValueError(f"sparsities must increase strictly, got {values}")
    return values


def prune_and_finetune(model: nn.Module, masks: dict, train, test, *, epochs: int, seed: int = 0, **options):
    """A copy of ``model`` with ``masks`` applied, fine-tuned ``epochs`` with the masks held at zero.
    Returns ``(model, {"before": acc right after pruning, "after": acc after fine-tuning})``."""
    pruned = apply_masks(copy.deepcopy(model), masks)
    before = evaluate(pruned, test).accuracy
    if epochs:
        fit(pruned, train, epochs=epochs, seed=seed, masks=masks, **options)
    return pruned, {"before": before, "after": evaluate(pruned, test).accuracy}


def one_shot_curve(model: nn.Module, train, test, sparsities: Sequence[float], *, epochs: int,
                   seed: int = 0, **options) -> list:
    """Prune the trained ``model`` once to each sparsity (global L1) and fine-tune ``epochs``.
    Returns one dict per sparsity: ``sparsity``, ``remaining`` weights, ``before``, ``after``."""
    rows = []
    for s in check_sparsities(sparsities):
        masks = global_magnitude_masks(model, s)
        _, acc = prune_and_finetune(model, masks, train, test, epochs=epochs, seed=seed, **options)
        rows.append({"sparsity": s, "remaining": int(sum(m.sum().item() for m in masks.values())), **acc})
    return rows


def iterative_curve(model: nn.Module, train, test, sparsities: Sequence[float], *, epochs: int,
                    seed: int = 0, **options) -> list:
    """Prune step by step along ``sparsities``: each level starts from the fine-tuned model of the
    level before and removes the smallest surviving weights, then fine-tunes ``epochs``. Reaching
    the k-th level has cost k fine-tunings, one-shot one (the price of the better curve)."""
    rows, current = [], model
    for s in check_sparsities(sparsities):
        masks = global_magnitude_masks(current, s)
        current, acc = prune_and_finetune(current, masks, train, test, epochs=epochs, seed=seed, **options)
        rows.append({"sparsity": s, "remaining": int(sum(m.sum().item() for m in masks.values())), **acc})
    return rows


def channel_curve(model: nn.Module, train, test, amounts: Sequence[float], *, epochs: int, seed: int = 0,
                  **options) -> list:
    """Structured pruning: remove the ``amount`` share of units of every hidden layer (L2 norm of
    their weights), then fine-tune. ``sparsity`` in the rows is the share of the hidden layers'
    weights masked; ``effective`` the share of all weights, head included, that no longer count
    (:func:`~labkit.sparsity.pruning.effective_sparsity`: those reading a removed unit too)."""
    rows = []
    for a in check_sparsities(amounts):
        masks = channel_masks(model, a)
        _, acc = prune_and_finetune(model, masks, train, test, epochs=epochs, seed=seed, **options)
        weights = {k: v for k, v in masks.items() if k.endswith("weight")}
        rows.append({"amount": a, "sparsity": sparsity(weights), "effective": effective_sparsity(model, masks), **acc})
    return rows


def lottery_ticket(build: Callable[[], nn.Module], train, test, *, sparsity_target: float, rounds: int,
                   epochs: int, seed: int = 0, reinit_seed: int = 1, **options) -> dict:
    """Iterative magnitude pruning with rewinding to the initialisation, against random re-init.

    The net built (after seeding ``seed``) keeps its initial weights θ0. Each of ``rounds`` rounds
    trains from θ0 under the current mask, then prunes globally to the next level of a geometric
    schedule ending at ``sparsity_target``. The *ticket* is θ0 under the final mask, trained
    ``epochs``; the *control* is a fresh initialisation (seed ``reinit_seed``) under the same mask,
    trained the same way. Returns the accuracies of the dense net, the ticket and the control.
    """
    check_fraction(sparsity_target, "sparsity_target", 0.0, 1.0, inclusive_high=False)
    rounds = check_positive_int(rounds, "rounds")
    runtime.seed_everything(seed)
    init = build()
    theta0 = copy.deepcopy(init.state_dict())
    keep = (1 - sparsity_target) ** (1 / rounds)
    masks, dense_acc = None, None
    for r in range(1, rounds + 1):
        net = copy.deepcopy(init)
        net.load_state_dict(theta0)
        fit(net, train, epochs=epochs, seed=seed, masks=masks, **options)
        if r == 1:
            dense_acc = evaluate(net, test).accuracy
        masks = global_magnitude_masks(net, 1 - keep ** r)

    def train_under_mask(start_state):
        net = copy.deepcopy(init)
        net.load_state_dict(start_state)
        fit(net, train, epochs=epochs, seed=seed, masks=masks, **options)
        return evaluate(net, test).accuracy

    runtime.seed_everything(reinit_seed)
    fresh = build().state_dict()
    ticket, control = train_under_mask(theta0), train_under_mask(fresh)
    return {"sparsity": sparsity(masks), "dense": dense_acc, "ticket": ticket, "random reinit": control,
            "masks": {k: v.cpu() for k, v in masks.items()}}


def max_sparsity_within(rows: list, reference: float, points: float = 0.01, key: str = "after") -> float:
    """The highest sparsity in ``rows`` whose ``key`` accuracy is within ``points`` of ``reference``
    (0.0 when none is)."""
    ok = [r["sparsity"] for r in rows if r[key] >= reference - points]
    return max(ok) if ok else 0.0



def mean_curve(runs: Sequence[list], key: str = "sparsity") -> list:
    """One curve from several runs of it (e.g. one per seed): the rows matched by ``key`` and every
    other number averaged; ``runs`` is a list of row lists as the curves above return them."""
    if not runs:
        raise ValueError("runs is empty; give one list of rows per run")
    points = [[r[key] for r in rows] for rows in runs]
    if any(p != points[0] for p in points):
        raise ValueError(f"the runs were measured at different {key} values: {points}")
    return [{k: (float(np.mean([rows[i][k] for rows in runs])) if k != key else v) for k, v in row.items()}
            for i, row in enumerate(runs[0])]
