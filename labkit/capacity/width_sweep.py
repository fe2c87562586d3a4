"""Section 1, the deep version: test error against the width of a small network trained to fit
noisy labels (Nakkiran et al., arXiv 1912.02292; the MNIST-1D paper, arXiv 2011.14439, shows the
same sweep on MNIST-1D). Every width is one ``lk.fit_many`` run (all seeds at once)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from torch import nn

from ..data.core import Data
from ..results import Result
from ..training.fit import fit_many
from ..validation import check_positive_int

__all__ = ["WidthSweep", "width_sweep"]


@dataclass
class WidthSweep(Result):
    """Errors of one architecture at several widths, returned by :func:`width_sweep`.

    Attributes
    ----------
    widths, n_params : ndarray [len(widths)]
        The widths trained and each one's number of parameters.
    train_error, test_error : ndarray [len(seeds), len(widths)]
        Error on the labels trained on (noisy ones included) and on the clean test labels.
    n_train : int
        The number of training examples.
    seconds : float
        Training time of the whole sweep.
    seeds : list of int
        One per row of the error arrays.

    ``table()`` gives one row per seed and width, with columns ``seed``, ``width``, ``n_params``,
    ``train_error`` and ``test_error``.
    """

    widths: np.ndarray
    n_params: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    n_train: int
    seconds: float
    seeds: list[int]

    @property
    def mean_test_error(self) -> np.ndarray:
        return self.test_error.mean(0)

    @property
    def mean_train_error(self) -> np.ndarray:
        return self.train_error.mean(0)

    def table(self) -> pd.DataFrame:
        """One row per seed and width (columns in the class docstring)."""
        return pd.DataFrame([{"seed": seed, "width": int(w), "n_params": int(p), "train_error": self.train_error[i, j],
                              "test_error": self.test_error[i, j]}
                             for i, seed in enumerate(self.seeds)
                             for j, (w, p) in enumerate(zip(self.widths, self.n_params))])


def width_sweep(build: Callable[[int], nn.Module], train: Data, test: Data, widths: Sequence[int],
                seeds: Sequence[int] = (0, 1, 2), epochs: int = 100, **options) -> WidthSweep:
    """Train ``build(width)`` for every width with every seed (``lk.fit_many``, ``options`` passed on:
    ``lr``, ``batch_size``, ...) and measure training and test error.

    Returns
    -------
    WidthSweep
        ``n_params`` per width, ``train_error`` and ``test_error`` [len(seeds), len(widths)];
        ``table()`` one row per seed and width.
    """
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
    return WidthSweep(widths, np.asarray(params), np.asarray(tr_err).T, np.asarray(te_err).T, len(train), seconds,
                      [int(s) for s in seeds])
