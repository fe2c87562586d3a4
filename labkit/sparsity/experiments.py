"""Accuracy against sparsity: one-shot vs iterative prune-and-fine-tune, channel pruning, and the
lottery ticket (Frankle & Carbin, arXiv 1803.03635) against a random re-initialisation of its mask.

Every run trains through labkit's one loop (``lk.fit(..., masks=...)``); the models are copied with
``copy.deepcopy`` *before* any pruning, so nothing here ever copies a pruned module.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import runtime
from ..results import Result, Rows
from ..training import evaluate, fit
from ..validation import check_fraction, check_positive_int
from .pruning import apply_masks, channel_masks, effective_sparsity, global_magnitude_masks, sparsity

__all__ = ["PrunedModel", "PruningCurve", "ChannelCurve", "LotteryTicket", "check_sparsities", "prune_and_finetune",
           "one_shot_curve", "iterative_curve", "channel_curve", "lottery_ticket", "max_sparsity_within", "mean_curve"]


@dataclass
class PrunedModel(Result):
    """A pruned, fine-tuned copy of a model, returned by :func:`prune_and_finetune`.

    Attributes
    ----------
    model : nn.Module
        The copy, its pruned weights at zero.
    before, after : float
        Test accuracy right after pruning and after fine-tuning.

    ``table()`` gives one row with columns ``before`` and ``after``.
    """

    model: nn.Module = field(repr=False)
    before: float
    after: float

    def table(self) -> pd.DataFrame:
        """One row: ``before`` and ``after``."""
        return pd.DataFrame([{"before": self.before, "after": self.after}])


@dataclass
class PruningCurve(Rows):
    """Accuracy against sparsity, returned by :func:`one_shot_curve` and :func:`iterative_curve`.

    ``rows`` (and ``table()``) has one row per sparsity, in increasing order, with columns
    ``sparsity`` (the share of the prunable weights removed), ``remaining`` (weights left),
    ``before`` and ``after`` (test accuracy right after pruning and after fine-tuning).
    """


@dataclass
class ChannelCurve(Rows):
    """Accuracy against the share of units removed, returned by :func:`channel_curve`.

    ``rows`` (and ``table()``) has one row per amount, in increasing order, with columns
    ``amount`` (the share of each hidden layer's units removed), ``sparsity`` (the share of the
    hidden layers' weights masked), ``effective`` (the share of all weights, head included, that
    no longer count), ``before`` and ``after`` (test accuracy right after pruning and after
    fine-tuning).
    """


@dataclass
class LotteryTicket(Result):
    """A winning ticket against a random re-initialisation of its mask, returned by :func:`lottery_ticket`.

    Attributes
    ----------
    sparsity : float
        The share of the prunable weights the final mask removes.
    dense, ticket, random_reinit : float
        Test accuracy of the dense network, of the ticket (θ0 under the mask) and of a fresh
        initialisation under the same mask.
    masks : dict[str, torch.Tensor]
        The final masks (on the CPU), by parameter name.

    ``table()`` gives one row with columns ``sparsity``, ``dense``, ``ticket`` and
    ``random_reinit``.
    """

    sparsity: float
    dense: float
    ticket: float
    random_reinit: float
    masks: dict[str, torch.Tensor] = field(repr=False)

    def table(self) -> pd.DataFrame:
        """One row: ``sparsity``, ``dense``, ``ticket`` and ``random_reinit``."""
        return pd.DataFrame([{"sparsity": self.sparsity, "dense": self.dense, "ticket": self.ticket,
                              "random_reinit": self.random_reinit}])


def check_sparsities(sparsities) -> list[float]:
    """Sparsities as an increasing list of floats in [0, 1)."""
    values = [check_fraction(float(s), "sparsity", 0.0, 1.0, inclusive_high=False) for s in sparsities]
    if not values:
        raise ValueError("give at least one sparsity")
    if sorted(values) != values or len(set(values)) != len(values):
        raise ValueError(f"sparsities must increase strictly, got {values}")
    return values


def prune_and_finetune(model: nn.Module, masks: dict[str, torch.Tensor], train, test, *, epochs: int, seed: int = 0,
                       **options) -> PrunedModel:
    """A copy of ``model`` with ``masks`` applied, fine-tuned ``epochs`` with the masks held at zero.

    Returns
    -------
    PrunedModel
        ``model`` (the pruned copy), ``before`` (test accuracy right after pruning) and ``after``
        (after fine-tuning).
    """
    pruned = apply_masks(copy.deepcopy(model), masks)
    before = evaluate(pruned, test).accuracy
    if epochs:
        fit(pruned, train, epochs=epochs, seed=seed, masks=masks, **options)
    return PrunedModel(pruned, before, evaluate(pruned, test).accuracy)


def one_shot_curve(model: nn.Module, train, test, sparsities: Sequence[float], *, epochs: int,
                   seed: int = 0, **options) -> PruningCurve:
    """Prune the trained ``model`` once to each sparsity (global L1) and fine-tune ``epochs``.

    Returns
    -------
    PruningCurve
        One row per sparsity: ``sparsity``, ``remaining`` weights, ``before``, ``after``.
    """
    rows = []
    for s in check_sparsities(sparsities):
        masks = global_magnitude_masks(model, s)
        run = prune_and_finetune(model, masks, train, test, epochs=epochs, seed=seed, **options)
        rows.append({"sparsity": s, "remaining": int(sum(m.sum().item() for m in masks.values())),
                     "before": run.before, "after": run.after})
    return PruningCurve(rows)


def iterative_curve(model: nn.Module, train, test, sparsities: Sequence[float], *, epochs: int,
                    seed: int = 0, **options) -> PruningCurve:
    """Prune step by step along ``sparsities``: each level starts from the fine-tuned model of the
    level before and removes the smallest surviving weights, then fine-tunes ``epochs``. Reaching
    the k-th level has cost k fine-tunings, one-shot one (the price of the better curve).

    Returns
    -------
    PruningCurve
        One row per sparsity: ``sparsity``, ``remaining`` weights, ``before``, ``after``.
    """
    rows, current = [], model
    for s in check_sparsities(sparsities):
        masks = global_magnitude_masks(current, s)
        run = prune_and_finetune(current, masks, train, test, epochs=epochs, seed=seed, **options)
        current = run.model
        rows.append({"sparsity": s, "remaining": int(sum(m.sum().item() for m in masks.values())),
                     "before": run.before, "after": run.after})
    return PruningCurve(rows)


def channel_curve(model: nn.Module, train, test, amounts: Sequence[float], *, epochs: int, seed: int = 0,
                  **options) -> ChannelCurve:
    """Structured pruning: remove the ``amount`` share of units of every hidden layer (L2 norm of
    their weights), then fine-tune. ``sparsity`` in the rows is the share of the hidden layers'
    weights masked; ``effective`` the share of all weights, head included, that no longer count
    (:func:`~labkit.sparsity.pruning.effective_sparsity`: those reading a removed unit too).

    Returns
    -------
    ChannelCurve
        One row per amount: ``amount``, ``sparsity``, ``effective``, ``before``, ``after``.
    """
    rows = []
    for a in check_sparsities(amounts):
        masks = channel_masks(model, a)
        run = prune_and_finetune(model, masks, train, test, epochs=epochs, seed=seed, **options)
        weights = {k: v for k, v in masks.items() if k.endswith("weight")}
        rows.append({"amount": a, "sparsity": sparsity(weights), "effective": effective_sparsity(model, masks),
                     "before": run.before, "after": run.after})
    return ChannelCurve(rows)


def lottery_ticket(build: Callable[[], nn.Module], train, test, *, sparsity_target: float, rounds: int,
                   epochs: int, seed: int = 0, reinit_seed: int = 1, **options) -> LotteryTicket:
    """Iterative magnitude pruning with rewinding to the initialisation, against random re-init.

    The net built (after seeding ``seed``) keeps its initial weights θ0. Each of ``rounds`` rounds
    trains from θ0 under the current mask, then prunes globally to the next level of a geometric
    schedule ending at ``sparsity_target``. The *ticket* is θ0 under the final mask, trained
    ``epochs``; the *control* is a fresh initialisation (seed ``reinit_seed``) under the same mask,
    trained the same way.

    Returns
    -------
    LotteryTicket
        ``sparsity`` of the final mask, test accuracies ``dense``, ``ticket`` and
        ``random_reinit``, and the ``masks``.
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
    return LotteryTicket(sparsity(masks), dense_acc, ticket, control, {k: v.cpu() for k, v in masks.items()})


