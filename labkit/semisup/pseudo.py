"""Pseudo-labelling a deep network (self-training, Lee 2013): train on the few labels, label the
rest with the network's own confident predictions, retrain on both. All thresholds of one seed
train at once through ``lk.fit_subsets``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.core import Data
from ..results import Result
from ..training.fit import fit_subsets
from ..validation import check_fraction
from .assumptions import hide_labels


@dataclass
class PseudoLabelRun(Result):
    """The outcome of :func:`pseudo_label`.

    Attributes
    ----------
    thresholds : list of float, the confidence thresholds (1 = no pseudo-labels: the supervised
        model)
    seeds : list of int, the seeds run
    accuracy : array [thresholds, seeds], test accuracy of the retrained network
    added : array [thresholds, seeds], pseudo-labels added
    pseudo_accuracy : array [thresholds, seeds], the share of them that is right (NaN where none
        was added)
    teacher : array [seeds], test accuracy of the network trained on the labels alone
    val_accuracy : array [thresholds, seeds], validation accuracy of the retrained network when a
        validation split was given, else NaN
    """

    thresholds: list[float]
    seeds: list[int]
    accuracy: np.ndarray
    added: np.ndarray
    pseudo_accuracy: np.ndarray
    teacher: np.ndarray
    val_accuracy: np.ndarray

    def chosen(self) -> float:
        """The threshold with the best mean validation accuracy (the first of equals): the one a
        practitioner would pick without looking at the test set."""
        if np.isnan(self.val_accuracy).all():
            raise ValueError("no validation split was given to pseudo_label(..., val=...)")
        return self.thresholds[int(np.argmax(self.val_accuracy.mean(1)))]

    def table(self) -> pd.DataFrame:
        """One row per threshold and seed: columns ``threshold``, ``seed``, ``added``,
        ``pseudo_accuracy``, ``val_accuracy``, ``accuracy`` (test) and ``teacher`` (the test
        accuracy of that seed's network before pseudo-labelling)."""
        rows = [{"threshold": t, "seed": s, "added": int(self.added[i, j]),
                 "pseudo_accuracy": float(self.pseudo_accuracy[i, j]), "val_accuracy": float(self.val_accuracy[i, j]),
                 "accuracy": float(self.accuracy[i, j]), "teacher": float(self.teacher[j])}
                for i, t in enumerate(self.thresholds) for j, s in enumerate(self.seeds)]
        return pd.DataFrame(rows, columns=["threshold", "seed", "added", "pseudo_accuracy", "val_accuracy",
                                           "accuracy", "teacher"])


def pseudo_label(build: Callable, train: Data, test: Data, *, val: Data | None = None, per_class: int = 5,
                 thresholds: Sequence[float] = (0.5, 0.9, 0.99), seeds: Sequence[int] = (0, 1, 2),
                 steps: int = 300, batch_size: int = 64, **options) -> PseudoLabelRun:
    """One round of pseudo-labelling for each confidence threshold, over seeds (L4 section 7).

    ``per_class`` labels per class of ``train`` are kept (drawn per seed), the rest are the
    unlabelled pool; ``val``, a labelled split apart from both, is where a threshold is chosen
    (:meth:`PseudoLabelRun.chosen`); ``test`` is only reported.

    Returns
    -------
    :class:`PseudoLabelRun`: arrays [thresholds, seeds] of test and validation accuracy,
    pseudo-labels added and the share of them that is right; ``table()`` has one row per
    threshold and seed
    """
    thresholds = [check_fraction(t, "threshold") for t in thresholds]
    seeds = list(seeds)
    acc, added, right, teacher, val_acc = [], [], [], [], []
    y = train.y.cpu().numpy()
    for s in seeds:
        lab = np.flatnonzero(hide_labels(y, per_class, s) >= 0)
        first = fit_subsets(build, train, [lab], seeds=[s], steps=steps, batch_size=batch_size, **options)
        teacher.append(float((first.predict_logits(test.X)[0].argmax(-1).cpu() == test.y.cpu()).float().mean()))
        probs = first.predict_logits(train.X)[0].softmax(-1).cpu()
        conf, guess = probs.max(-1)
        is_lab = np.zeros(len(y), bool)
        is_lab[lab] = True
        new_y = torch.where(torch.from_numpy(is_lab), train.y.cpu(), guess)
        subsets, a_row, r_row = [], [], []
        for t in thresholds:
            extra = np.flatnonzero(~is_lab & (conf.numpy() >= t))
            subsets.append(np.concatenate([lab, extra]))
            a_row.append(len(extra))
            r_row.append(float((guess.numpy()[extra] == y[extra]).mean()) if len(extra) else float("nan"))
        runs = fit_subsets(build, train.with_labels(new_y), subsets, seeds=[s] * len(subsets), paired=True,
                           steps=steps, batch_size=batch_size, **options)
        correct = runs.predict_logits(test.X).argmax(-1).cpu() == test.y.cpu()
        acc.append(correct.float().mean(1).numpy())
        val_acc.append(np.full(len(thresholds), np.nan) if val is None else
                       (runs.predict_logits(val.X).argmax(-1).cpu() == val.y.cpu()).float().mean(1).numpy())
        added.append(a_row)
        right.append(r_row)
    return PseudoLabelRun(thresholds, seeds, np.array(acc).T, np.array(added).T, np.array(right).T, np.array(teacher),
                          np.array(val_acc).T)


__all__ = ["PseudoLabelRun", "pseudo_label"]
