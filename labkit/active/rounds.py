"""Pool-based active learning: every strategy × every seed grows its own labelled pool, and all of
their models are retrained at once in each round through labkit's one loop (``lk.fit_subsets``
with ``paired=True``: member m trains on its own pool with its own seed)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.core import Data
from ..results import Result
from ..training.fit import fit_subsets
from ..validation import check_option, check_positive_int
from .strategies import STRATEGIES, select


@dataclass
class ActiveRun(Result):
    """The outcome of :func:`run_active`.

    Attributes
    ----------
    strategies : list of str, the strategies run
    seeds : list of int, the seeds run
    labels : int array [R + 1], labelled examples when each accuracy was measured
    accuracy : array [n_strategies, n_seeds, R + 1], test accuracy after each round's retraining
    pools : dict (strategy, seed) -> list of index arrays, the initial set then each round's queries
    seconds : float, wall time of the whole run
    train_seconds : float, the part of it spent training
    """

    strategies: list[str]
    seeds: list[int]
    labels: np.ndarray
    accuracy: np.ndarray
    pools: dict[tuple[str, int], list[np.ndarray]] = field(default_factory=dict)
    seconds: float = 0.0
    train_seconds: float = 0.0

    def mean(self, strategy: str) -> np.ndarray:
        """Accuracy averaged over seeds, [R + 1]."""
        return self.accuracy[self.strategies.index(strategy)].mean(0)

    def table(self) -> pd.DataFrame:
        """One row per strategy, seed and round: columns ``strategy``, ``seed``, ``round``,
        ``labels`` (labelled examples at that round) and ``accuracy`` (test accuracy)."""
        rows = [{"strategy": a, "seed": s, "round": r, "labels": int(n), "accuracy": float(self.accuracy[i, j, r])}
                for i, a in enumerate(self.strategies) for j, s in enumerate(self.seeds)
                for r, n in enumerate(self.labels)]
        return pd.DataFrame(rows, columns=["strategy", "seed", "round", "labels", "accuracy"])


def initial_pool(y, n_initial: int, seed: int, per_class: bool = False) -> np.ndarray:
    """The random initial labelled set of one seed: pool indices [n_initial] (``per_class``: the
    same number of each class, ``n_initial // n_classes`` of each and at least one).

    Returns
    -------
    int array of pool indices, without repeats
    """
    y = np.asarray(y)
    n_initial = check_positive_int(n_initial, "n_initial")
    if n_initial > len(y):
        raise ValueError(f"n_initial={n_initial} is larger than the pool ({len(y)} examples)")
    rng = np.random.default_rng(int(seed))
    if per_class:
        classes = np.unique(y)
        k = max(1, n_initial // len(classes))
        return np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in classes])
    return rng.choice(len(y), n_initial, replace=False)


def embed(ensemble, X) -> tuple[torch.Tensor, torch.Tensor]:
    """(probabilities [M, N, K], penultimate features [M, N, D]) of every member on X: the input
    of the ``head`` block (labkit's models are named blocks ending in ``head``)."""
    template = ensemble.template
    if not hasattr(template, "blocks") or "head" not in template.blocks:
        raise TypeError("active learning needs a labkit model (lk.models.make_model) whose last block is 'head'")
    feats, logits = [], []
    store = {}
    hook = template.blocks["head"].register_forward_hook(lambda m, i, o: store.update(h=i[0]))
    try:
        with torch.inference_mode():
            template.eval()
            for m in range(len(ensemble)):
                logits.append(ensemble.member_forward(m)(X).float())
                feats.append(store["h"].flatten(1).float())
    finally:
        hook.remove()
    return torch.stack(logits).softmax(-1).cpu(), torch.stack(feats).cpu()


def run_active(build: Callable, pool: Data, test: Data, *, strategies: Sequence[str] = STRATEGIES,
               seeds: Sequence[int] = (0, 1, 2, 3, 4), n_initial: int = 20, batch: int = 10, rounds: int = 10,
               steps: int = 200, batch_size: int = 64, per_class: bool = False, device=None,
               on_round: Callable | None = None, **options) -> ActiveRun:
    """Run every strategy from the same initial set (one per seed) for ``rounds`` rounds.

    Each round retrains all ``len(strategies) × len(seeds)`` models from scratch, at once, each
    on its own labelled pool (``steps`` steps, batches of at most ``batch_size``), measures test
    accuracy, then lets each strategy pick ``batch`` new pool examples for its own model.
    Strategy and seed s share the initial set and the initialisation (seed s), so differences
    between strategies are not differences of luck at the start. ``options`` go to the loop
    (``lr``, ``optimizer``, ``weight_decay``, ...). ``on_round(r, runs, pairs)``, if given, sees
    each round's trained models (``runs.ensemble``, member m = ``pairs[m]`` = (strategy, seed)).

    Returns
    -------
    :class:`ActiveRun`: ``accuracy`` [strategies, seeds, rounds + 1], ``labels`` [rounds + 1] and
    every model's ``pools``; its ``table()`` has one row per strategy, seed and round (columns
    strategy, seed, round, labels, accuracy)
    """
    if not isinstance(pool, Data) or not isinstance(test, Data):
        raise TypeError("pool and test must be labkit Data")
    strategies = [check_option(s, "strategy", STRATEGIES) for s in strategies]
    if not strategies:
        raise ValueError("strategies is empty; give at least one")
    seeds = [int(s) for s in seeds]
    rounds = check_positive_int(rounds, "rounds", 0)
    batch = check_positive_int(batch, "batch")
    y_pool = pool.y.cpu().numpy()
    start = {s: initial_pool(y_pool, n_initial, s, per_class) for s in seeds}
    n_first = len(next(iter(start.values())))
    if n_first + rounds * batch > len(pool):
        raise ValueError(f"{n_first} initial + {rounds} rounds × {batch} queries need {n_first + rounds * batch} "
                         f"pool examples; the pool has {len(pool)}")
    pairs = [(a, s) for a in strategies for s in seeds]
    pools = {p: [start[p[1]]] for p in pairs}
    acc = np.zeros((len(strategies), len(seeds), rounds + 1))
    t0, train_time = time.perf_counter(), 0.0
    for r in range(rounds + 1):
        subsets = [np.concatenate(pools[p]) for p in pairs]
        t = time.perf_counter()
        runs = fit_subsets(build, pool, subsets, seeds=[s for _, s in pairs], paired=True, steps=steps,
                           batch_size=batch_size, device=device, **options)
        train_time += time.perf_counter() - t
        correct = runs.predict_logits(test.X).argmax(-1).cpu() == test.y.cpu()
        acc[:, :, r] = correct.float().mean(1).view(len(strategies), len(seeds)).numpy()
        if on_round is not None:
            on_round(r, runs, pairs)
        if r == rounds:
            break
        needs_features = any(a in ("density", "coreset", "egl") for a in strategies)
        probs, feats = embed(runs.ensemble, pool.X.to(runs.ensemble.device)) if needs_features else \
            (runs.predict_logits(pool.X).softmax(-1).cpu(), None)
        for m, (a, s) in enumerate(pairs):
            rng = np.random.default_rng([s, r, 7])
            pools[a, s].append(select(a, probs[m], subsets[m], batch, None if feats is None else feats[m], rng))
    labels = n_first + batch * np.arange(rounds + 1)
    return ActiveRun(strategies, seeds, labels, acc, pools, time.perf_counter() - t0, train_time)


__all__ = ["ActiveRun", "initial_pool", "embed", "run_active"]
