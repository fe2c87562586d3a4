"""Results: what every lecture package's experiments return (lectures/README, "The lecture package").

An experiment (a function that trains, fits or measures something over seeds or settings) returns a
:class:`Result`: a dataclass whose fields are what the lecture reads, and whose ``table()`` gives
the same numbers as one :class:`pandas.DataFrame`, one row per run or setting, ready to show, save
or compare across seeds::

    sweep = lk.shortcuts.shortcut_sweep(train, test, ps=(0.0, 0.9))
    sweep.table()                      # a DataFrame: one row per p and seed
    sweep.table().groupby("p").mean()

A result that *is* a table (a sweep, a curve, an ablation) is a :class:`Rows`: its field ``rows``
is the DataFrame, and ``table()`` returns a copy of it. Lecture packages name their own subclasses
(``lk.sparsity.PruningCurve``), so that a result says what it holds.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


class Result:
    """Base of every experiment's result: a dataclass with ``table() -> pandas.DataFrame``."""

    def table(self) -> pd.DataFrame:
        raise NotImplementedError(f"{type(self).__name__} must define table() -> pandas.DataFrame")


@dataclass
class Rows(Result):
    """A result that is one table: ``rows`` (a DataFrame, one row per run or setting)."""

    rows: pd.DataFrame

    def __post_init__(self):
        if not isinstance(self.rows, pd.DataFrame):
            self.rows = pd.DataFrame(self.rows)

    def table(self) -> pd.DataFrame:
        """A copy of ``rows``: change it freely, the result keeps its numbers."""
        return self.rows.copy()

    def __len__(self) -> int:
        return len(self.rows)


__all__ = ["Result", "Rows"]
