"""Data diet: train on subsets pruned by a difficulty score (Paul et al. 2021; L2 §3)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from torch import nn

from ..data.core import Data
from ..results import Rows
from ..training import fit_subsets
from ..validation import check_fraction, check_option

DIET_STRATEGIES = ("easiest", "hardest", "random")


def keep_indices(hardness, keep: float, drop: str = "easiest", seed: int = 0) -> np.ndarray:
    """The indices kept when pruning to a fraction ``keep`` of the examples, dropping the
    ``easiest`` (lowest hardness), the ``hardest`` or a ``random`` subset. Sorted."""
    h = np.asarray(hardness, dtype=float).reshape(-1)
    check_fraction(keep, "keep", 0.0, 1.0, inclusive_low=False)
    check_option(drop, "drop", DIET_STRATEGIES)
    n = len(h)
    n_keep = max(1, int(round(keep * n)))
    if drop == "random":
        return np.sort(np.random.default_rng(seed).choice(n, n_keep, replace=False))
    order = np.argsort(h, kind="stable")  # easiest first
    return np.sort(order[n - n_keep:] if drop == "easiest" else order[:n_keep])


@dataclass
class DataDiet(Rows):
    """The result of :func:`data_diet`: ``rows`` has one row per (strategy, fraction kept), the
    whole set first (strategy ``"all"``, ``kept`` 1.0), with the columns ``strategy``, ``kept``,
    ``n_train`` (examples trained on), ``accuracy`` and ``accuracy_std`` (test accuracy, mean and
    standard deviation over the seeds) and ``accuracies`` (the per-seed list)."""


def data_diet(build: Callable[[], nn.Module], train: Data, test: Data, hardness, *,
              fractions: Sequence[float] = (0.3, 0.5, 0.7, 0.9), strategies: Sequence[str] = DIET_STRATEGIES,
              seeds: Sequence[int] = (0, 1), steps: int = 300, batch_size: int = 128, device=None,
              **fit_kwargs) -> DataDiet:
    """Test accuracy after training on subsets of ``train`` pruned by ``hardness``.

    Every model trains for the same number of ``steps`` (the same compute, whatever the subset
    size); all subsets and seeds train at once with :func:`fit_subsets`. The random subsets are
    drawn with the first seed.

    Returns
    -------
    DataDiet
        Its ``table()`` has one row per (strategy, fraction kept) with the columns ``strategy``
        (``"all"``, ``"drop easiest"``, ``"drop hardest"``, ``"random"``), ``kept``, ``n_train``,
        ``accuracy`` and ``accuracy_std`` (mean and standard deviation of the test accuracy over
        seeds) and ``accuracies`` (per seed, in the order of ``seeds``); the whole set (fraction
        1.0) is the first row, with strategy ``"all"``.
    """
    h = np.asarray(hardness, dtype=float).reshape(-1)
    if len(h) != len(train):
        raise ValueError(f"hardness has {len(h)} values but train has {len(train)} examples")
    for strategy in strategies:
        check_option(strategy, "strategy", DIET_STRATEGIES)
    configs = [("all", 1.0, np.arange(len(train)))]
    for strategy in strategies:
        for f in fractions:
            name = "random" if strategy == "random" else f"drop {strategy}"
            configs.append((name, float(f), keep_indices(h, f, strategy, seed=int(seeds[0]))))
    runs = fit_subsets(build, train, [c[2] for c in configs], seeds=seeds, steps=steps, batch_size=batch_size,
                       device=device, **fit_kwargs)
    logits = runs.predict_logits(test.X)
    correct = (logits.argmax(-1).cpu() == test.y.cpu()).float().mean(1).numpy()  # [members]
    rows = []
    for c, (name, f, idx) in enumerate(configs):
        accs = correct[[m for m, (i, _) in enumerate(runs.members) if i == c]]
        rows.append({"strategy": name, "kept": f, "n_train": len(idx), "accuracy": float(accs.mean()),
                     "accuracy_std": float(accs.std()), "accuracies": [float(a) for a in accs]})
    return DataDiet(pd.DataFrame(rows))
