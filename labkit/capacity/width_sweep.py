"""Section 1, the deep version: test error against the width of a small network trained to fit
noisy labels (Nakkiran et al., arXiv 1912.02292; the MNIST-1D paper, arXiv 2011.14439, shows the
same sweep on MNIST-1D). Every width is one ``lk.fit_many`` run (all seeds at once)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from torch import nn

from ..data.core import Data
from ..training.fit import fit_many
from ..validation import check_positive_int

__all__ = ["WidthSweep", "width_sweep"]


@dataclass
class WidthSweep:
    """Per width: ``n_params`` and, per seed [seeds, widths], ``train_error`` (on the labels trained
    on, noisy ones included) and ``test_error`` (clean test labels)."""

    widths: np.ndarray
    n_params: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    n_train: int
    seconds: float

    @property
    def mean_test_error(self) -> np.ndarray:
        return self.test_error.mean(0)

    @property
    def mean_train_error(self) -> np.ndarray:
        return self.train_error.mean(0)


def width_sweep(build: Callable[[int], nn.Module], train: Data, test: Data, widths: Sequence[int],
                seeds: Sequence[int] = (0, 1, 2), epochs: int = 100, **options) -> WidthSweep:
    """Train ``build(width)`` for every width with every seed (``lk.fit_many``, ``options`` passed on:
    ``lr``, ``batch_size``, ...) and measure training and test error."""
    if not isinstance(train, Data) or not isinstance(test, Data):
        raise TypeError("train and test must be labkit Data")
    if not callable(build):
        raise TypeError("build must be a function width -> nn.Module")
    widths = np.asarray([check_positive_int(w, "width") for w in widths])
    if widths.size == 0:
        raise ValueError("widths is empty; give at least one width")
    options.setdefault("eval_every", 0)
    params, tr_err, te_err, seconds = [], [], [], 0.0
    for w in widths:
        ens, history = fit_many(lambda w=w: build(int(w)), train, seeds=seeds, epochs=epochs,
                                **{"desc": f"width {int(w)} of {int(widths.max())}:", **options})
        params.append(sum(p.numel() for p in build(int(w)).parameters()))
        tr_err.append([1 - e.accuracy for e in ens.evaluate(train)])
        te_err.append([1 - e.accuracy for e in ens.evaluate(test)])
        seconds += history.seconds
    return WidthSweep(widths, np.asarray(params), np.asarray(tr_err).T, np.asarray(te_err).T, len(train), seconds)
