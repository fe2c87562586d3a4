"""The chess example: three outcomes (win, draw, loss for white) and a set of positions whose true
outcome probabilities are known, to show what a single summary of the probabilities can hide.

``chess_positions`` draws positions of two kinds: "pretty much a draw" (win 1 %, draw 98 %, loss
1 %) and "white is better" (win 80 %, draw 19 %, loss 1 %), with outcomes sampled from the truth.
``chess_models`` gives three forecasters for them: the truth itself; one that says 50 % win / 50 %
loss in the drawn positions (its expected score, 0.5, is right); and one whose top label is exactly
right everywhere but which swaps draw and loss in the better positions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import Result
from ..validation import check_fraction, check_positive_int

OUTCOMES = ("win", "draw", "loss")
DRAWISH = np.array([0.01, 0.98, 0.01])
BETTER = np.array([0.80, 0.19, 0.01])


@dataclass
class ChessPositions(Result):
    """A draw of :func:`chess_positions`.

    Attributes
    ----------
    truth : array [n, 3], the true probabilities of win, draw and loss (for white) per position
    outcome : int array [n], the sampled result: 0 win, 1 draw, 2 loss
    is_drawish : bool array [n], whether the position is "pretty much a draw"
    """

    truth: np.ndarray
    outcome: np.ndarray
    is_drawish: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per position: columns ``p_win``, ``p_draw``, ``p_loss`` (the truth),
        ``outcome`` and ``is_drawish``."""
        out = pd.DataFrame(self.truth, columns=[f"p_{o}" for o in OUTCOMES])
        return out.assign(outcome=self.outcome, is_drawish=self.is_drawish)


def chess_positions(n: int = 2000, drawish: float = 0.5, seed: int = 0) -> ChessPositions:
    """Draw ``n`` positions, a share ``drawish`` of them drawn-ish, and a result for each from
    its true probabilities.

    Returns
    -------
    :class:`ChessPositions`: ``truth`` [n, 3], ``outcome`` [n] and ``is_drawish`` [n]
    """
    n = check_positive_int(n, "n")
    check_fraction(drawish, "drawish")
    rng = np.random.default_rng(seed)
    is_drawish = rng.random(n) < drawish
    truth = np.where(is_drawish[:, None], DRAWISH, BETTER)
    outcome = (rng.random(n)[:, None] > np.cumsum(truth, 1)).sum(1).clip(0, 2)
    return ChessPositions(truth, outcome, is_drawish)


def chess_models(truth: np.ndarray, is_drawish: np.ndarray, eps: float = 0.005) -> dict[str, np.ndarray]:
    """Three forecasts [n, 3] for the positions: ``"honest"`` (the truth), ``"50/50"`` (win 0.5 - eps,
    draw 2 eps, loss 0.5 - eps where the position is drawish; the truth elsewhere) and
    ``"top label only"`` (the truth where drawish; win 0.80, draw 0.01, loss 0.19 where white is better)."""
    truth = np.asarray(truth, float)
    is_drawish = np.asarray(is_drawish, bool)
    if truth.ndim != 2 or truth.shape[1] != 3 or len(is_drawish) != len(truth):
        raise ValueError("truth must be [n, 3] (win, draw, loss) and is_drawish [n]")
    coin = np.where(is_drawish[:, None], np.array([0.5 - eps, 2 * eps, 0.5 - eps]), truth)
    swapped = np.where(is_drawish[:, None], truth, BETTER[[0, 2, 1]])
    return {"honest": truth, "50/50": coin, "top label only": swapped}


def expected_score(probs) -> np.ndarray:
    """White's expected score per position: P(win) + 0.5 P(draw), what an engine's "win probability" reports."""
    p = np.asarray(probs, float)
    return p[:, 0] + 0.5 * p[:, 1]
