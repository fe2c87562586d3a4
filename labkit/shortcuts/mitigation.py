"""Layer-wise mitigation (L1 §4): train on the skewed data with the blocks the localization table
blames frozen or slowed down, and see whether clean-test accuracy comes back."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import pandas as pd

from ..data.core import Data
from ..models import BlockNet
from ..results import Rows
from ..training import evaluate
from .localization import _check_paired, _train_runs


@dataclass
class MitigationTrial(Rows):
    """The result of :func:`mitigation_trial`: ``rows`` has one row per variant, indexed by its name
    (``"clean reference"`` first, then the variants in the order given), with the column
    ``clean_test_acc`` and, when an i.i.d. test set was given, ``iid_acc``; each is the mean over
    the seeds."""


def mitigation_trial(build: Callable[[], BlockNet], clean: Data, skewed: Data, test: Data,
                     variants: Mapping[str, Mapping], *, iid_test: Data | None = None, epochs: int = 10,
                     batch_size: int = 64, optimizer: str = "adam", lr: float | None = None,
                     seeds: Sequence[int] = (0,), device=None) -> MitigationTrial:
    """Layer-wise mitigation: train on the skewed data with per-block learning-rate factors.

    ``variants`` maps a name to an ``lr_scale`` dict (``{}`` is plain skewed training, ``{"fc1":
    0}`` freezes fc1 at its initial weights, ``{"head": 0.1}`` slows the head down ten times).
    A run named ``"clean reference"`` is added: all blocks trained on clean data. Every run starts
    from the same initial weights and batch order.

    Returns
    -------
    MitigationTrial
        Its ``table()`` has one row per variant (index ``variant``: ``"clean reference"``, then
        the names of ``variants``) with ``clean_test_acc`` and, if ``iid_test`` is given,
        ``iid_acc``, both averaged over the seeds.
    """
    _check_paired(clean, skewed)
    if not variants:
        raise ValueError("variants is empty; give at least one name -> lr_scale entry (e.g. {'plain': {}})")
    if len(seeds) == 0:
        raise ValueError("seeds is empty; give at least one seed")
    runs = {"clean reference": ("clean", None), **{name: ("skewed", scale) for name, scale in variants.items()}}
    rows = []
    for seed in seeds:
        nets = _train_runs(build, clean, skewed, runs, seed=seed, epochs=epochs, batch_size=batch_size,
                           optimizer=optimizer, lr=lr, device=device)
        for name, net in nets.items():
            row = {"variant": name, "clean_test_acc": evaluate(net, test).accuracy}
            if iid_test is not None:
                row["iid_acc"] = evaluate(net, iid_test).accuracy
            rows.append(row)
    return MitigationTrial(pd.DataFrame(rows).groupby("variant", sort=False).mean())
