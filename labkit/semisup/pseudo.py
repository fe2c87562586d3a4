"""Pseudo-labelling a deep network (self-training, Lee 2013): train on the few labels, label the
rest with the network's own confident predictions, retrain on both. All thresholds of one seed
train at once through ``lk.fit_subsets``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from ..data.core import Data
from ..training.fit import fit_subsets
from ..validation import check_fraction
from .assumptions import hide_labels


@dataclass
class PseudoLabelRun:
    """Per threshold (1 = no pseudo-labels: the supervised model), arrays [thresholds, seeds]: test
    accuracy of the retrained network, pseudo-labels added, the share of them that is right and,
    when a validation split was given, the validation accuracy (else NaN); ``teacher`` the test
    accuracy of the network trained on the labels alone, per seed."""

    thresholds: list
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


def pseudo_label(build: Callable, train: Data, test: Data, *, val: Data | None = None, per_class: int = 5,
                 thresholds: Sequence[float] = (0.5, 0.9, 0.99), seeds: Sequence[int] = (0, 1, 2),
                 steps: int = 300, batch_size: int = 64, **options) -> PseudoLabelRun:
    """One round of pseudo-labelling for each confidence threshold, over seeds (L4 section 7).

    ``per_class`` labels per class of ``train`` are kept (drawn per seed), the rest are the
    unlabelled pool; ``val``, a labelled split apart from both, is where a threshold is chosen
    (:meth:`PseudoLabelRun.chosen`); ``test`` is only reported."""
    thresholds = [check_fraction(t, "threshold") for t in thresholds]
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
    return PseudoLabelRun(thresholds, np.array(acc).T, np.array(added).T, np.array(right).T, np.array(teacher),
                          np.array(val_acc).T)


__all__ = ["PseudoLabelRun", "pseudo_label"]
