"""Pool-based active learning: every strategy × every seed grows its own labelled pool, and all of
their models are retrained at once in each round through labkit's one loop (``lk.fit_subsets``
with ``paired=True``: member m trains on its own pool with its own seed)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ..data.core import Data
from ..training.fit import fit_subsets
from ..validation import check_option, check_positive_int
from .strategies import STRATEGIES, select


@dataclass
class ActiveRun:
    """The outcome of :func:`run_active`.

    Attributes
    ----------
    strategies, seeds : what was run
    labels : int array [R + 1], labelled examples when each accuracy was measured
    accuracy : array [n_strategies, n_seeds, R + 1], test accuracy after each round's retraining
    pools : dict (strategy, seed) -> list of index arrays, the initial set then each round's queries
    seconds : wall time of the whole run; ``train_seconds`` of the training alone
    """

    strategies: list
    seeds: list
    labels: np.ndarray
    accuracy: np.ndarray
    pools: dict = field(default_factory=dict)
    seconds: float = 0.0
    train_seconds: float = 0.0

    def mean(self, strategy: str) -> np.ndarray:
        """Accuracy averaged over seeds, [R + 1]."""
        return self.accuracy[self.strategies.index(strategy)].mean(0)


def initial_pools(y, n_initial: int, seeds: Sequence[int], per_class: bool = False) -> dict:
    """One random initial labelled set per seed (``per_class``: the same number of each class)."""
    y = np.asarray(y)
    n_initial = check_positive_int(n_initial, "n_initial")
    if n_initial > len(y):
        raise ValueError(f"n_initial={n_initial} is larger than the pool ({len(y)} examples)")
    out = {}
    for s in seeds:
        rng = np.random.default_rng(int(s))
        if per_class:
            classes = np.unique(y)
            k = max(1, n_initial // len(classes))
            out[s] = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in classes])
        else:
            out[s] = rng.choice(len(y), n_initial, replace=False)
    return out


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
    :class:`ActiveRun` with accuracies [strategies, seeds, rounds + 1]
    """
    if not isinstance(pool, Data) or not isinstance(test, Data):
        raise TypeError("pool and test must be labkit Data")
    strategies = [check_option(s, "strategy", STRATEGIES) for s in strategies]
    if not strategies:
        raise ValueError("strategies is empty; give at least one")
    seeds = [int(s) for s in seeds]
    rounds = check_positive_int(rounds, "rounds", 0)
    batch = check_positive_int(batch, "batch")
    start = initial_pools(pool.y.cpu().numpy(), n_initial, seeds, per_class)
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


__all__ = ["ActiveRun", "initial_pools", "embed", "run_active"]