def max_sparsity_within(curve: PruningCurve | ChannelCurve, reference: float, points: float = 0.01, key: str = "after") -> float:
    """The highest sparsity of ``curve`` whose ``key`` accuracy is within ``points`` of ``reference``
    (0.0 when none is)."""
    rows = curve.rows
    ok = rows.loc[rows[key] >= reference - points, "sparsity"]
    return float(ok.max()) if len(ok) else 0.0


def mean_curve(runs: Sequence[PruningCurve | ChannelCurve], key: str = "sparsity") -> PruningCurve | ChannelCurve:
    """One curve from several runs of it (e.g. one per seed): the rows matched by ``key`` and every
    other number averaged.

    Returns
    -------
    PruningCurve or ChannelCurve
        Of the runs' own class, with their columns:
        ``key`` as in the first run, every other column the mean over the runs.
    """
    if not runs:
        raise ValueError("runs is empty; give one curve per run")
    if not all(isinstance(r, (PruningCurve, ChannelCurve)) for r in runs):
        raise TypeError("runs must be pruning curves (what one_shot_curve, iterative_curve and channel_curve return)")
    records = [r.rows.to_dict("records") for r in runs]
    points = [[row[key] for row in rows] for rows in records]
    if any(p != points[0] for p in points):
        raise ValueError(f"the runs were measured at different {key} values: {points}")
    return type(runs[0])([{k: (float(np.mean([rows[i][k] for rows in records])) if k != key else v)
                           for k, v in row.items()} for i, row in enumerate(records[0])])
